"""Hostile values for every kind of input: text, raw bytes, repeated parameters, bodies, methods.

Text strategies may carry a *marker*: a snippet of markup unique to the example
(``<svg id=hx123>``). A page that echoes it unescaped is an injection, whatever else the value
holds; ``checks.assert_html`` looks for exactly that snippet.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

MAX_CONTENT_LENGTH = 64 * 1024
FORM = "application/x-www-form-urlencoded"
_markers = itertools.count(1)

# Characters and snippets that break parsers, quoting or display: quotes and markup, escapes,
# controls, line breaks (header injection), bidirectional overrides, zero-width and
# non-characters, emoji, a BOM, URL syntax, template and SQL syntax.
SNIPPETS = (
    '"',
    "'",
    "`",
    "<",
    ">",
    "&",
    "\\",
    "\\u0000",
    "\x00",
    "\x01",
    "\x08",
    "\x1b[31m",
    "\x7f",
    "\t",
    "\r\n",
    "\r\nSet-Cookie: x=1",
    "\u202e",
    "\u200b",
    "\u2028",
    "\ufeff",
    "\ufffd",
    "\uffff",
    "\U0010ffff",
    "😀",
    "é",
    "ß",
    "İ",
    "%",
    "%00",
    "%ff",
    "%zz",
    "%25",
    "+",
    "=",
    "?",
    "#",
    ";",
    "/",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "../../etc/passwd",
    "{{7*7}}",
    "${7*7}",
    "' OR '1'='1",
    "); DROP TABLE customer; --",
    "null",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' autofocus onfocus='alert(1)",
)

# Any code point a UTF-8 request can carry: everything but the surrogates, which cannot be
# encoded (their byte forms are among the invalid UTF-8 sequences below).
any_char = st.characters(exclude_categories=["Cs"])


def new_marker() -> str:
    """Markup no page may show raw; unique, so a hit names the example that caused it."""
    return f"<svg id=hx{next(_markers)} onload=alert(1)>"


@st.composite
def hostile_text(draw: st.DrawFn, *, marker: bool = True, max_size: int = 10_000) -> str:
    """A string made of hostile snippets and arbitrary text, now and then very long."""
    pieces = draw(
        st.lists(st.one_of(st.sampled_from(SNIPPETS), st.text(any_char, max_size=20)), max_size=8)
    )
    if marker:
        pieces.insert(draw(st.integers(0, len(pieces))), new_marker())
    text = "".join(pieces)
    if max_size > 300 and draw(st.integers(0, 9)) == 0:  # one example in ten is overlong
        text += draw(st.sampled_from("A<\"'é😀")) * draw(st.integers(300, max_size))
    return text[:max_size]


def values(marker: bool = True) -> st.SearchStrategy[str]:
    """A hostile value, or one of the plain edge cases (empty, blank, a lone quote)."""
    plain = st.sampled_from(["", " ", "0", "-1", "1e309", "true", '"', "\x00"])
    return st.one_of(hostile_text(marker=marker), plain)


def foreign_uris(registered: str) -> st.SearchStrategy[str]:
    """URIs that are not ``registered`` but look like it (RFC 9700 4.1.3: exact match only)."""
    scheme, _, rest = registered.partition("://")
    host, _, path = rest.partition("/")
    near = [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "data:text/html,<svg onload=alert(1)>",
        f"{registered}/",
        f"{registered}x",
        f"{registered}?next=https://evil.example/",
        f"{registered}#x",
        f"{registered}/../../evil",
        f"{scheme}://{host}.evil.example/{path}",
        f"{scheme}://{host}@evil.example/{path}",
        f"{scheme}://evil.example@{host}/{path}",
        f"{scheme}://{host}:444/{path}",
        f"{scheme}://{host.upper()}/{path}",
        f"{'http' if scheme == 'https' else 'https'}://{host}/{path}",
        f"{scheme}://{host}/{quote(path)}%2F",
        f" {registered}",
        f"{registered}\x00",
        f"{registered}\t",
    ]
    return st.one_of(st.sampled_from(near), hostile_text(max_size=300))


# Raw bytes live in their own module; the tests reach every strategy through this one.
from tests.hostile.raw import BAD_ESCAPES, INVALID_UTF8, latin1, raw_query, raw_value  # noqa: E402

__all__ = ["BAD_ESCAPES", "INVALID_UTF8", "latin1", "raw_query", "raw_value"]


def path_segment(text: str) -> str:
    """``text`` percent-encoded as one path segment, as a browser sends it."""
    return quote(text, safe="")


# --- parameters and bodies ---------------------------------------------------------------------


@st.composite
def params(
    draw: st.DrawFn, base: dict[str, str], names: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """``base`` with some of ``names`` hostile, some repeated, some dropped, junk names added."""
    names = list(names or base)
    pairs = dict(base)
    for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)):
        pairs[name] = draw(values())
    for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        pairs.pop(name, None)
    items = list(pairs.items())
    # Repeated parameters: the same name again, with the same or another value.
    for name in draw(st.lists(st.sampled_from(names), max_size=2)):
        items.append((name, draw(st.one_of(st.just(pairs.get(name, "")), values()))))
    if draw(st.booleans()):
        items.append((draw(hostile_text(marker=False, max_size=40)) or "x", draw(values())))
    return draw(st.permutations(items))


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    hostile_text(max_size=200),
)
json_documents = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(hostile_text(max_size=30), inner, max_size=4)
    ),
    max_leaves=12,
)


def json_object(keys: Sequence[str]) -> st.SearchStrategy[dict[str, object]]:
    """A JSON object using the endpoint's own field names with values of any JSON type."""
    return st.dictionaries(st.sampled_from(list(keys)), json_documents, max_size=len(keys))


