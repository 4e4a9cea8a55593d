"""WSGI hygiene applied before Flask reads a request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Everything printable in ASCII stays as it is, percent signs included: only the bytes a URL
# may not hold raw (RFC 3986 2.1, 3.4) are escaped.
_KEEP = "".join(chr(c) for c in range(0x21, 0x7F))


def escape_query_bytes(app: WSGIApplication) -> WSGIApplication:
    """Percent-encode raw non-ASCII and control bytes in the query string.

    A request line may carry bytes that are not UTF-8 (``GET /login?next=\\xff``); Werkzeug
    decodes ``QUERY_STRING`` strictly in ``request.args`` and ``full_path``, so such a request
    would fail on every page, the error page included. Escaped, they read exactly as if the
    client had percent-encoded them: valid UTF-8 decodes to the same text, other bytes stay
    percent-encoded, as Werkzeug leaves invalid escapes.
    """

    def middleware(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        query: Any = environ.get("QUERY_STRING", "")
        if query and not (query.isascii() and query.isprintable()):
            # PEP 3333: the native string holds the raw bytes as latin-1.
            environ["QUERY_STRING"] = quote(query.encode("latin-1", "replace"), safe=_KEEP)
        return app(environ, start_response)

    return middleware
