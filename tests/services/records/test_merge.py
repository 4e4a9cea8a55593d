"""Merging two records (services.records.merge): every row moves, the old id becomes an alias,
the moved credentials keep working, and the refusals that keep merges safe."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp.errors import ValidationError
from idp.extensions import db
from idp.models import (
    AuditEntry,
    Consent,
    CustomerMerge,
    CustomerStatus,
    LoginEvent,
)
from idp.services import customers, mfa, passkeys, tokens, totp
from idp.services.records import aliases, owned
from idp.services.records import merge as merging
from idp.views import context
from tests.factories import make_customer, totp_code, totp_settings
from tests.services.records.conftest import Pair, make_pair
from tests.services.records.seed import ACTOR, merge_settings


def test_every_column_pointing_at_a_customer_has_a_merge_rule(app):
    """A new table with a customer_id fails here until merge says what happens to its rows."""
    with app.app_context():
        assert owned.customer_columns() == set(owned.COLUMNS)


def test_merge_moves_every_row_to_the_survivor(pair: Pair):
    """After a merge the absorbed record holds nothing but what the survivor had its own of."""
    with pair.app.app_context():
        held = owned.counts(pair.b.id)
        survivor_had = owned.counts(pair.a.id)
        assert all(held.values()), held  # the seed put rows in every table
        record = pair.merge()
        now_b, now_a = owned.counts(pair.b.id), owned.counts(pair.a.id)
        kept = {"consent": 1, "password_credential": 1, "totp_credential": 1}
        for table, count in held.items():
            stays = kept.get(table, 0)
            # login_event: the merge writes one event on each timeline.
            extra = 1 if table == "login_event" else 0
            assert now_b[table] == stays + extra, table
            assert now_a[table] == survivor_had[table] + count - stays + extra, table
        assert set(record.undo["kept"]) == set(kept)


def test_absorbed_record_becomes_an_alias(pair: Pair):
    """The absorbed id resolves to the survivor; its email key is freed for the survivor."""
    with pair.app.app_context():
        pair.merge()
        a, b = pair.customer(pair.a), pair.customer(pair.b)
        assert b.status == CustomerStatus.MERGED and b.merged_into_id == a.id
        assert b.email_normalized == f"merged+{b.public_id}@invalid"
        assert a.email == "ana.lopez@example.com" and a.email_normalized == "ana.lopez@example.com"
        # Fields the survivor lacked come from the absorbed record; the rest stay the survivor's.
        assert (a.family_name, a.family_key, a.locale) == ("López", "lopez", "fr")
        assert a.phone == "+33612345678"
        assert aliases.resolve(b.public_id).id == a.id  # type: ignore[union-attr]
        assert aliases.merged_into(b.public_id) == a.public_id
        assert aliases.merged_into(a.public_id) is None
        assert customers.find_by_public_id(b.public_id, follow_aliases=True).id == a.id  # type: ignore[union-attr]
        assert customers.find_by_public_id(b.public_id).id == b.id  # type: ignore[union-attr]
        assert customers.find_by_email("ana.lopez@example.com").id == a.id  # type: ignore[union-attr]
        assert aliases.public_ids(a) == [a.public_id, b.public_id]


def test_merge_is_audited_and_on_both_timelines(pair: Pair):
    """Who merged, why, and what moved: one entry under each record, one event on each."""
    with pair.app.app_context():
        record = pair.merge()
        entries = {
            e.action: e
            for e in db.session.execute(
                db.select(AuditEntry).where(AuditEntry.action.like("customer.merge%"))
            ).scalars()
        }
        merged, into = entries["customer.merged"], entries["customer.merged_into"]
        assert merged.target_id == pair.a.public_id and merged.reason == "same person, ticket 12"
        assert merged.before["email"] == "ana@example.com"
        assert merged.after["email"] == "ana.lopez@example.com"
        assert merged.after["merge"] == record.public_id and merged.after["moved"]["passkey"] == 1
        assert into.target_id == pair.b.public_id and into.after["merged_into"] == pair.a.public_id
        assert merged.actor_kind == "cli"
        tagged = db.session.execute(
            db.select(LoginEvent.customer_id, LoginEvent.method, LoginEvent.reason).where(
                LoginEvent.tag == "customer:merged"
            )
        ).all()
        assert sorted(tagged) == sorted(
            [(pair.a.id, "absorbed", pair.b.public_id), (pair.b.id, "into", pair.a.public_id)]
        )


def test_consents_of_one_client_become_the_union(pair: Pair):
    """Both consented to the shop: the survivor's consent now covers both sets of scopes; the
    absorbed record's consent to another app moves whole."""
    with pair.app.app_context():
        pair.merge()
        rows = {
            c.client_id: c
            for c in db.session.execute(
                db.select(Consent).where(Consent.customer_id == pair.a.id)
            ).scalars()
        }
        assert rows[pair.clients["shop"]].scopes == ["email", "phone"]
        assert rows[pair.clients["app"]].scopes == ["profile"]


def test_moved_credentials_keep_working(app):
    """The absorbed record's authenticator app (re-sealed), passkey (its user handle is the old
    id), remembered browser and refresh token all work for the survivor."""
    pair = make_pair(app, survivor_factors=False)
    with app.test_request_context():
        pair.merge()
        a = pair.customer(pair.a)
        assert a.password is not None  # the survivor had none: the absorbed one's moved
        assert pair.b.totp_secret is not None
        assert totp.verify(a, totp_code(pair.b.totp_secret, 1), totp_settings(app)) is not None
        rp = passkeys.relying_party(app.config["ISSUER"], app.config["WEBAUTHN_RP_ID"])
        ceremony = passkeys.authentication_options(rp)
        assertion = pair.b.passkey.get(ceremony.options)
        owner, _ = passkeys.authenticate(assertion, challenge=ceremony.challenge, rp=rp)
        assert owner.customer_id == a.id
        assert mfa.is_trusted(pair.b.trusted_cookie, a, settings=context.trust_settings())
        refresh = tokens.lookup_refresh(pair.b.refresh_token)
        assert refresh is not None and refresh.family.customer_id == a.id


