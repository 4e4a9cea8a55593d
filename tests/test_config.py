"""Settings: defaults, IDP_* environment, explicit mapping, and refusal of unsafe values."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp import create_app
from idp.config import ConfigError, load


def test_defaults_use_instance_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without settings, SQLite lives in the instance folder and the issuer is loopback."""
    for name in ("IDP_DATABASE_URL", "IDP_ISSUER", "IDP_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    values = load(tmp_path)
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    assert values["ISSUER"] == "http://localhost:5000"


def test_secret_key_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset secret key is generated, stored with owner-only rights, and reused."""
    monkeypatch.delenv("IDP_SECRET_KEY", raising=False)
    first = load(tmp_path)["SECRET_KEY"]
    second = load(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_then_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """IDP_* variables override defaults and an explicit mapping overrides both."""
    monkeypatch.setenv("IDP_ISSUER", "https://id.example.com/")
    monkeypatch.setenv("IDP_SMTP_PORT", "2525")
    values = load(tmp_path, {"SMTP_PORT": 587, "SECRET_KEY": "k" * 40})
    assert values["ISSUER"] == "https://id.example.com"
    assert values["SMTP_PORT"] == 587


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ISSUER": "http://id.example.com"}, "https"),
        ({"ISSUER": "https://id.example.com/?x=1"}, "query"),
        ({"ISSUER": "id.example.com"}, "absolute"),
        ({"SECRET_KEY": "short"}, "32"),
        ({"SMTP_PORT": "twenty-five"}, "int"),
        ({"SMTP_STARTTLS": "maybe"}, "true or false"),
        ({"DEFAULT_LOCALE": "de"}, "en, fr"),
    ],
)
def test_bad_values_stop_the_start(tmp_path: Path, overrides: dict[str, str], message: str) -> None:
    """A value idp cannot run with raises ConfigError naming the setting, before serving."""
    overrides.setdefault("SECRET_KEY", "k" * 40)
    with pytest.raises(ConfigError, match=message):
        create_app(overrides, instance_path=str(tmp_path))


def test_webauthn_rp_id_must_cover_the_issuer_host(tmp_path):
    """Passkeys are bound to the RP id: it must be the issuer's host or a parent domain."""
    base = {"ISSUER": "https://id.shop.example", "SECRET_KEY": "k" * 40}
    assert load(tmp_path, {**base, "WEBAUTHN_RP_ID": "shop.example"})
    assert load(tmp_path, {**base, "WEBAUTHN_RP_ID": "id.shop.example"})
    for wrong in ("other.example", "hop.example", "x.id.shop.example"):
        with pytest.raises(ConfigError, match="WEBAUTHN_RP_ID"):
            load(tmp_path, {**base, "WEBAUTHN_RP_ID": wrong})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOGIN_LIMIT_PER_IP", "100000"),
        ("LOGIN_LIMIT_PER_ACCOUNT", "ten per minute"),
        ("MFA_LIMIT_PER_IP", "0 per minute"),
        ("FORM_LIMIT_PER_IP", "5 per 0 minutes"),
        ("USER_CODE_LIMIT_PER_IP", "10 per minute; 100 per hour"),
        ("CODE_LIFETIME", "0"),
        ("ACCESS_TOKEN_LIFETIME", "-5"),
        ("REFRESH_TOKEN_IDLE_LIFETIME", "soon"),
        ("SESSION_LIFETIME", "1.5"),
        ("DEVICE_POLL_INTERVAL", "0"),
        ("MAX_CONTENT_LENGTH", "0"),
        ("TRUSTED_PROXIES", "-1"),
        ("SMTP_PORT", "70000"),
        ("ACCESS_TOKEN_ALG", "HS256"),
        ("DEFAULT_LOCALE", "EN"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://user:hunter2@db/idp"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("MAIL_FROM", "nobody"),
        ("ISSUER", "ftp://id.example.com"),
    ],
)
def test_every_kind_of_setting_is_checked_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """Limits, durations, ports, URLs and enums are checked before serving; the message names
    the variable and shows a value that works."""
    monkeypatch.setenv(f"IDP_{name}", value)
    with pytest.raises(ConfigError) as refused:
        create_app({"SECRET_KEY": "k" * 40}, instance_path=str(tmp_path))
    message = str(refused.value)
    assert message.startswith(f"IDP_{name} ")
    assert "for example" in message


def test_messages_about_urls_never_repeat_their_passwords(tmp_path: Path) -> None:
    """A refused database or Redis URL is not echoed: it may hold a password."""
    for name in ("DATABASE_URL", "REDIS_URL"):
        with pytest.raises(ConfigError) as refused:
            load(tmp_path, {"SECRET_KEY": "k" * 40, name: "mysql://user:hunter2@db/idp"})
        assert "hunter2" not in str(refused.value)


def test_well_formed_values_are_accepted(tmp_path: Path) -> None:
    """The examples the messages give, and other usual spellings, are accepted."""
    values = load(
        tmp_path,
        {
            "SECRET_KEY": "k" * 40,
            "LOGIN_LIMIT_PER_IP": "100/minute",
            "MFA_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
            "DATABASE_URL": "postgresql+psycopg://idp@db.internal/idp",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "SMTP_PORT": "587",
            "ACCESS_TOKEN_ALG": "RS256",
            "TRUSTED_PROXIES": "0",
        },
    )
    assert values["SMTP_PORT"] == 587 and values["LOGIN_LIMIT_PER_IP"] == "100/minute"
