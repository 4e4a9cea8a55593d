"""Hostile credentials: Authorization headers (RFC 6749 2.3.1, RFC 6750 2.1, RFC 9449 7.1) and
DPoP proofs (RFC 9449 4.2) that look like the real thing and are not."""

from __future__ import annotations

import base64
import json

from hypothesis import strategies as st

from tests.hostile import strategies as hs

# Printable ASCII without whitespace: what any HTTP stack passes through as one header token.
# (Malformed Basic credentials have a test of their own in test_token.)
TOKEN = hs.hostile_text(marker=False, max_size=200).map(
    lambda s: "".join(c for c in s if c.isascii() and c.isprintable() and not c.isspace()) or "x"
)
Headers = list[tuple[str, str]]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _part(value: object) -> str:
    return b64url(json.dumps(value).encode())


# A JWT-shaped proof whose header and claims hold hostile values: it reaches the proof checks
# one by one (typ, alg, jwk, htm, htu, iat, jti) rather than failing at the first split.
forged_proof = st.builds(
    lambda header, claims, signature: f"{_part(header)}.{_part(claims)}.{signature}",
    st.fixed_dictionaries(
        {"typ": st.just("dpop+jwt") | hs.values(), "alg": st.sampled_from(["ES256", "none"])},
        optional={"jwk": hs.json_documents, "kid": hs.values()},
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "htm": st.just("POST") | hs.values(),
            "htu": st.just("http://localhost:5000/token") | hs.values(),
            "iat": st.integers(-(2**63), 2**63) | hs.json_documents,
            "jti": hs.values() | hs.json_documents,
            "ath": hs.values(),
            "nonce": hs.values(),
        },
    ),
    st.binary(max_size=80).map(b64url) | TOKEN,
)
proofs = st.one_of(forged_proof, TOKEN, st.sampled_from(["", "a.b.c", "..", "e30.e30."]))


@st.composite
def dpop_headers(draw: st.DrawFn) -> Headers:
    """No DPoP header, one forged proof, or two (RFC 9449 4.3: exactly one)."""
    return [("DPoP", draw(proofs)) for _ in range(draw(st.sampled_from([0, 0, 1, 2])))]


@st.composite
def client_credentials(draw: st.DrawFn, client_id: str, secret: str) -> Headers:
    """No credentials, the right ones, or junk in the Authorization header; maybe a proof."""
    text = hs.hostile_text(marker=False, max_size=200)
    choice = draw(st.sampled_from(["none", "right", "user", "password", "scheme", "garbage"]))
    header: Headers = []
    if choice == "right":
        header = [("Authorization", basic(client_id, secret))]
    elif choice == "user":
        header = [("Authorization", basic(draw(text), secret))]
    elif choice == "password":
        header = [("Authorization", basic(client_id, draw(text)))]
    elif choice == "scheme":
        scheme = draw(st.sampled_from(["Basic", "Bearer", "DPoP", "Digest", "basic", "BASIC"]))
        header = [("Authorization", f"{scheme} {draw(TOKEN)}")]
    elif choice == "garbage":
        header = [("Authorization", draw(TOKEN))]
    return header + draw(dpop_headers())


@st.composite
def bearer_credentials(draw: st.DrawFn, token: str) -> Headers:
    """The real access token, a spoiled one, or junk, under Bearer, DPoP or another scheme."""
    spoiled = st.sampled_from(
        [
            token,
            token + "x",
            token[:-2],
            token.replace(".", "..", 1),
            "a.b.c",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",  # alg=none
        ]
    )
    value = draw(spoiled | TOKEN)
    scheme = draw(st.sampled_from(["Bearer", "bearer", "BEARER", "DPoP", "Basic", "MAC"]))
    header = [("Authorization", f"{scheme} {value}")] if draw(st.booleans()) else []
    return header + draw(dpop_headers())
