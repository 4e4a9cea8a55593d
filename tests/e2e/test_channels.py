"""One customer, every channel: the example applications of clients/ as real processes against a
live idp, with Debian's Chromium as the customer's browser.

Two web shops (single sign-on, single logout through back-channel logout), the mobile app
(RFC 8252 loopback redirect, refresh token), the smart speaker (RFC 8628 device flow), and the
login history that records each channel under its client id.
"""

from __future__ import annotations

import os
import queue
import re
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from idp.cli.demo import ensure_example_clients, example_clients
from idp.extensions import db
from idp.models import Customer, LoginEvent
from idp.models.types import utcnow
from idp.services import audit, events
from idp.services.admin import staff
from idp.services.events import EventTag
from idp.services.records import aliases
from tests.conftest_support import isolated_database
from tests.e2e.conftest import TIMEOUT_MS
from tests.factories import PASSWORD, make_customer
from tests.live import LiveServer, serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 20  # seconds for a client process to print a line or finish


class Program:
    """An example client as a real process; its stdout is read line by line as it comes."""

    def __init__(self, logs: Path, module: str, *args: str) -> None:
        self.stderr_path = logs / f"{module}-{uuid.uuid4().hex[:8]}.stderr"
        self._stderr: IO[str] = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,  # a file, so a chatty server never blocks on a full pipe
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    @property
    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text()

    def expect_line(self, pattern: str) -> re.Match[str]:
        """The first line from now on that matches ``pattern``; fails if the process ends."""
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matched {pattern!r}: {self.output}") from None
            if line is None:
                raise AssertionError(
                    f"ended before {pattern!r}: {self.output}, stderr {self.stderr}"
                )
            match = re.search(pattern, line)
            if match:
                return match

    def finish(self) -> tuple[int, str, str]:
        """Wait for the end; return the exit status, all of stdout and stderr."""
        status = self.process.wait(timeout=PROCESS_TIMEOUT)
        self._reader.join(timeout=5)
        return status, "".join(self.output), self.stderr

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


@dataclass(frozen=True)
class Channels:
    idp: LiveServer
    shop_a: str
    shop_b: str
    logs: Path


# Fixtures: one idp and two shops for the whole module ------------------------------------------


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database for this module: a SQLite file, or a PostgreSQL schema of its own."""
    with isolated_database(tmp_path_factory.mktemp("channels")) as url:
        yield url


def webshop(logs: Path, issuer: str, brand: str, *options: str) -> Program:
    """A shop on a free port; the defaults are demo-shop's id and secret."""
    args = ("--brand", brand, "--port", "0", "--issuer", issuer, *options)
    return Program(logs, "clients.webshop", *args)


@pytest.fixture(scope="module")
def channels(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Channels]:
    """idp in a thread, both shops as processes on free ports, the example clients registered
    by the same code as ``idp demo`` with the shops' real URLs."""
    logs = tmp_path_factory.mktemp("channel-logs")
    instance = tmp_path_factory.mktemp("channels-instance")
    with serve(database, instance, None, DEVICE_POLL_INTERVAL=1) as idp:
        shop_b_credentials = ("--client-id", "demo-shop-b", "--client-secret", "demo-shop-b-secret")
        shops = [
            webshop(logs, idp.url, "Demo shop"),
            webshop(logs, idp.url, "Demo shop B", *shop_b_credentials),
        ]
        try:
            shop_a, shop_b = (shop.expect_line(r"open at (http://\S+)/$")[1] for shop in shops)
            with idp.app.app_context():
                ensure_example_clients(example_clients(shop_a=shop_a, shop_b=shop_b))
            yield Channels(idp, shop_a, shop_b, logs)
        finally:
            for shop in shops:
                shop.stop()