# Where a form is expected, anything else; where JSON is expected, anything else.
WRONG_CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    'text/html; charset="<svg id=ct onload=alert(1)>"',
    "application/xml",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=zz",
    "application/x-www-form-urlencoded; charset=utf-16",
    "application/x-www-form-urlencoded; charset=\x00",
    "application/octet-stream",
    "*/*",
    "",
    "é/é",
)


BOUNDARY = "hostileboundary"


@dataclass(frozen=True)
class Body:
    """A raw request body and the content type it claims to be."""

    data: bytes
    content_type: str

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Short in a failing example's report: a 64 KiB repr is no help, and warns."""
        head = self.data[:120] + (b"..." if len(self.data) > 120 else b"")
        printer.text(f"Body({head!r} [{len(self.data)} bytes], {self.content_type!r})")


@st.composite
def wrong_bodies(draw: st.DrawFn, fields: Sequence[str]) -> Body:
    """A JSON body for a form, a form for JSON, raw bytes, or text under a wrong type."""
    kind = draw(st.sampled_from(["json", "form", "raw", "multipart"]))
    if kind == "multipart":
        # A file part where a text field belongs, its content raw bytes.
        name = draw(st.sampled_from(fields))
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="x"\r\n\r\n'
        )
        data = head.encode() + draw(raw_value()) + f"\r\n--{BOUNDARY}--\r\n".encode()
        return Body(data, f"multipart/form-data; boundary={BOUNDARY}")
    if kind == "json":
        data = json.dumps(draw(st.one_of(json_object(fields), json_documents))).encode()
    elif kind == "form":
        pairs = draw(params({f: "x" for f in fields}))
        data = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs).encode()
    else:
        data = draw(raw_query(fields))
    return Body(data, draw(st.sampled_from(WRONG_CONTENT_TYPES)))


def huge_bodies(limit: int = MAX_CONTENT_LENGTH) -> st.SearchStrategy[Body]:
    """A body just over, or far over, the largest one idp accepts."""
    return st.builds(
        lambda extra, ctype: Body(b"a=" + b"x" * (limit + extra), ctype),
        st.sampled_from([1, 100, limit]),
        st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain"]),
    )


# Methods a route may not take: the usual ones and some no route has.
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
ODD_METHODS = ("PROPFIND", "TRACE", "CONNECT", "FOO")


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    """Request headers idp reads, with hostile latin-1 values (WSGI headers are latin-1)."""
    value = hostile_text(marker=False, max_size=300).map(
        lambda s: s.encode("utf-8").decode("latin-1").replace("\r", "").replace("\n", "")
    )
    names = ["User-Agent", "Accept-Language", "Cookie", "X-Forwarded-For", "Origin", "Referer"]
    return draw(st.dictionaries(st.sampled_from(names), value, max_size=3))