def test_when_both_have_an_authenticator_the_survivors_stays(pair: Pair):
    """TOTP: the survivor keeps its own; the absorbed one stays on the alias, recorded as kept."""
    with pair.app.app_context():
        record = pair.merge()
        a = pair.customer(pair.a)
        assert pair.a.totp_secret is not None and pair.b.totp_secret is not None
        settings = totp_settings(pair.app)
        assert totp.verify(a, totp_code(pair.b.totp_secret, 1), settings) is None
        assert totp.verify(a, totp_code(pair.a.totp_secret, 1), settings) is not None
        assert len(record.undo["kept"]["totp_credential"]) == 1


def test_preview_shows_both_sides_and_what_moves(pair: Pair):
    """The side-by-side view: every field of both, the suggestion, the counts, no refusal."""
    with pair.app.app_context():
        shown = merging.preview(pair.customer(pair.a), pair.customer(pair.b))
        assert shown.survivor["email"] == "ana@example.com"
        assert shown.absorbed["birthdate"].isoformat() == "1990-01-31"
        assert list(shown.survivor) == list(shown.absorbed) == [
            "email", "email_verified", "phone", "phone_verified", "given_name",
            "family_name", "birthdate", "address", "locale",
        ]  # fmt: skip
        assert shown.suggested["family_name"] == "absorbed"
        assert shown.suggested["email"] == "survivor"
        assert shown.moves["passkey"] == 1 and shown.refusal is None


@pytest.mark.parametrize(
    ("choices", "field"),
    [
        ({"email_verified": "absorbed"}, "email_verified"),
        ({"email": "both"}, "email"),
        ({"x": "survivor"}, "x"),
    ],
)
def test_bad_choices_are_refused(pair: Pair, choices, field):
    """A verification flag follows its value; sides are survivor or absorbed; fields are known."""
    with pair.app.app_context(), pytest.raises(ValidationError) as refused:
        pair.merge(choices=choices)
    assert field in refused.value.errors


def test_refusals(pair: Pair):
    """No merge with oneself, of an alias, of a pair marked distinct, or without a reason."""
    with pair.app.app_context():
        a, b = pair.customer(pair.a), pair.customer(pair.b)
        settings = merge_settings(pair.app)
        kw = {"choices": None, "reason": "r", "actor": ACTOR, "settings": settings}
        with pytest.raises(ValidationError, match="itself"):
            merging.merge(a, a, **kw)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="reason"):
            merging.merge(a, b, **{**kw, "reason": "  "})  # type: ignore[arg-type]
        merging.mark_distinct(a, b, actor=ACTOR, reason="twins")
        db.session.commit()
        assert merging.preview(a, b).refusal == "These records are marked as two different people."
        with pytest.raises(ValidationError, match="two different people"):
            merging.merge(b, a, **kw)  # type: ignore[arg-type]
        db.session.rollback()
        c = pair.customer(make_customer(pair.app).id)
        merging.merge(a, c, **kw)  # type: ignore[arg-type]
        db.session.commit()
        with pytest.raises(ValidationError, match="already merged"):
            merging.merge(b, pair.customer(c.id), **kw)  # type: ignore[arg-type]


def test_distinct_marks_are_audited_remembered_and_survive_merges(pair: Pair):
    """A mark is kept once, on both timelines and in the log, and holds for the survivor."""
    with pair.app.app_context():
        c = pair.customer(make_customer(pair.app).id)
        b = pair.customer(pair.b)
        first = merging.mark_distinct(b, c, actor=ACTOR, reason="different birthdates")
        again = merging.mark_distinct(c, b, actor=ACTOR)
        db.session.commit()
        assert first.id == again.id and (first.first_id, first.second_id) == (b.id, c.id)
        entries = (
            db.session.execute(
                db.select(AuditEntry).where(AuditEntry.action == "customer.marked_distinct")
            )
            .scalars()
            .all()
        )
        assert len(entries) == 1 and entries[0].after == {"other": c.public_id}
        assert entries[0].reason == "different birthdates"
        events = (
            db.session.execute(
                db.select(LoginEvent.customer_id).where(
                    LoginEvent.tag == "customer:marked_distinct"
                )
            )
            .scalars()
            .all()
        )
        assert sorted(events) == sorted([b.id, c.id])
        pair.merge()
        a = pair.customer(pair.a)
        assert merging.are_distinct(a, pair.customer(c.id))
        assert merging.preview(pair.customer(c.id), a).refusal is not None
        with pytest.raises(ValidationError, match="itself"):
            merging.mark_distinct(a, a, actor=ACTOR)
        with pytest.raises(ValidationError, match="merged into"):
            merging.mark_distinct(pair.customer(pair.b), c, actor=ACTOR)


def test_undo_window_comes_from_the_setting(app):
    """IDP_MERGE_UNDO_WINDOW (seconds) sets undo_until; 30 days by default."""
    pair = make_pair(app)
    assert app.config["MERGE_UNDO_WINDOW"] == 30 * 24 * 3600
    with app.app_context():
        record = pair.merge(settings=merge_settings(app, undo_window=timedelta(hours=2)))
        assert record.undo_until - record.created_at == timedelta(hours=2)
        assert db.session.get(CustomerMerge, record.id) is not None
