"""Raw bytes for queries and bodies: what a client that never encodes could send.

Werkzeug's test client builds real requests from them (``environ_overrides`` for the query
string, ``data=bytes`` for a body), so the app meets the same invalid bytes a socket would bring.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

# Byte sequences that are not UTF-8: lone continuation or lead bytes, an overlong "/" (C0 AF),
# a surrogate's encoding (ED A0 80), a truncated sequence, and bytes beyond U+10FFFF.
INVALID_UTF8 = (
    b"\xff",
    b"\xfe\xff",
    b"\x80",
    b"\xc3\x28",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80",
)
# Percent-encoding that decodes to nothing valid: truncated, non-hex, or invalid UTF-8 escaped.
BAD_ESCAPES = (b"%", b"%f", b"%zz", b"%%", b"%ff%fe", b"%c0%af", b"%ed%a0%80", b"%u0041", b"%0")


@st.composite
def raw_value(draw: st.DrawFn) -> bytes:
    """Bytes for one parameter value, as a client that never encodes could send them."""
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(INVALID_UTF8),
                st.sampled_from(BAD_ESCAPES),
                st.binary(max_size=8),
                st.sampled_from([b"&", b"=", b"+", b";", b"\x00", b"<svg>", b'"']),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return b"".join(pieces)


@st.composite
def raw_query(draw: st.DrawFn, names: Sequence[str]) -> bytes:
    """A query string or urlencoded body of raw bytes, for some of ``names`` or junk names."""
    name = st.one_of(st.sampled_from([n.encode() for n in names]), raw_value())
    pairs = draw(st.lists(st.tuples(name, raw_value()), min_size=1, max_size=6))
    return b"&".join(k + b"=" + v for k, v in pairs)


def latin1(raw: bytes) -> str:
    """The WSGI native string of raw bytes (PEP 3333), for QUERY_STRING and PATH_INFO."""
    return raw.decode("latin-1")
