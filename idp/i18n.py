"""Choosing the language of a page.

An explicit choice wins: ``ui_locales`` on this request (OIDC Core 3.1.2.1, or the footer's
language links), then the choice remembered from earlier in this browser, then the signed-in
customer's own language, then the browser's Accept-Language.
"""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session, url_for

from idp import paths
from idp.config import LOCALES
from idp.extensions import babel


def parse_ui_locales(value: str | None) -> str | None:
    """First supported tag of an OIDC ``ui_locales`` list (space separated, BCP 47)."""
    for tag in (value or "")[:200].split()[:10]:
        primary = tag.split("-")[0].lower()
        if primary in LOCALES:
            return primary
    return None


def select_locale() -> str:
    from idp.views.context import current_customer

    if not has_request_context():
        # Commands and mails rendered outside a request use the default (mails force theirs).
        return str(current_app.config["DEFAULT_LOCALE"])
    asked = parse_ui_locales(request.args.get("ui_locales"))
    if asked:
        session["ui_locale"] = asked
        return asked
    remembered = session.get("ui_locale")
    if remembered in LOCALES:
        return remembered  # type: ignore[no-any-return]
    customer = current_customer()
    if customer is not None and customer.locale in LOCALES:
        return customer.locale  # type: ignore[return-value]
    return request.accept_languages.best_match(LOCALES) or current_app.config["DEFAULT_LOCALE"]


def url_in_locale(locale: str) -> str:
    """This page's URL with ``ui_locales`` swapped, keeping every other parameter (next, ...)."""
    args = request.args.to_dict(flat=False)
    args["ui_locales"] = [locale]
    if request.endpoint is None:
        return f"{request.path}?ui_locales={locale}"
    return url_for(request.endpoint, **{**args, **(request.view_args or {})})


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(paths.translations())
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LOCALE"]
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["url_in_locale"] = url_in_locale
