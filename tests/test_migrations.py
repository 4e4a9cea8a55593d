"""Alembic migrations: they build the models' schema, and move real data up and down."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from idp.extensions import db
from idp.services import clients, customers, pushed_requests
from tests.conftest_support import make_app


def test_migrations_match_models(database_url: str, tmp_path: Path) -> None:
    """Upgrading to head yields exactly the schema the models declare (no drift)."""
    app = make_app(database_url, tmp_path / "instance", None)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade_keeps_data(database_url: str, tmp_path: Path) -> None:
    """Rows written at head survive downgrading the newest revision and upgrading again."""
    app = make_app(database_url, tmp_path / "instance", None)
    with app.app_context():
        upgrade()
        head = ScriptDirectory.from_config(
            app.extensions["migrate"].migrate.get_config()
        ).get_current_head()
        previous = (
            ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
            .get_revision(head)
            .down_revision
        )
        customer = customers.create(
            email="kept@example.com",
            password="a long enough passphrase",
            given_name="Kept",
            birthdate=date(1980, 1, 2),
            address={"locality": "Lyon"},
        )
        db.session.commit()
        public_id = customer.public_id
        db.session.remove()

        downgrade(revision=previous or "base")
        tables = sa.inspect(db.engine).get_table_names()
        if previous is None:
            # The first revision owns every table: going below it must leave nothing behind.
            assert {"customer", "browser_session", "login_event"}.isdisjoint(tables)
            upgrade()
            assert customers.find_by_email("kept@example.com") is None
        else:
            assert "customer" in tables
            upgrade()
            kept = customers.find_by_email("KEPT@example.com")
            assert kept is not None and kept.public_id == public_id
        db.session.remove()
        db.engine.dispose()


def test_factors_revision_upgrades_existing_clients_in_place(
    database_url: str, tmp_path: Path
) -> None:
    """0004 adds ``require_mfa`` to clients registered before it, off; downgrading drops the
    factor tables without touching the clients."""
    app = make_app(database_url, tmp_path / "instance", None)
    with app.app_context():
        upgrade(revision="0003_devices")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO client (client_id, name, client_type, redirect_uris,"
                    " post_logout_redirect_uris, grant_types, response_types, scope,"
                    " token_endpoint_auth_method, id_token_signed_response_alg, first_party,"
                    " software, created_at, updated_at) VALUES ('old-shop', 'Old shop', 'web',"
                    " '[]', '[]', '[\"authorization_code\"]', '[\"code\"]', 'openid',"
                    " 'client_secret_basic', 'ES256', false, '{}', '2026-01-01 00:00:00',"
                    " '2026-01-01 00:00:00')"
                )
            )
        upgrade(revision="0004_factors")
        with db.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT name, require_mfa FROM client WHERE client_id = 'old-shop'")
            ).one()
        assert (row[0], bool(row[1])) == ("Old shop", False)
        assert {"totp_credential", "passkey", "recovery_code"} <= set(
            sa.inspect(db.engine).get_table_names()
        )

        downgrade(revision="0003_devices")
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"totp_credential", "passkey", "recovery_code", "trusted_browser"}.isdisjoint(tables)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM client")).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()


def test_existing_clients_keep_their_grants(database_url: str, tmp_path: Path) -> None:
    """Clients registered before grants could be chosen keep exactly their stored grants up to
    head: no revision rewrites them, Authlib's checks read them, and an update keeps them."""
    app = make_app(database_url, tmp_path / "instance", None)
    stored = {
        "old-shop": ("web", ["authorization_code"], ["code"], "client_secret_basic"),
        "old-batch": ("service", ["client_credentials"], [], "client_secret_basic"),
        "old-tv": ("device", ["urn:ietf:params:oauth:grant-type:device_code"], [], "none"),
    }
    with app.app_context():
        upgrade(revision="0003_devices")
        with db.engine.begin() as conn:
            for client_id, (kind, grants, responses, method) in stored.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO client (client_id, client_secret_digest, name,"
                        " client_type, redirect_uris, post_logout_redirect_uris, grant_types,"
                        " response_types, scope, token_endpoint_auth_method,"
                        " id_token_signed_response_alg, first_party, software, created_at,"
                        " updated_at) VALUES (:id, :digest, 'Old', :kind, :uris, '[]', :grants,"
                        " :responses, 'openid', :method, 'ES256', false, '{}',"
                        " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                    ),
                    {
                        "id": client_id,
                        "kind": kind,
                        "uris": json.dumps(["https://old.example/cb"] if responses else []),
                        "grants": json.dumps(grants),
                        "responses": json.dumps(responses),
                        "method": method,
                        "digest": None if method == "none" else "0" * 64,
                    },
                )
        upgrade()
        for client_id, (kind, grants, responses, _) in stored.items():
            client = clients.get(client_id)
            assert client is not None and client.client_type == kind
            assert (client.grant_types, client.response_types) == (grants, responses)
            for grant in clients.GRANT_TYPES:
                assert client.check_grant_type(grant) is (grant in grants), (client_id, grant)
            clients.update(client, name="Renamed")
        db.session.commit()
        db.session.remove()
        for client_id, (_, grants, responses, _) in stored.items():
            client = clients.get(client_id)
            assert client is not None and client.name == "Renamed"
            assert (client.grant_types, client.response_types) == (grants, responses)
        db.session.remove()
        db.engine.dispose()


