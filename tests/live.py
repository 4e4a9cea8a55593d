"""Serving a real app over HTTP on a loopback port, in a thread, for clients that need a URL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from idp.extensions import db
from tests.conftest_support import make_app
from tests.mailbox import Mailbox


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    url: str


def _not_ready(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"not ready"]


@contextmanager
def serve(
    database_url: str,
    instance: Path,
    mailbox: Mailbox | None,
    *,
    create_schema: bool = True,
    host_name: str = "127.0.0.1",
    **overrides: Any,
) -> Iterator[LiveServer]:
    """The real app on 127.0.0.1, with ISSUER on its own port so links and metadata match;
    ``host_name="localhost"`` for WebAuthn, which refuses an IP address as relying party id."""
    # Port 0 lets the kernel choose a free port without a race; the app needs that port in
    # ISSUER, so it is built after binding and attached to the server before serving.
    server: BaseWSGIServer = make_server("127.0.0.1", 0, _not_ready, threaded=True)
    url = f"http://{host_name}:{server.server_port}"
    app = make_app(database_url, instance, mailbox, ISSUER=url, **overrides)
    if create_schema:
        with app.app_context():
            db.create_all()
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
