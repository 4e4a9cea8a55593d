"""idp: a customer identity provider. ``create_app`` builds one; nothing happens at import."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from idp import config as config_module
from idp import paths, wsgi

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build an app; ``config`` overrides settings by their names without ``IDP_``."""
    app = Flask(
        __name__,
        template_folder=str(paths.templates()),
        instance_path=instance_path,
        instance_relative_config=True,
    )
    settings = config_module.load(Path(app.instance_path), config)
    app.config.update(settings)
    _flask_settings(app)

    from idp import extensions, headers, i18n, models  # noqa: F401 - models register tables

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(paths.migrations()))
    extensions.csrf.init_app(app)
    i18n.init_app(app)
    headers.init_app(app)

    from idp.services import mail
    from idp.views import context

    mail.init_app(app)  # before the views' context, which hands the same mailer to views
    context.init_app(app)

    from idp.oauth import server

    server.init_app(app)

    from idp.views import (
        account,
        apps,
        auth,
        device,
        devices,
        discovery,
        email_sign_in,
        errors,
        mfa,
        oauth,
        passkeys,
        registration,
        security,
    )
    from idp.views import admin as admin_console

    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(apps.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(device.bp)
    app.register_blueprint(devices.bp)
    app.register_blueprint(mfa.bp)
    app.register_blueprint(security.bp)
    app.register_blueprint(passkeys.bp)
    app.register_blueprint(email_sign_in.bp)
    app.register_blueprint(admin_console.bp)

    app.wsgi_app = wsgi.escape_query_bytes(app.wsgi_app)  # type: ignore[method-assign,assignment]
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app


def _flask_settings(app: Flask) -> None:
    https = config_module.is_https(app.config)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=app.config["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        # Flask's own cookie only carries the CSRF secret and the chosen language.
        SESSION_COOKIE_NAME="__Host-idp_state" if https else "idp_state",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        PREFERRED_URL_SCHEME="https" if https else "http",
        MAX_FORM_MEMORY_SIZE=app.config["MAX_CONTENT_LENGTH"],
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the cookie that holds its secret
        WTF_CSRF_SSL_STRICT=https,
    )
