"""Signing keys: sealed at rest, public in the JWKS, published before use, retired then expired."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp import config, security
from idp.errors import NotFound, ValidationError
from idp.extensions import db
from idp.models import KeyState, SigningKey
from idp.services import keys
from tests.conftest_support import PG_URL, make_app

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
AHEAD = timedelta(days=1)
LIFETIME = timedelta(minutes=5)
SECOND = timedelta(seconds=1)
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
PUBLIC_MEMBERS = {
    "ES256": {"kty", "crv", "x", "y", "kid", "alg", "use"},
    "RS256": {"kty", "n", "e", "kid", "alg", "use"},
}


def kek(app) -> bytes:
    return config.key_encryption_key(app.config)


@pytest.fixture
def store(app):
    """An app context with one ES256 and one RS256 key, active since T0."""
    with app.app_context():
        keys.ensure_keys(T0, encryption_key=kek(app))
        db.session.commit()
        yield app


def kids(now: datetime, alg: str) -> list[str]:
    return [k["kid"] for k in keys.jwks(now)["keys"] if k["alg"] == alg]


def sign(app, alg: str, now: datetime) -> str:
    kid, key = keys.active_key(alg, now, encryption_key=kek(app))
    return jwt.encode({"alg": alg, "kid": kid}, {"sub": "someone"}, key)


def verifies(token: str, now: datetime) -> bool:
    try:
        jwt.decode(token, KeySet.import_key_set(keys.jwks(now)))
    except (BadSignatureError, InvalidKeyIdError):
        return False
    return True


def test_ensure_keys_creates_es256_and_rs256_once(app):
    """ensure_keys makes one active key per alg, and nothing more when run again."""
    with app.app_context():
        created = keys.ensure_keys(T0, encryption_key=kek(app))
        db.session.commit()
        assert sorted(k.alg for k in created) == ["ES256", "RS256"]
        assert keys.ensure_keys(T0 + AHEAD, encryption_key=kek(app)) == []
        stored = keys.list_keys()
        assert [(k.alg, k.state(T0)) for k in stored] == [
            ("ES256", KeyState.ACTIVE),
            ("RS256", KeyState.ACTIVE),
        ]
        for alg in keys.ALGORITHMS:
            kid, key = keys.active_key(alg, T0, encryption_key=kek(app))
            assert kid == key.thumbprint()  # RFC 7638
            assert isinstance(key, ECKey if alg == "ES256" else RSAKey)
            assert key.is_private


def test_no_key_before_ensure(app):
    """Without ensure_keys nothing signs: active_key says so instead of inventing a key."""
    with app.app_context(), pytest.raises(NotFound):
        keys.active_key("ES256", T0, encryption_key=kek(app))


def test_private_key_is_not_stored_in_plaintext(store):
    """The raw column holds neither the PEM nor the private members, only ciphertext."""
    for alg in keys.ALGORITHMS:
        kid, key = keys.active_key(alg, T0, encryption_key=kek(store))
        raw = (
            db.session.execute(sa.text("SELECT * FROM signing_key WHERE kid = :kid"), {"kid": kid})
            .one()
            ._asdict()
        )
        stored = b"".join(
            bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in raw.values()
        )
        private = key.as_dict(private=True)
        pem = key.as_pem(private=True)
        assert b"PRIVATE KEY" not in stored
        assert pem.splitlines()[1] not in stored
        for member in ("d", "p", "q") if alg == "RS256" else ("d",):
            assert private[member].encode() not in stored
        assert (
            security.decrypt(bytes(raw["private_key_ciphertext"]), kek(store), kid.encode()) == pem
        )


def test_wrong_encryption_key_cannot_open_keys(store):
    """Another key-encryption key, or a ciphertext moved onto another kid, fails to decrypt."""
    other = security.derive_key("another secret key " + "z" * 32, config.KEY_ENCRYPTION_INFO)
    with pytest.raises(security.DecryptionError):
        keys.active_key("ES256", T0, encryption_key=other)
    es, rs = keys.list_keys()
    with pytest.raises(security.DecryptionError):
        security.decrypt(es.private_key_ciphertext, kek(store), rs.kid.encode())


def _close() -> None:
    db.session.remove()
    db.engine.dispose()


def test_changing_secret_key_makes_derived_keys_unreadable(database_url, tmp_path):
    """Without KEY_ENCRYPTION_KEY a new SECRET_KEY cannot open stored keys; with it, it can."""
    explicit = "A" * 43
    first = make_app(database_url, tmp_path / "a", None, KEY_ENCRYPTION_KEY=None)
    with first.app_context():
        db.create_all()
        keys.ensure_keys(T0, encryption_key=kek(first))
        db.session.commit()
        _close()
    rekeyed = make_app(database_url, tmp_path / "b", None, SECRET_KEY="n" * 40)
    with rekeyed.app_context():
        with pytest.raises(security.DecryptionError):
            keys.active_key("RS256", T0, encryption_key=kek(rekeyed))
        # The way out the setting's documentation gives: new keys under the new secret.
        keys.rotate("RS256", timedelta(0), LIFETIME, T0, encryption_key=kek(rekeyed))
        db.session.commit()
        assert keys.active_key("RS256", T0, encryption_key=kek(rekeyed))[1].is_private
        keys.rotate(
            "RS256",
            timedelta(0),
            LIFETIME,
            T0 + SECOND,
            encryption_key=security.decode_key(explicit),
        )
        db.session.commit()
        _close()
    for secret in ("n" * 40, "m" * 40):
        app = make_app(
            database_url, tmp_path / "c", None, SECRET_KEY=secret, KEY_ENCRYPTION_KEY=explicit
        )
        with app.app_context():
            assert keys.active_key("RS256", T0 + SECOND, encryption_key=kek(app))[1].is_private
            _close()


def test_jwks_has_only_public_members(store):
    """Every JWKS entry has kid, alg and use=sig, and no private member."""
    entries = keys.jwks(T0)["keys"]
    assert sorted(e["alg"] for e in entries) == ["ES256", "RS256"]
    for entry in entries:
        assert set(entry) == PUBLIC_MEMBERS[entry["alg"]]
        assert not PRIVATE_MEMBERS & set(entry)
        assert entry["use"] == "sig"
        assert KeySet.import_key_set({"keys": [entry]}).keys[0].thumbprint() == entry["kid"]


@pytest.mark.parametrize("alg", keys.ALGORITHMS)
def test_token_signed_with_active_key_verifies_against_jwks(store, alg):
    """A JWT signed with active_key verifies with the published JWKS, and only with it."""
    token = sign(store, alg, T0)
    assert jwt.decode(token, KeySet.import_key_set(keys.jwks(T0))).claims == {"sub": "someone"}
    stranger = ECKey.generate_key("P-256") if alg == "ES256" else RSAKey.generate_key(2048)
    with pytest.raises(BadSignatureError):
        jwt.decode(token, stranger)


def test_rotation_publishes_before_use_then_expires_old_key(store):
    """The new key is published a day before it signs; the old one signs until then, then
    stays published for the token lifetime, then leaves the JWKS and can be purged."""
    start = T0 + timedelta(hours=1)
    old_kid = keys.active_key("ES256", start, encryption_key=kek(store))[0]
    rs_kid = keys.active_key("RS256", start, encryption_key=kek(store))[0]
    new = keys.rotate("ES256", AHEAD, LIFETIME, start, encryption_key=kek(store))
    db.session.commit()
    switch = start + AHEAD

    assert kids(start, "ES256") == [new.kid, old_kid]  # published at once
    assert new.state(start) is KeyState.NEXT
    for moment in (start, switch - SECOND):
        assert keys.active_key("ES256", moment, encryption_key=kek(store))[0] == old_kid
    last_old_token = sign(store, "ES256", switch - SECOND)

    assert keys.active_key("ES256", switch, encryption_key=kek(store))[0] == new.kid
    assert keys.active_key("RS256", switch, encryption_key=kek(store))[0] == rs_kid
    assert verifies(last_old_token, switch + LIFETIME - SECOND)
    assert kids(switch + LIFETIME - SECOND, "ES256") == [new.kid, old_kid]

    assert kids(switch + LIFETIME, "ES256") == [new.kid]
    assert not verifies(last_old_token, switch + LIFETIME)
    states = {k.kid: k.state(switch + LIFETIME) for k in keys.list_keys()}
    assert states == {
        new.kid: KeyState.ACTIVE,
        old_kid: KeyState.EXPIRED,
        rs_kid: KeyState.ACTIVE,
    }
    assert keys.purge_expired(switch + LIFETIME - SECOND) == 0
    assert keys.purge_expired(switch + LIFETIME) == 1
    db.session.commit()
    assert {k.kid for k in keys.list_keys()} == {new.kid, rs_kid}


def test_rotate_now_switches_at_once_and_keeps_old_key_published(store):
    """Emergency rotation: the new key signs immediately; the old one is retired but verifies
    the tokens it signed until they expire."""
    now = T0 + timedelta(hours=2)
    old_token = sign(store, "RS256", now - SECOND)
    old_kid = keys.active_key("RS256", now, encryption_key=kek(store))[0]
    new = keys.rotate("RS256", timedelta(0), LIFETIME, now, encryption_key=kek(store))
    db.session.commit()

    assert keys.active_key("RS256", now, encryption_key=kek(store))[0] == new.kid
    old = db.session.execute(sa.select(SigningKey).filter_by(kid=old_kid)).scalar_one()
    assert (old.retired_at, old.expires_at) == (now, now + LIFETIME)
    assert old.state(now) is KeyState.RETIRED
    assert verifies(old_token, now + LIFETIME - SECOND)
    assert old_kid not in kids(now + LIFETIME, "RS256")


def test_second_scheduled_rotation_is_refused_but_now_replaces_it(store):
    """Rotating again while a key waits is refused (activation cannot be postponed forever);
    --now withdraws the waiting key, which never signed, from the JWKS at once."""
    now = T0 + timedelta(hours=3)
    waiting = keys.rotate("ES256", AHEAD, LIFETIME, now, encryption_key=kek(store))
    db.session.commit()
    with pytest.raises(ValidationError, match="scheduled"):
        keys.rotate("ES256", AHEAD, LIFETIME, now + SECOND, encryption_key=kek(store))
    assert next(k.kid for k in keys.list_keys() if k.alg == "ES256") == waiting.kid

    later = now + timedelta(hours=1)
    emergency = keys.rotate("ES256", timedelta(0), LIFETIME, later, encryption_key=kek(store))
    db.session.commit()
    assert keys.active_key("ES256", later, encryption_key=kek(store))[0] == emergency.kid
    assert kids(later, "ES256")[0] == emergency.kid
    assert waiting.kid not in kids(later, "ES256")
    assert keys.active_key("ES256", now + AHEAD, encryption_key=kek(store))[0] == emergency.kid


def test_rotate_refuses_unknown_alg(store):
    """Only ES256 and RS256 keys exist."""
    with pytest.raises(ValidationError):
        keys.rotate("HS256", AHEAD, LIFETIME, T0, encryption_key=kek(store))


def test_database_refuses_two_keys_of_one_generation(store):
    """The unique (alg, generation) constraint is what stops concurrent writers."""
    first = keys.list_keys()[0]
    clone = SigningKey(
        kid="clone",
        alg=first.alg,
        generation=first.generation,
        public_jwk={},
        private_key_ciphertext=b"x",
        created_at=T0,
        activates_at=T0,
    )
    db.session.add(clone)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def _waiting(app, pid: int) -> bool:
    """Whether PostgreSQL backend ``pid`` waits for a lock another transaction holds."""
    with app.app_context():
        blockers = db.session.execute(sa.text("SELECT pg_blocking_pids(:pid)"), {"pid": pid})
        waiting = bool(blockers.scalar_one())
        db.session.remove()
    return waiting


@pytest.mark.skipif(not PG_URL, reason="SQLite has one writer at a time; the race needs PostgreSQL")
def test_concurrent_ensure_keys_agree_on_one_key_per_alg(app):
    """Two workers running ensure_keys at once: the second waits, loses the insert, and adopts
    the first one's keys, so one key per alg signs everywhere."""
    inserted, release = threading.Event(), threading.Event()
    second_pid: list[int] = []
    outcome: dict[str, object] = {}

    def first() -> None:
        with app.app_context():
            outcome["first"] = [k.kid for k in keys.ensure_keys(T0, encryption_key=kek(app))]
            inserted.set()
            release.wait(30)
            db.session.commit()

    def second() -> None:
        with app.app_context():
            inserted.wait(30)
            second_pid.append(db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            try:
                outcome["second"] = keys.ensure_keys(T0, encryption_key=kek(app))
                db.session.commit()
            except Exception as exc:  # reported by the assertion below
                outcome["second"] = exc

    workers = [threading.Thread(target=first), threading.Thread(target=second)]
    for worker in workers:
        worker.start()
    blocked = False
    try:
        deadline = time.monotonic() + 20
        while not blocked and time.monotonic() < deadline:
            blocked = bool(second_pid) and _waiting(app, second_pid[0])
            time.sleep(0.05)
    finally:
        release.set()
        for worker in workers:
            worker.join(30)

    assert blocked, "the second writer never waited for the first"
    assert outcome["second"] == []
    with app.app_context():
        stored = keys.list_keys()
        assert sorted(k.alg for k in stored) == ["ES256", "RS256"]
        assert sorted(k.kid for k in stored) == sorted(outcome["first"])  # type: ignore[arg-type]
