"""The domain exceptions services raise; views turn them into pages or protocol errors.

IdpError
├── ValidationError          input a service refuses (field -> message)
├── AuthenticationFailed     wrong email or password, same for both (no enumeration)
│   └── AccountDisabled      right password, account switched off by an operator
├── Throttled                too many attempts; carries retry_after seconds
├── InvalidLink              signed link forged, expired or already used
└── NotFound                 a record that does not exist
"""

from __future__ import annotations


class IdpError(Exception):
    """Base of every error idp raises on purpose."""


class ValidationError(IdpError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class AuthenticationFailed(IdpError):
    pass


class AccountDisabled(AuthenticationFailed):
    pass


class Throttled(IdpError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = max(1, int(retry_after))


class InvalidLink(IdpError):
    pass


class NotFound(IdpError):
    pass
