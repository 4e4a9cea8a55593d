"""A DPoP client's half (RFC 9449 4.2): a key pair, and proofs signed with it."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, RSAKey


@dataclass
class DPoPKey:
    alg: str = "ES256"
    key: Any = field(default=None)

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = (
                RSAKey.generate_key(2048)
                if self.alg.startswith(("RS", "PS"))
                else ECKey.generate_key("P-256")
            )

    @property
    def jkt(self) -> str:
        return str(self.key.thumbprint())

    @property
    def public_jwk(self) -> dict[str, Any]:
        return dict(self.key.as_dict(private=False))

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A fresh proof; ``header`` and ``claims`` override or add members (None removes)."""
        head: dict[str, Any] = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.public_jwk}
        body: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()
            body["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if nonce is not None:
            body["nonce"] = nonce
        head.update(header or {})
        body.update(claims)
        head = {k: v for k, v in head.items() if v is not None}
        body = {k: v for k, v in body.items() if v is not None}
        return jws.serialize_compact(
            head, json.dumps(body).encode(), self.key, algorithms=[head.get("alg", self.alg)]
        )
