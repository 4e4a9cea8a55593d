"""Where a ``next`` parameter may send the browser: only to a path on this server."""

from __future__ import annotations

from urllib.parse import urlsplit

_SAFE_DEFAULT = "/account"


def safe_next(value: str | None, default: str = _SAFE_DEFAULT) -> str:
    """``value`` when it is a local path, else ``default`` (no open redirect, ASVS 5.1.5)."""
    if not value or len(value) > 8192:
        return default
    # Browsers treat backslashes as slashes and drop tabs and newlines: normalise like them.
    cleaned = value.replace("\\", "/")
    if any(ch in cleaned for ch in "\t\r\n\x00") or not cleaned.startswith("/"):
        return default
    if cleaned.startswith("//"):
        return default
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return default
    return value