def _client_names(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT name FROM client ORDER BY id")).scalars())


def _insert_old_client(client_id: str) -> None:
    """A client row as revision 0004 stores one, written without today's model."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO client (client_id, client_secret_digest, name, client_type,"
                " redirect_uris, post_logout_redirect_uris, grant_types, response_types, scope,"
                " token_endpoint_auth_method, id_token_signed_response_alg, first_party,"
                " require_mfa, software, created_at, updated_at) VALUES (:id, :digest, 'Before',"
                " 'web', '[\"https://old.example/cb\"]', '[]',"
                " '[\"authorization_code\"]', '[\"code\"]', 'openid',"
                " 'client_secret_basic', 'ES256', false, false, '{}',"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"id": client_id, "digest": "0" * 64},
        )


def test_pushed_requests_revision_keeps_existing_clients(database_url: str, tmp_path: Path) -> None:
    """0005 adds the pushed-request table beside the clients made before it, which it leaves
    as they were; a request pushed after it is found; downgrading drops only it."""
    app = make_app(database_url, tmp_path / "instance", None)
    with app.app_context():
        upgrade(revision="0004_factors")
        _insert_old_client("before-par")
        upgrade(revision="0005_pushed_requests")
        assert _client_names(db.engine) == ["Before"]
        request_uri = pushed_requests.push(
            "before-par", {"response_type": ["code"]}, timedelta(minutes=1)
        )
        db.session.commit()
        assert pushed_requests.find(request_uri, "before-par") is not None
        db.session.remove()

        downgrade(revision="0004_factors")
        assert "pushed_request" not in sa.inspect(db.engine).get_table_names()
        assert _client_names(db.engine) == ["Before"]
        db.session.remove()
        db.engine.dispose()


def test_dpop_and_resources_revisions_upgrade_rows_in_place(
    database_url: str, tmp_path: Path
) -> None:
    """0006 to 0008 add nullable bindings to existing codes and grants, an empty resource list
    and no profile to existing clients; today's model then reads and updates those rows."""
    app = make_app(database_url, tmp_path / "instance", None)
    with app.app_context():
        upgrade(revision="0005_pushed_requests")
        _insert_old_client("before-dpop")
        upgrade()
        client = clients.get("before-dpop")
        assert client is not None
        assert client.resources == [] and not client.dpop_bound_access_tokens
        assert client.profile is None
        clients.update(client, resources=["https://api.example/orders"])
        db.session.commit()
        db.session.remove()
        assert clients.get("before-dpop").resources == ["https://api.example/orders"]
        db.session.remove()
        downgrade(revision="0005_pushed_requests")
        assert _client_names(db.engine) == ["Before"]
        db.session.remove()
        db.engine.dispose()


def test_admin_records_revision_folds_existing_names(database_url: str, tmp_path: Path) -> None:
    """0009 fills the folded name keys of customers made before it (so search finds them), leaves
    their other columns alone, makes the audit log refuse edits in the database, and downgrades
    to the customers as they were."""
    app = make_app(database_url, tmp_path / "instance", None)
    with app.app_context():
        upgrade(revision="0008_client_profile")
        with db.engine.begin() as conn:
            for public_id, email, given, family in [
                ("00000000-0000-4000-8000-000000000001", "eloise@example.com", "Éloïse", "DUPONT"),
                ("00000000-0000-4000-8000-000000000002", "nameless@example.com", None, None),
            ]:
                conn.execute(
                    sa.text(
                        "INSERT INTO customer (public_id, email, email_normalized, email_verified,"
                        " phone_verified, given_name, family_name, status, created_at, updated_at)"
                        " VALUES (:pid, :email, :email, true, false, :given, :family, 'active',"
                        " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                    ),
                    {"pid": public_id, "email": email, "given": given, "family": family},
                )
        upgrade(revision="0009_admin_records")
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT email, given_name, given_key, family_key, merged_into_id FROM customer"
                    " ORDER BY id"
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("eloise@example.com", "Éloïse", "eloise", "dupont", None),
            ("nameless@example.com", None, None, None, None),
        ]
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_entry (at, actor_kind, action) VALUES"
                    " ('2026-01-01 00:00:00', 'cli', 'test')"
                )
            )
        for statement in ("UPDATE audit_entry SET action = 'edited'", "DELETE FROM audit_entry"):
            with db.engine.connect() as conn:
                try:
                    conn.execute(sa.text(statement))
                except sa.exc.DBAPIError as exc:
                    assert "never" in str(exc)
                else:
                    raise AssertionError(f"{statement} was allowed")
        # 0010 only reorders the name indexes: the rows and their keys stay as they are.
        upgrade(revision="0010_name_keyset_indexes")
        indexes = {
            i["name"]: i["column_names"] for i in sa.inspect(db.engine).get_indexes("customer")
        }
        assert indexes["ix_customer_given_key_prefix"] == ["given_key", "id"]
        with db.engine.connect() as conn:
            keys = conn.execute(sa.text("SELECT given_key FROM customer ORDER BY id")).scalars()
            assert list(keys) == ["eloise", None]
        downgrade(revision="0008_client_profile")
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"admin_user", "audit_entry", "linked_account", "customer_merge"}.isdisjoint(tables)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM customer")).scalar_one() == 2
        db.session.remove()
        db.engine.dispose()
