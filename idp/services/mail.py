"""Sending mail: by SMTP when configured; otherwise to the log and a local outbox folder.

Mails to customers are rendered in the request but delivered by a background thread of the
process, one at a time, in order: the answer to "send me a link" then takes the same time
whether the address has an account (a mail to deliver) or not (none), so the response time
tells nobody which addresses exist (OWASP ASVS 2.2.x, no user enumeration). A mail still
queued when the process is killed is lost, as one refused by a down SMTP server is; both are
logged.
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app, render_template
from flask_babel import force_locale

from idp import security

if TYPE_CHECKING:
    from idp.models import Customer

log = logging.getLogger(__name__)

EXTENSION = "idp.mail"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False


class Mailer:
    def __init__(self, sender: str, smtp: SmtpSettings | None, outbox: Path) -> None:
        self.sender = sender
        self.smtp = smtp
        self.outbox = outbox
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0
        self._queued: set[Future[bool]] = set()

    def send_later(self, to: str, subject: str, text: str) -> None:
        """Queue one message for the delivery thread; returns at once."""
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                # A thread does not survive fork: each gunicorn worker starts its own.
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="idp-mail")
                self._pid = os.getpid()
                self._queued = set()
            future = self._executor.submit(self.send, to, subject, text)
            self._queued.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[bool]) -> None:
        with self._lock:
            self._queued.discard(future)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued message was handed over (or failed and was logged)."""
        with self._lock:
            queued = set(self._queued)
        wait(queued, timeout=timeout)

    def send(self, to: str, subject: str, text: str) -> bool:
        """Send or file one message; a mail server that is down is logged, never raised."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="idp")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        try:
            if self.smtp is None:
                self._to_outbox(message)
            else:
                self._to_smtp(message)
        except (OSError, smtplib.SMTPException):
            log.exception("Could not send mail %r to %s", subject, to)
            return False
        return True

    def _to_smtp(self, message: EmailMessage) -> None:
        assert self.smtp is not None
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=10) as smtp:
            if self.smtp.starttls:
                smtp.starttls()
            if self.smtp.username:
                smtp.login(self.smtp.username, self.smtp.password or "")
            smtp.send_message(message)

    def _to_outbox(self, message: EmailMessage) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        path = self.outbox / f"{security.random_token(8)}.eml"
        path.write_bytes(bytes(message))
        log.warning(
            "No SMTP server configured (IDP_SMTP_HOST): mail to %s saved in %s\n%s",
            message["To"],
            path,
            message.get_content(),
        )


def send_to_customer(
    mailer: Mailer, customer: Customer, template: str, subject: object, **context: object
) -> None:
    """Render ``mail/<template>.txt`` in the customer's language, whatever the request's, and
    queue it for delivery."""
    with force_locale(customer.locale or "en"):
        body = render_template(f"mail/{template}.txt", customer=customer, **context)
        mailer.send_later(customer.email, str(subject), body)


def init_app(app: Flask) -> None:
    """Build the app's mailer from its settings; views and commands both reach it by
    ``mailer()``, so no command needs to import a view for it."""
    cfg = app.config
    smtp = None
    if cfg["SMTP_HOST"]:
        smtp = SmtpSettings(
            host=cfg["SMTP_HOST"],
            port=cfg["SMTP_PORT"],
            username=cfg["SMTP_USERNAME"],
            password=cfg["SMTP_PASSWORD"],
            starttls=cfg["SMTP_STARTTLS"],
        )
    app.extensions[EXTENSION] = Mailer(cfg["MAIL_FROM"], smtp, Path(app.instance_path) / "outbox")


def mailer(app: Flask | None = None) -> Mailer:
    """The mailer of ``app``, or of the current app."""
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]