@pytest.fixture
def context(browser: Browser, channels: Channels) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: no idp or shop cookie carried over."""
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def customer(channels: Channels) -> Customer:
    """A customer of their own per test, so each flow starts from the same point: no consent yet."""
    return make_customer(
        channels.idp.app,
        email=f"ana.{uuid.uuid4().hex[:8]}@example.com",
        given_name="Ana",
        family_name="Lima",
    )


@pytest.fixture
def programs(channels: Channels) -> Iterator[list[Program]]:
    """Client processes a test starts; stopped even when the test fails."""
    started: list[Program] = []
    yield started
    for program in started:
        program.stop()


def start(programs: list[Program], channels: Channels, module: str, *args: str) -> Program:
    program = Program(channels.logs, module, *args)
    programs.append(program)
    return program


# Steps of the customer ---------------------------------------------------------------------


def sign_in_at_idp(page: Page, channels: Channels, customer: Customer) -> None:
    expect(page).to_have_url(re.compile(re.escape(f"{channels.idp.url}/login?")))
    page.get_by_label("Email address").fill(customer.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def answer_consent(page: Page, app_name: str, decision: str = "Allow") -> None:
    expect(
        page.get_by_role("heading", name=f"{app_name} wants to use your account")
    ).to_be_visible()
    page.get_by_role("button", name=decision).click()


def shop_sign_in(
    page: Page, channels: Channels, shop: str, app_name: str, customer: Customer | None
) -> None:
    """Sign in on a shop; ``customer`` None means idp must not ask for a password (SSO)."""
    page.goto(f"{shop}/")
    page.get_by_role("button", name="Sign in", exact=True).click()
    if customer is not None:
        sign_in_at_idp(page, channels, customer)
    answer_consent(page, app_name)
    expect(page).to_have_url(f"{shop}/")


def confirm_device_code(
    page: Page, channels: Channels, customer: Customer, url: str, user_code: str | None
) -> None:
    """Open the verification page, sign in, type the code unless prefilled, and continue to
    the page that asks to approve or deny."""
    page.goto(url)
    sign_in_at_idp(page, channels, customer)
    expect(page.get_by_role("heading", name="Connect a device")).to_be_visible()
    if user_code is not None:
        page.get_by_label("Code shown on your device").fill(user_code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Connect Demo smart speaker?")).to_be_visible()


def start_mobile(
    programs: list[Program], channels: Channels, token_file: Path, *options: str
) -> Program:
    """The mobile app printing its sign-in URL instead of opening a browser of its own."""
    args = ("--issuer", channels.idp.url, "--token-file", str(token_file), "--no-browser")
    return start(programs, channels, "clients.mobile", *args, *options)


@dataclass(frozen=True)
class Speaker:
    """The speaker's process and what its screen says."""

    program: Program
    verification_uri: str
    user_code: str
    verification_uri_complete: str


def start_speaker(programs: list[Program], channels: Channels, issuer: str) -> Speaker:
    program = start(programs, channels, "clients.device", "--issuer", issuer)
    return Speaker(
        program,
        verification_uri=program.expect_line(r"go to:\s+(\S+)")[1],
        user_code=program.expect_line(r"enter the code:\s+(\S+)")[1],
        verification_uri_complete=program.expect_line(r"it opens (\S+)\):")[1],
    )


# Web shops ---------------------------------------------------------------------------------


def test_single_sign_on_across_two_shops(
    channels: Channels, page: Page, customer: Customer
) -> None:
    """Signed in on shop A, the customer gets into shop B without a password; same id in both."""
    shop_sign_in(page, channels, channels.shop_a, "Demo shop", customer)
    expect(page.locator("#customer-id")).to_have_text(customer.public_id)
    expect(page.locator("#name")).to_have_text("Ana Lima")

    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    shop_sign_in(page, channels, channels.shop_b, "Demo shop B", customer=None)
    expect(page.locator("#customer-id")).to_have_text(customer.public_id)
    assert not [url for url in visited if urlsplit(url).path == "/login"], visited


