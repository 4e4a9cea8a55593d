"""Building a test app; shared by fixtures and by helpers that serve apps themselves."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Flask

from idp import create_app
from tests.mailbox import Mailbox


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
    return create_app(config, instance_path=str(instance))
