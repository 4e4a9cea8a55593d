"""Building a test app; shared by fixtures and by helpers that serve apps themselves."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Flask

from idp import create_app
from idp.extensions import db
from tests.mailbox import Mailbox

# Every app a test builds, so its connection pool is closed when the test ends, even on failure:
# a PostgreSQL connection left to the garbage collector warns (an error under -W error) in
# whichever later test happens to collect it.
_apps: list[Flask] = []


def dispose_apps() -> None:
    while _apps:
        app = _apps.pop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def make_app(database_url: str, instance: Path, mailbox: Mailbox | None, **overrides: Any) -> Flask:
    config: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "THROTTLE_NAMESPACE": f"test-{uuid.uuid4().hex}",
    }
    if mailbox is not None:
        config.update(SMTP_HOST=mailbox.host, SMTP_PORT=mailbox.port)
    config.update(overrides)
    app = create_app(config, instance_path=str(instance))
    _apps.append(app)
    return app
