"""Password hashing with argon2id at OWASP's parameters, and upgrading older hashes at sign-in."""

from __future__ import annotations

import hashlib

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from idp import security
from idp.extensions import db
from idp.services import customers
from tests.factories import PASSWORD, make_customer
from tests.helpers import login, submit
from tests.views.support import password_hash

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB (19456 KiB), t=2, p=1.
OWASP_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


def test_hash_is_argon2id_with_owasp_parameters():
    """A new hash is argon2id with m=19456 KiB, t=2, p=1 and verifies only its own password."""
    hashed = security.hash_password(PASSWORD)
    assert hashed.startswith(OWASP_PREFIX)
    assert security.verify_password(hashed, PASSWORD)
    assert not security.verify_password(hashed, PASSWORD + "x")
    assert not security.password_needs_rehash(hashed)


def test_hashes_are_salted():
    """The same password hashed twice gives two different hashes."""
    assert security.hash_password(PASSWORD) != security.hash_password(PASSWORD)


def test_garbage_hash_never_verifies():
    """A stored value that is not an argon2 hash refuses every password instead of raising."""
    assert not security.verify_password("not a hash", PASSWORD)
    assert not security.verify_password("", "")
    assert security.password_needs_rehash("not a hash")


def test_digest_is_sha256_hex():
    """``digest`` is the SHA-256 hex digest, the form secrets are stored and looked up in."""
    assert security.digest("abc") == hashlib.sha256(b"abc").hexdigest()


def test_random_tokens_are_long_and_distinct():
    """Random tokens carry at least 32 bytes of entropy by default and never repeat."""
    tokens = {security.random_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 43 for t in tokens)


def test_signup_stores_owasp_hash(app, client):
    """The hash the sign-up page writes to the database is argon2id at OWASP's parameters."""
    response = submit(client, "/signup", {"email": "ana@example.com", "password": PASSWORD})
    assert response.status_code == 200
    stored = password_hash(app, "ana@example.com")
    assert stored.startswith(OWASP_PREFIX)
    assert PASSWORD not in stored


OLD_HASHERS = {
    "weaker": PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID),
    "argon2i": PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.I),
    "old-library-default": PasswordHasher(
        time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID
    ),
}


def _store_hash(app, email, value):
    with app.app_context():
        customer = customers.find_by_email(email)
        customer.password.password_hash = value
        db.session.commit()


@pytest.mark.parametrize("kind", sorted(OLD_HASHERS))
def test_old_hash_upgraded_at_sign_in(app, client, kind):
    """A hash made with other argon2 parameters is replaced by an OWASP one at the next sign-in."""
    make_customer(app, email="ana@example.com")
    old = OLD_HASHERS[kind].hash(PASSWORD)
    _store_hash(app, "ana@example.com", old)

    assert login(client, "ana@example.com", PASSWORD).status_code == 302

    new = password_hash(app, "ana@example.com")
    assert new != old
    assert new.startswith(OWASP_PREFIX)
    assert security.verify_password(new, PASSWORD)


def test_old_hash_kept_on_wrong_password(app, client):
    """A failed sign-in never rewrites the stored hash, old parameters or not."""
    make_customer(app, email="ana@example.com")
    old = OLD_HASHERS["weaker"].hash(PASSWORD)
    _store_hash(app, "ana@example.com", old)

    assert login(client, "ana@example.com", "not the passphrase").status_code == 401
    assert password_hash(app, "ana@example.com") == old
