"""``idp customers list`` and ``show``: what an operator reads about customers, and its JSON."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from idp.extensions import db
from idp.models import Customer, LinkedAccount
from idp.services import RequestMeta, clients, consent, events, recovery_codes, sessions
from idp.services.events import EventTag
from tests.cli.tables import columns
from tests.cli_runner import Completed, run_idp
from tests.factories import enroll_totp, make_customer


@pytest.fixture
def idp(app, database_url, tmp_path):
    def run(*args: str, stdin: str = "") -> Completed:
        return run_idp(database_url, tmp_path, *args, stdin=stdin)

    return run


def test_list_table_names_verification_and_unverified_status(app, idp):
    """list: a header, aligned columns with name and verification; an account whose email is
    unverified reads "active (email unverified)", not plain active."""
    zoe = make_customer(
        app,
        email="zoe@example.com",
        given_name="Zoé",
        family_name="Durand",
        phone="+33612345678",
        phone_verified=True,
    )
    new = make_customer(app, email="new.person@example.com", verified=False)
    table = columns(idp("customers", "list").stdout)
    assert table.header == [
        "ID",
        "EMAIL",
        "NAME",
        "EMAIL VERIFIED",
        "PHONE",
        "PHONE VERIFIED",
        "STATUS",
    ]
    assert table.rows == [
        [zoe.public_id, "zoe@example.com", "Zoé Durand", "yes", "+33612345678", "yes", "active"],
        [new.public_id, "new.person@example.com", "-", "no", "-", "-", "active (email unverified)"],
    ]
    rows = [json.loads(line) for line in idp("customers", "list", "--json").stdout.splitlines()]
    assert [(r["email"], r["email_verified"], r["status"]) for r in rows] == [
        ("zoe@example.com", True, "active"),
        ("new.person@example.com", False, "active"),
    ]


def test_list_without_customers_prints_no_table(idp):
    """No customers: nothing on stdout (an empty list for a script), the reason on stderr."""
    result = idp("customers", "list")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "No customers.\n")


def test_create_json(idp):
    """create --json prints the new customer as list --json shows it."""
    result = idp("customers", "create", "--email", "j@example.com", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    listed = json.loads(idp("customers", "list", "--json").stdout)
    assert created == listed and created["email_verified"] is False


@pytest.fixture
def lived(app) -> Customer:
    """A customer with a linked account, an authenticator app and recovery codes, a consent
    to a client, a live session and sign-ins on two channels."""
    ana = make_customer(
        app,
        email="ana@example.com",
        given_name="Ana",
        family_name="Lopes",
        phone="+33612345678",
        locale="fr",
        address={"locality": "Nantes", "country": "FR"},
    )
    enroll_totp(app, ana)
    with app.app_context():
        row = db.session.get(Customer, ana.id)
        assert row is not None
        client, _ = clients.create(
            name="Webshop", client_type="web", redirect_uris=["https://shop.example/cb"]
        )
        consent.grant(row, client.client_id, {"openid", "email", "profile"})
        recovery_codes.generate(row)
        policy = sessions.SessionPolicy(idle=timedelta(hours=1), absolute=timedelta(days=1))
        sessions.start(row, amr=["pwd"], meta=RequestMeta(ip="192.0.2.1"), policy=policy)
        # The records service that links accounts is not written yet: the row it would add.
        db.session.add(
            LinkedAccount(
                customer_id=row.id,
                source="loyalty",
                source_id="L-0042",
                attributes={"tier": "gold", "points": 1200},
            )
        )
        for i in range(25):
            events.record(
                EventTag.LOGIN_SUCCESS if i % 5 else EventTag.LOGIN_FAILURE,
                success=bool(i % 5),
                customer=row,
                meta=RequestMeta(ip=f"198.51.100.{i}"),
                method="password",
                client_id=client.client_id,
                channel="web" if i % 2 else "mobile",
            )
        db.session.commit()
        app.config["TEST_CLIENT_ID"] = client.client_id
    return ana


def test_show_json_has_every_section(app, idp, lived):
    """show --json: profile with verification, linked accounts, factors (no secrets), live
    sessions, connected apps with scopes, and the last 20 events newest first."""
    result = idp("customers", "show", "ANA@example.com", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert {k: shown[k] for k in ("id", "email", "email_verified", "phone", "phone_verified")} == {
        "id": lived.public_id,
        "email": "ana@example.com",
        "email_verified": True,
        "phone": "+33612345678",
        "phone_verified": False,
    }
    assert (shown["given_name"], shown["family_name"], shown["locale"]) == ("Ana", "Lopes", "fr")
    assert shown["address"]["locality"] == "Nantes" and shown["status"] == "active"
    assert [(a["source"], a["source_id"], a["attributes"]) for a in shown["linked_accounts"]] == [
        ("loyalty", "L-0042", {"tier": "gold", "points": 1200})
    ]
    factors = {f["kind"]: f for f in shown["second_factors"]}
    assert set(factors) == {"totp", "recovery_codes"}
    assert factors["recovery_codes"]["remaining"] == 10 and factors["totp"]["remaining"] is None
    assert all(f["created_at"].endswith("+00:00") for f in factors.values())
    assert "secret" not in result.stdout and "digest" not in result.stdout
    assert shown["live_sessions"] == 1
    client_id = app.config["TEST_CLIENT_ID"]
    assert [(a["client_id"], a["client_name"], a["scopes"]) for a in shown["connected_apps"]] == [
        (client_id, "Webshop", ["email", "profile"])
    ]
    timeline = shown["timeline"]
    assert len(timeline) == 20
    assert [e["ip"] for e in timeline[:3]] == ["198.51.100.24", "198.51.100.23", "198.51.100.22"]
    latest = timeline[0]
    assert (latest["tag"], latest["success"], latest["channel"], latest["client_name"]) == (
        "customer:login:success",
        True,
        "mobile",
        "Webshop",
    )
    assert timeline[4]["tag"] == "customer:login:failure" and timeline[4]["success"] is False
    # The same customer by its id.
    by_id = json.loads(idp("customers", "show", lived.public_id, "--json").stdout)
    assert by_id == shown


def test_show_text_sections_are_tables(idp, lived):
    """show: the profile as aligned fields, then each section as a table with a header."""
    result = idp("customers", "show", lived.public_id)
    assert result.returncode == 0, result.stderr
    profile, *sections = result.stdout.split("\n\n")
    assert "email:" in profile and "ana@example.com (verified)" in profile
    assert "+33612345678 (unverified)" in profile and "Nantes, FR" in profile
    titled = {s.splitlines()[0]: "\n".join(s.splitlines()[1:]) for s in sections}
    assert list(titled) == [
        "Linked accounts:",
        "Second factors:",
        "Connected apps:",
        "Last 20 events:",
    ]
    linked = columns(titled["Linked accounts:"])
    assert linked.header == ["SOURCE", "SOURCE ID", "ATTRIBUTES", "LINKED"]
    assert linked.rows[0][:3] == ["loyalty", "L-0042", "points=1200 tier=gold"]
    factors = columns(titled["Second factors:"])
    assert [r[:2] for r in factors.rows] == [["totp", "-"], ["recovery_codes", "10 left"]]
    apps = columns(titled["Connected apps:"])
    assert apps.rows[0][1:3] == ["Webshop", "email profile"]
    timeline = columns(titled["Last 20 events:"])
    assert timeline.header == ["WHEN", "EVENT", "OK", "CLIENT", "CHANNEL", "IP"]
    assert len(timeline.rows) == 20
    assert timeline.rows[0][1:] == [
        "customer:login:success",
        "yes",
        "Webshop",
        "mobile",
        "198.51.100.24",
    ]


def test_show_a_customer_with_nothing_yet(app, idp):
    """A bare account shows each empty section as "none", not an empty table."""
    bare = make_customer(app, email="bare@example.com", verified=False)
    result = idp("customers", "show", bare.email)
    assert result.returncode == 0, result.stderr
    assert "active (email unverified)" in result.stdout
    assert result.stdout.count("  none") == 4
    shown = json.loads(idp("customers", "show", bare.email, "--json").stdout)
    assert shown["linked_accounts"] == shown["second_factors"] == shown["timeline"] == []
    assert shown["live_sessions"] == 0 and shown["phone"] is None


def test_show_refuses_an_unknown_customer(idp):
    """An unknown email or id: exit 1 and one line naming it."""
    for who in ("nobody@example.com", "not-an-id"):
        result = idp("customers", "show", who, "--json")
        assert result.returncode == 1
        assert result.stderr == f"error: customer: no customer {who}\n"
        assert result.stdout == ""
