"""French and English: a complete French catalogue, and the language each page and mail is in."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from idp import paths
from tests.factories import PASSWORD, make_customer
from tests.helpers import login, submit
from tests.mailbox import Mailbox

ROOT = paths.PACKAGE.parent
TRANSLATIONS = paths.translations()
POT = TRANSLATIONS / "messages.pot"
FRENCH_PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"

# printf-style conversions as Python's % operator reads them: %(name)s, %d, %.2f...
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")

EN = "en-GB,en;q=0.9"
FR = "fr-FR,fr;q=0.9"


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    """Every msgid (a tuple for plural messages) except the header's empty one."""
    return {message.id for message in catalog if message.id}


def _forms(value: str | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """What ``pybabel extract -F babel.cfg`` finds in the code and templates today."""
    out = tmp_path_factory.mktemp("i18n") / "messages.pot"
    # -k repeats babel.cfg's keywords: Babel < 2.18 ignores keywords set in the mapping file.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(out),
            str(ROOT),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return _read(out)


@pytest.fixture(scope="module")
def french() -> Catalog:
    return _read(FRENCH_PO, locale="fr")


def test_extraction_sees_python_templates_and_mails(extracted: Catalog) -> None:
    """Extraction reaches views, lazy form labels, services, page templates and .txt mails."""
    ids = _ids(extracted)
    assert "Incorrect email or password." in ids  # gettext in a view
    assert "Email address" in ids  # lazy_gettext (_l) in a form
    assert "Reset your password" in ids  # _l in a service (mail subject)
    assert "Forgot your password?" in ids  # an .html template
    assert "Choose a new password by opening this link:" in ids  # a .txt mail template


def test_every_string_has_a_french_translation(extracted: Catalog, french: Catalog) -> None:
    """Every string in the code and templates has a non-empty, non-fuzzy French translation."""
    problems = []
    for message in extracted:
        if not message.id:
            continue
        translated = french.get(message.id)
        if translated is None:
            problems.append(f"missing: {message.id!r} ({message.locations[0][0]})")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not _forms(translated.string) or not all(_forms(translated.string)):
            problems.append(f"empty: {message.id!r}")
    assert not problems, "update messages.po (see babel.cfg):\n" + "\n".join(problems)


def test_french_catalogue_has_no_fuzzy_entries(french: Catalog) -> None:
    """No entry of the French .po is fuzzy: compiled catalogues skip fuzzy entries silently."""
    fuzzy = [message.id for message in french if message.id and message.fuzzy]
    assert not fuzzy


def test_template_lists_what_the_code_uses(extracted: Catalog) -> None:
    """The committed messages.pot holds exactly the strings extraction finds in the code."""
    committed = _ids(_read(POT))
    assert _ids(extracted) - committed == set(), "regenerate messages.pot"
    assert committed - _ids(extracted) == set(), "regenerate messages.pot"


def test_translations_keep_the_placeholders(french: Catalog) -> None:
    """Each translation has the same %-placeholders as its msgid and no stray % sign."""
    for message in french:
        if not message.id:
            continue
        expected = sorted(PLACEHOLDER.findall(_forms(message.id)[0]))
        for form in _forms(message.string):
            assert sorted(PLACEHOLDER.findall(form)) == expected, (message.id, form)
            assert "%" not in PLACEHOLDER.sub("", form.replace("%%", "")), (message.id, form)


def _get(client: FlaskClient, url: str, accept_language: str) -> str:
    return client.get(url, headers={"Accept-Language": accept_language}).get_data(as_text=True)


def _lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]*)"', page)
    assert match, "no <html lang> attribute"
    return match.group(1)


@pytest.mark.parametrize(
    ("accept_language", "lang", "heading", "label"),
    [(FR, "fr", "Se connecter", "Mot de passe"), (EN, "en", "Sign in", "Password")],
    ids=["fr", "en"],
)
def test_sign_in_page_follows_accept_language(
    client: FlaskClient, accept_language: str, lang: str, heading: str, label: str
) -> None:
    """Without other clues, the sign-in page speaks the browser's Accept-Language."""
    page = _get(client, "/login", accept_language)
    assert _lang(page) == lang
    assert f"<h1>{heading}</h1>" in page
    assert f">{label}</label>" in page  # lazy form labels follow the request too


def test_ui_locales_overrides_accept_language_and_is_remembered(client: FlaskClient) -> None:
    """``?ui_locales=fr`` beats Accept-Language en, and later pages stay French without it."""
    page = _get(client, "/login?ui_locales=fr", EN)
    assert _lang(page) == "fr"
    assert "<h1>Se connecter</h1>" in page

    page = _get(client, "/signup", EN)
    assert _lang(page) == "fr"
    assert "<h1>Créer un compte</h1>" in page

    page = _get(client, "/login?ui_locales=en", FR)
    assert _lang(page) == "en"
    assert "<h1>Sign in</h1>" in page


def test_customer_locale_wins_over_accept_language(app: Flask, client: FlaskClient) -> None:
    """A signed-in customer whose locale is fr reads French even when the browser asks for en."""
    make_customer(app, email="lea@example.com", given_name="Léa", locale="fr")
    response = login(client, "lea@example.com", PASSWORD, headers={"Accept-Language": EN})
    assert response.status_code == 302, response.get_data(as_text=True)

    page = _get(client, "/account", EN)
    assert _lang(page) == "fr"
    assert "<h1>Bonjour Léa</h1>" in page
    assert "Changer mon mot de passe" in page


@pytest.mark.parametrize(
    ("locale", "browser", "subject", "greeting", "instruction"),
    [
        (
            "fr",
            EN,
            "Réinitialisez votre mot de passe",
            "Bonjour Ana,",
            "Choisissez un nouveau mot de passe en ouvrant ce lien",
        ),
        (
            "en",
            FR,
            "Reset your password",
            "Hello Ana,",
            "Choose a new password by opening this link:",
        ),
    ],
    ids=["fr-customer", "en-customer"],
)
def test_reset_mail_is_in_the_customers_language(
    app: Flask,
    client: FlaskClient,
    mailbox: Mailbox,
    locale: str,
    browser: str,
    subject: str,
    greeting: str,
    instruction: str,
) -> None:
    """The password reset mail uses the customer's locale, not the requesting browser's."""
    make_customer(app, email="ana@example.com", given_name="Ana", locale=locale)
    response = submit(
        client,
        "/forgot-password",
        {"email": "ana@example.com"},
        headers={"Accept-Language": browser},
    )
    assert response.status_code == 200, response.get_data(as_text=True)

    (mail,) = mailbox.wait_for("ana@example.com")
    assert mail["Subject"] == subject
    body = mail.get_content()
    assert body.startswith(greeting)
    assert instruction in body
