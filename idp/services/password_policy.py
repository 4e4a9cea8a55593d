"""What a new password must be: NIST SP 800-63B 3.1.1.2, no composition rules."""

from __future__ import annotations

import gzip
from functools import cache
from importlib import resources

MIN_LENGTH = 8
MAX_LENGTH = 256


@cache
def common_passwords() -> frozenset[str]:
    """Django's list of 20,000 common passwords (BSD-3), shipped in ``idp/data``."""
    data = resources.files("idp").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(data).decode().splitlines())


def problems(password: str, *, email: str | None = None) -> list[str]:
    """Message keys for every rule the password breaks; empty when it is acceptable."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append("too_short")
    if len(password) > MAX_LENGTH:
        found.append("too_long")
    lowered = password.lower()
    if lowered in common_passwords():
        found.append("too_common")
    elif email and lowered in {email.lower(), email.split("@", 1)[0].lower()}:
        found.append("like_email")
    return found