def test_signing_out_on_one_shop_signs_out_of_both(
    channels: Channels, context: BrowserContext, customer: Customer
) -> None:
    """Signing out on shop B (RP-initiated) also ends shop A's session, by back-channel logout."""
    page_a, page_b = context.new_page(), context.new_page()
    shop_sign_in(page_a, channels, channels.shop_a, "Demo shop", customer)
    shop_sign_in(page_b, channels, channels.shop_b, "Demo shop B", customer=None)

    page_b.get_by_role("button", name="Sign out").click()
    expect(page_b).to_have_url(re.compile(re.escape(f"{channels.shop_b}/?state=")))
    expect(page_b.get_by_role("status")).to_have_text("You are signed out.")

    page_a.reload()
    expect(page_a.locator("#signed-out")).to_have_text("You are not signed in.")
    expect(page_a.locator("#customer-id")).to_have_count(0)
    # idp's session ended too: signing in on A asks for the password again.
    page_a.get_by_role("button", name="Sign in", exact=True).click()
    expect(page_a.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()


# Mobile app --------------------------------------------------------------------------------


def test_mobile_app_signs_in_through_loopback_then_refreshes(
    channels: Channels, page: Page, customer: Customer, programs: list[Program], tmp_path: Path
) -> None:
    """Browser back to the app's loopback port; it prints the customer, then signs in by refresh."""
    token_file = tmp_path / "refresh-token"
    app = start_mobile(programs, channels, token_file)
    url = app.expect_line(r"Sign in at: (\S+)")[1]
    redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", redirect_uri)

    page.goto(url)
    sign_in_at_idp(page, channels, customer)
    answer_consent(page, "Demo mobile app")
    expect(page).to_have_url(re.compile(re.escape(redirect_uri) + r"\?code="))
    expect(page.get_by_role("heading", name="You can close this tab")).to_be_visible()

    status, out, err = app.finish()
    assert status == 0, err
    assert f"Signed in as Ana Lima, customer id {customer.public_id}\n" in out
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    first_token = token_file.read_text()

    again = start_mobile(programs, channels, token_file, "--refresh")
    status, out, err = again.finish()
    assert status == 0, err
    assert out == f"Signed in as Ana Lima, customer id {customer.public_id}\n"  # no browser
    assert token_file.read_text() != first_token  # idp rotated it; the app kept the new one


def test_mobile_app_reports_a_denied_sign_in(
    channels: Channels, page: Page, customer: Customer, programs: list[Program], tmp_path: Path
) -> None:
    """Denying at the consent screen ends the app with a clear message and no stored token."""
    token_file = tmp_path / "refresh-token"
    app = start_mobile(programs, channels, token_file)
    page.goto(app.expect_line(r"Sign in at: (\S+)")[1])
    sign_in_at_idp(page, channels, customer)
    answer_consent(page, "Demo mobile app", decision="Deny")

    status, out, err = app.finish()
    assert status == 1
    assert "You declined to sign in" in err and "Signed in as" not in out
    assert not token_file.exists()


# Smart speaker -----------------------------------------------------------------------------


def test_speaker_signs_in_with_a_typed_code(
    channels: Channels, page: Page, customer: Customer, programs: list[Program]
) -> None:
    """The customer types the speaker's code and approves; the speaker greets them by name."""
    speaker = start_speaker(programs, channels, channels.idp.url)
    assert speaker.verification_uri == f"{channels.idp.url}/device"
    assert speaker.verification_uri_complete.startswith(f"{speaker.verification_uri}?")

    confirm_device_code(page, channels, customer, speaker.verification_uri, speaker.user_code)
    expect(page.locator("#user-code")).to_have_text(speaker.user_code)
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Device connected")).to_be_visible()

    status, out, err = speaker.program.finish()
    assert status == 0, err
    assert f"Hello Ana! This speaker is now yours (customer id {customer.public_id}).\n" in out


def test_speaker_reports_a_denied_request(
    channels: Channels, page: Page, customer: Customer, programs: list[Program]
) -> None:
    """Denying on the page opened from the QR code's URI stops the speaker with a clear message."""
    speaker = start_speaker(programs, channels, channels.idp.url)
    confirm_device_code(page, channels, customer, speaker.verification_uri_complete, user_code=None)
    expect(page.locator("#user-code")).to_have_text(speaker.user_code)
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading", name="Request denied")).to_be_visible()

    status, out, err = speaker.program.finish()
    assert status == 1
    assert "Sign-in was declined" in err and "Hello" not in out


def test_speaker_reports_an_expired_code(
    channels: Channels, database: str, tmp_path: Path, programs: list[Program]
) -> None:
    """Nobody approves before the code expires: the speaker stops and says so."""
    # A second idp node on the same database gives codes a 2-second life.
    with serve(
        database,
        tmp_path / "instance",
        None,
        create_schema=False,
        DEVICE_CODE_LIFETIME=2,
        DEVICE_POLL_INTERVAL=1,
    ) as short_lived:
        speaker = start_speaker(programs, channels, short_lived.url)
        started = time.monotonic()
        status, out, err = speaker.program.finish()
    assert status == 1
    assert "The code expired before anyone approved it." in err and "Hello" not in out
    assert time.monotonic() - started < 15


# One customer record -----------------------------------------------------------------------


def test_one_customer_record_shows_every_channel(
    channels: Channels,
    context: BrowserContext,
    customer: Customer,
    programs: list[Program],
    tmp_path: Path,
) -> None:
    """One customer on both shops, mobile and speaker: one id, and each channel in the history."""
    page = context.new_page()
    shop_sign_in(page, channels, channels.shop_a, "Demo shop", customer)
    expect(page.locator("#customer-id")).to_have_text(customer.public_id)
    shop_sign_in(page, channels, channels.shop_b, "Demo shop B", customer=None)
    expect(page.locator("#customer-id")).to_have_text(customer.public_id)

    app = start_mobile(programs, channels, tmp_path / "refresh-token")
    page.goto(app.expect_line(r"Sign in at: (\S+)")[1])
    answer_consent(page, "Demo mobile app")  # the browser is still signed in to idp
    status, out, _ = app.finish()
    assert status == 0 and customer.public_id in out

    speaker = start_speaker(programs, channels, channels.idp.url)
    page.goto(speaker.verification_uri)  # still signed in to idp: no password
    page.get_by_label("Code shown on your device").fill(speaker.user_code)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Approve").click()
    status, out, _ = speaker.program.finish()
    assert status == 0 and customer.public_id in out

    with channels.idp.app.app_context():
        issued = db.session.execute(
            db.select(LoginEvent.client_id, LoginEvent.channel).where(
                LoginEvent.customer_id == customer.id,
                LoginEvent.tag == str(EventTag.TOKEN_ISSUED),
            )
        ).all()
        logins = db.session.execute(
            db.select(LoginEvent.channel).where(
                LoginEvent.customer_id == customer.id,
                LoginEvent.tag == str(EventTag.LOGIN_SUCCESS),
            )
        ).all()
    assert {tuple(row) for row in issued} == {
        ("demo-shop", "web"),
        ("demo-shop-b", "web"),
        ("demo-mobile", "mobile"),
        ("demo-speaker", "device"),
    }
    assert len(issued) == 4  # one token response each
    assert [tuple(row) for row in logins] == [("web",)]  # one password, then single sign-on


# The company's side ------------------------------------------------------------------------


def test_admin_finds_the_customer_reads_every_channel_merges_and_undoes(
    channels: Channels, context: BrowserContext, programs: list[Program], tmp_path: Path
) -> None:
    """Support sets up an authenticator app and signs in, finds the customer by a phone typed
    the French way, reads the sign-ins of the shop, the mobile app and the speaker on one page,
    then merges a second record of the same person and undoes it."""
    app = channels.idp.app
    suffix = uuid.uuid4().hex[:8]
    customer = make_customer(
        app,
        email=f"ana.{suffix}@example.com",
        given_name="Ana",
        family_name="Lima",
        phone="+33612345678",
    )
    second = make_customer(app, email=f"ana.{suffix}@app.example", given_name="Ana")
    page = context.new_page()
    shop_sign_in(page, channels, channels.shop_a, "Demo shop", customer)
    mobile = start_mobile(programs, channels, tmp_path / "refresh-token")
    page.goto(mobile.expect_line(r"Sign in at: (\S+)")[1])
    answer_consent(page, "Demo mobile app")
    assert mobile.finish()[0] == 0
    speaker = start_speaker(programs, channels, channels.idp.url)
    page.goto(speaker.verification_uri)
    page.get_by_label("Code shown on your device").fill(speaker.user_code)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Approve").click()
    assert speaker.program.finish()[0] == 0

    quiet = make_customer(app, email=f"quiet.{suffix}@example.com", given_name="Quiet")
    with app.app_context():
        row = db.session.get(Customer, quiet.id)
        for days in (40, 50, 60):
            event = events.record(EventTag.LOGIN_SUCCESS, customer=row, channel="web")
            event.created_at = utcnow() - timedelta(days=days)
        staff.create(
            email=f"support.{suffix}@company.example",
            role="support",
            password=PASSWORD,
            actor=audit.Actor.cli(),
        )
        db.session.commit()
    console = context.browser.new_context(base_url=channels.idp.url, locale="en-GB")  # type: ignore[union-attr]
    try:
        admin = console.new_page()
        admin.goto("/admin/login")
        admin.get_by_label("Email address").fill(f"support.{suffix}@company.example")
        admin.get_by_label("Password", exact=True).fill(PASSWORD)
        admin.get_by_role("button", name="Continue").click()
        expect(admin.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
        secret = admin.locator("#totp-secret").inner_text().replace(" ", "")
        admin.get_by_label("6-digit code from your authenticator app").fill(
            pyotp.TOTP(secret).now()
        )
        admin.get_by_role("button", name="Sign in").click()
        expect(admin.get_by_role("heading", name="Console")).to_be_visible()

        admin.get_by_role("link", name="Customers").first.click()
        admin.get_by_label("Email, phone, name, customer id or source id").fill("06 12 34 56 78")
        admin.get_by_role("button", name="Search").click()
        admin.get_by_role("link", name="Ana Lima").click()
        expect(admin.locator("#customer-id")).to_have_text(customer.public_id)
        last_seen = admin.locator("#last-seen")
        for channel in ("web", "mobile", "device"):
            expect(last_seen).to_contain_text(channel)
        timeline = admin.locator("#timeline")
        for app_name in ("Demo shop", "Demo mobile app", "Demo smart speaker"):
            expect(timeline).to_contain_text(app_name)
        admin.get_by_label("Channel").select_option("device")
        admin.get_by_role("button", name="Filter").click()
        expect(timeline).to_contain_text("Demo smart speaker")
        expect(timeline).not_to_contain_text("Demo shop")

        # Link her loyalty card, then find her by it.
        admin.get_by_label("Source system").fill("loyalty")
        admin.get_by_label("Id in that system").fill(f"LY-{suffix}")
        admin.locator("#link-form").get_by_role("button").click()
        expect(admin.locator("#h-linked + div table")).to_contain_text(f"LY-{suffix}")
        admin.get_by_role("link", name="Customers").first.click()
        admin.get_by_label("Email, phone, name, customer id or source id").fill(f"LY-{suffix}")
        admin.get_by_role("button", name="Search").click()
        expect(admin.get_by_role("link", name="Ana Lima")).to_be_visible()

        admin.get_by_role("link", name="Customers").first.click()
        admin.get_by_label("Email, phone, name, customer id or source id").fill(f"ana.{suffix}@")
        admin.get_by_role("button", name="Search").click()
        admin.get_by_label(f"Pick {customer.email}").check()
        admin.get_by_label(f"Pick {second.email}").check()
        admin.get_by_role("button", name="Compare the two picked").click()
        expect(admin.get_by_role("heading", name="Compare two records")).to_be_visible()
        admin.get_by_label("Why these are one person").fill("same phone and name, ticket 7")
        admin.get_by_role("button", name="Merge", exact=True).click()
        expect(admin.locator("#merge-state")).to_contain_text("Can be undone")
        with app.app_context():
            assert aliases.resolve(second.public_id).id == customer.id  # type: ignore[union-attr]
        admin.get_by_role("button", name="Undo this merge").click()
        expect(admin.locator("#merge-state")).to_contain_text("Undone")
        with app.app_context():
            assert aliases.resolve(second.public_id).id == second.id  # type: ignore[union-attr]

        # Who is at risk: a loyal customer silent for 40 days is listed, with her channels.
        admin.get_by_role("link", name="Signals").click()
        expect(admin.locator("#h-risk ~ div table")).to_contain_text(quiet.email)
        expect(admin.get_by_role("img").first).to_be_visible()

        admin.get_by_role("link", name="Audit log").click()
        for action in (
            "customer.merged",
            "customer.merge_undone",
            "customer.account_linked",
            "admin.signed_in",
        ):
            expect(admin.locator("table")).to_contain_text(action)
    finally:
        console.close()
