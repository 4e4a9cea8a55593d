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
