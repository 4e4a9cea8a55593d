"""Choosing the language of a page: the customer's own, then ``ui_locales``, then the browser's."""

from __future__ import annotations

from flask import Flask, current_app, request, session

from idp import paths
from idp.config import LOCALES
from idp.extensions import babel


def parse_ui_locales(value: str | None) -> str | None:
    """First supported tag of an OIDC ``ui_locales`` list (space separated, BCP 47)."""
    for tag in (value or "").split()[:10]:
        primary = tag.split("-")[0].lower()
        if primary in LOCALES:
            return primary
    return None


def select_locale() -> str:
    from idp.views.context import current_customer

    customer = current_customer()
    if customer is not None and customer.locale in LOCALES:
        return customer.locale  # type: ignore[return-value]
    asked = parse_ui_locales(request.args.get("ui_locales"))
    if asked:
        session["ui_locale"] = asked
        return asked
    remembered = session.get("ui_locale")
    if remembered in LOCALES:
        return remembered  # type: ignore[no-any-return]
    return request.accept_languages.best_match(LOCALES) or current_app.config["DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(paths.translations())
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LOCALE"]
    babel.init_app(app, locale_selector=select_locale)
