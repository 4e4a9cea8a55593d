"""Raw bytes a request line may carry reach the app as percent-escapes, never as a crash."""

from __future__ import annotations

from typing import Any

from idp.wsgi import escape_query_bytes


def _seen_query(raw: str) -> str:
    """The QUERY_STRING the wrapped app receives for ``raw``."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    escape_query_bytes(app)({"QUERY_STRING": raw}, lambda *a: None)  # type: ignore[arg-type]
    return str(seen["QUERY_STRING"])


def test_ascii_query_untouched() -> None:
    """A query string that is already ASCII, escapes and all, passes unchanged."""
    assert _seen_query("a=%FF&b=%zz&c=<x>") == "a=%FF&b=%zz&c=<x>"


def test_raw_bytes_escaped() -> None:
    """Raw non-ASCII and control bytes (latin-1 in WSGI) become percent-escapes."""
    assert _seen_query("a=\xff\xfe&b=\xc3\xa9&c=\x00") == "a=%FF%FE&b=%C3%A9&c=%00"


def test_invalid_utf8_in_query_gets_the_page(client) -> None:
    """GET /login?next=<raw \\xff> is the sign-in page, not a 500 on every page."""
    for path in ("/login", "/authorize", "/logout", "/account", "/device/qr"):
        response = client.get(path, environ_overrides={"QUERY_STRING": "next=\xff\xfe&x=\xc0\xaf"})
        assert response.status_code < 500, path


def test_raw_utf8_reads_like_escaped(client) -> None:
    """Raw UTF-8 in the query reads as the same text as its percent-encoded form."""
    raw = "é".encode().decode("latin-1")
    page = client.get(
        "/login", environ_overrides={"QUERY_STRING": f"login_hint=ana{raw}@example.com"}
    )
    assert 'value="anaé@example.com"' in page.get_data(as_text=True)
