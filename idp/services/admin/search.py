"""Finding any customer fast: by email, phone, name, public id or a linked account's source id.

One page is one SQL statement, built as a ``UNION ALL`` of *branches*, one per way the query can
match (the given name, the family name, a source id...). Each branch reads one index in order
and stops after ``limit + 1`` rows, so a page costs a few index probes whatever the table size;
the outer query merges the branches and joins the customer rows (and a merged record's
survivor) once. A customer matching several branches is kept by the first only: each branch
excludes the rows of those before it, so every result has one sort key and pages never repeat.

Pages are keyset-paged on ``(rank, key, customer.id)``, never ``OFFSET``. ``key`` is compared
byte-wise (``~<~`` / ``~>~`` on PostgreSQL, SQLite's BINARY collation), the order of the
``varchar_pattern_ops`` prefix indexes: a scan of ``given_key LIKE 'jea%'`` then comes out of
the index already sorted. The cursor is signed with the app's secret and bound to the search
that made it, so a forged or reused cursor is a ``ValidationError``, not a 500.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import phonenumbers
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from idp import security
from idp.errors import ValidationError
from idp.extensions import db
from idp.models import Customer, CustomerStatus, LinkedAccount
from idp.services import customers
from idp.text import fold

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# The longest identifier stored (an email, 320 characters); anything longer matches nothing.
MAX_QUERY_LENGTH = 320
# "Maria de los Angeles Garcia Lopez": six words. Each more word adds two index probes.
MAX_WORDS = 6
MAX_CURSOR_LENGTH = 1024
CURSOR_SALT = "idp.admin.search.cursor"

# Characters a phone number is written with; the digits decide, the rest is punctuation.
_PHONE_LIKE = re.compile(r"[+0-9\s().\-/]+")
# Controls other than the whitespace a paste may bring: never part of any stored identifier.
_WHITESPACE_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85")


class SearchKind(StrEnum):
    AUTO = "auto"
    EMAIL = "email"
    PHONE = "phone"
    NAME = "name"
    ID = "id"
    SOURCE_ID = "source_id"


class MatchReason(StrEnum):
    """Why a customer is in the results, shown beside it."""

    EMAIL = "email"  # the normalized address, exactly
    EMAIL_PREFIX = "email_prefix"
    PHONE = "phone"  # the E.164 number, exactly
    GIVEN_NAME = "given_name"  # one word, the start of the given name
    FAMILY_NAME = "family_name"  # one word, the start of the family name
    NAME = "name"  # given and family name, in either order
    ID = "id"  # the public id, exactly (also an alias left by a merge)
    MERGED_INTO = "merged_into"  # the survivor of the merged record searched by id
    SOURCE_ID = "source_id"  # a linked account's id in another system


@dataclass(frozen=True)
class Match:
    customer: Customer
    reason: MatchReason
    # The source system of a source-id match ("loyalty"); None for other reasons.
    detail: str | None = None
    # The survivor's public id when ``customer`` is an alias left by a merge.
    merged_into: str | None = None


@dataclass(frozen=True)
class SearchPage:
    results: list[Match]
    # Pass as ``after`` for the next page; None on the last page.
    next_cursor: str | None
    # What the query was understood as (never ``auto``).
    kind: SearchKind


# Ranks order the groups of a page: exact identifiers first, prefixes and names after.
_EXACT, _SURVIVOR, _SOURCE, _PREFIX = 0, 1, 2, 3


@dataclass(frozen=True)
class _Branch:
    """One way to match: a condition on ``customer``, paged by ``key`` (or the id alone)."""

    rank: int
    reason: MatchReason
    where: ColumnElement[bool]
    key: Any = None  # a Customer column compared byte-wise, or None: one key for all rows
    detail: Any = None  # a column expression shown beside the match
    # An exact id search shows the record it names even when it was merged away.
    shows_merged: bool = False


@dataclass(frozen=True)
class _Cursor:
    rank: int
    key: str
    id: int


@dataclass(frozen=True)
class _Plan:
    kind: SearchKind
    branches: list[_Branch] = field(default_factory=list)


def search(
    query: str,
    *,
    kind: str = "auto",
    after: str | None = None,
    limit: int = DEFAULT_LIMIT,
    include_merged: bool = False,
) -> SearchPage:
    """One page of customers matching ``query`` read as ``kind`` (see the module docstring).

    Merged records are left out unless ``include_merged``, or unless searched by their exact
    id, which lists the alias (status merged) and its survivor. Bad input raises
    ``ValidationError`` before any SQL is sent.
    """
    wanted = _kind(kind)
    text = _clean(query)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": _l("Between 1 and %(n)d results a page.", n=MAX_LIMIT)})
    binding = _binding(wanted, text, include_merged)
    cursor = _read_cursor(after, binding) if after is not None else None
    plan = _plan(text, wanted)
    if not plan.branches:
        return SearchPage(results=[], next_cursor=None, kind=plan.kind)

    pg = db.session.get_bind().dialect.name == "postgresql"
    rows = db.session.execute(_statement(plan.branches, cursor, limit, include_merged, pg)).all()
    results = [
        Match(
            customer=row[0],
            reason=MatchReason(row.reason),
            detail=row.detail,
            merged_into=row.survivor,
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _write_cursor(_Cursor(last.rank, last.key, last[0].id), binding)
    return SearchPage(results=results, next_cursor=next_cursor, kind=plan.kind)


# -- reading the query ---------------------------------------------------------------------


def _kind(kind: str) -> SearchKind:
    try:
        return SearchKind(kind)
    except ValueError:
        raise ValidationError({"kind": _l("Unknown kind of search.")}) from None


def _clean(query: str) -> str:
    """The query stripped, or a ValidationError for what no identifier can hold.

    NUL and other controls cannot be stored in PostgreSQL text, and lone surrogates (invalid
    UTF-8 decoded with ``surrogateescape``) cannot even be encoded: both are refused here so
    the driver never sees them.
    """
    if not isinstance(query, str):
        raise ValidationError({"query": _l("Type what to search for.")})
    if len(query) > MAX_QUERY_LENGTH:
        raise ValidationError({"query": _l("At most %(n)d characters.", n=MAX_QUERY_LENGTH)})
    for ch in query:
        category = unicodedata.category(ch)
        if category == "Cs" or (category == "Cc" and ch not in _WHITESPACE_CONTROLS):
            raise ValidationError({"query": _l("The search contains characters it cannot.")})
    text = " ".join(query.split())
    if not text:
        raise ValidationError({"query": _l("Type what to search for.")})
    return text


def _plan(text: str, wanted: SearchKind) -> _Plan:
    if wanted is SearchKind.EMAIL:
        return _Plan(SearchKind.EMAIL, _email(text))
    if wanted is SearchKind.PHONE:
        number = _phone(text)
        if number is None:
            raise ValidationError({"query": _l("This is not a phone number.")})
        return _Plan(SearchKind.PHONE, [_phone_branch(number)])
    if wanted is SearchKind.NAME:
        return _Plan(SearchKind.NAME, _names(text))
    if wanted is SearchKind.ID:
        return _Plan(SearchKind.ID, _ids(text))
    if wanted is SearchKind.SOURCE_ID:
        return _Plan(SearchKind.SOURCE_ID, [_source_branch(text)])
    return _guess(text)


def _guess(text: str) -> _Plan:
    """``auto``: what the query looks like decides; a single word is also tried as a source
    id, since other systems' ids (card numbers, UUIDs, handles) look like anything."""
    single = " " not in text
    extra = [_source_branch(text)] if single else []
    if "@" in text:
        return _Plan(SearchKind.EMAIL, [*_email(text), *extra])
    if _uuid(text) is not None:
        return _Plan(SearchKind.ID, [*_ids(text), *extra])
    if _PHONE_LIKE.fullmatch(text) and sum(ch.isdigit() for ch in text) >= 3:
        number = _phone(text)
        if number is not None:
            return _Plan(SearchKind.PHONE, [_phone_branch(number), *extra])
        # Digits that are no phone number: a card or account number in another system.
        return _Plan(SearchKind.SOURCE_ID, [_source_branch(text)])
    return _Plan(SearchKind.NAME, [*extra, *_names(text)])


def _email(text: str) -> list[_Branch]:
    """A full address matches its normalized form exactly (plus-addressing kept, as stored);
    anything less is a prefix of the normalized form."""
    try:
        _display, key = customers.normalize_email(text)
    except ValidationError:
        prefix = text.casefold()
        return [
            _Branch(
                _PREFIX,
                MatchReason.EMAIL_PREFIX,
                Customer.email_normalized.like(_like_prefix(prefix), escape="\\"),
                key=Customer.email_normalized,
            )
        ]
    return [_Branch(_EXACT, MatchReason.EMAIL, Customer.email_normalized == key)]


def _phone(text: str) -> str | None:
    """E.164 of a number in any common format; national numbers are read in IDP_PHONE_REGION.

    Only valid numbers count, the rule ``customers.normalize_phone`` stores them by.
    """
    if len(text) > 64:
        return None
    try:
        number = phonenumbers.parse(text, current_app.config.get("PHONE_REGION", "FR"))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_branch(number: str) -> _Branch:
    return _Branch(_EXACT, MatchReason.PHONE, Customer.phone == number)


def _names(text: str) -> list[_Branch]:
    """One word: the start of the given or the family name. More: all words as the start of
    either name ("jean pierre"), or split into a given and a family part in either order
    ("DUPONT jean", "jean pierre dupont")."""
    words = (fold(text) or "").split()
    if not words:
        return []
    if len(words) > MAX_WORDS:
        raise ValidationError({"query": _l("At most %(n)d words.", n=MAX_WORDS)})
    given, family = Customer.given_key, Customer.family_key
    whole = " ".join(words)
    branches = [
        _Branch(_PREFIX, MatchReason.GIVEN_NAME, _starts(given, whole), key=given),
        _Branch(_PREFIX, MatchReason.FAMILY_NAME, _starts(family, whole), key=family),
    ]
    for i in range(1, len(words)):
        first, rest = " ".join(words[:i]), " ".join(words[i:])
        for g, f in ((first, rest), (rest, first)):
            branches.append(
                _Branch(
                    _PREFIX,
                    MatchReason.NAME,
                    sa.and_(_starts(given, g), _starts(family, f)),
                    key=family,
                )
            )
    return branches


def _uuid(text: str) -> str | None:
    """The canonical (lower-case, hyphenated) form public ids are stored in, or None."""
    if len(text) not in (32, 36, 38, 45):  # plain, hyphenated, {braced}, urn:uuid:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _ids(text: str) -> list[_Branch]:
    """The record with that public id, whatever its status, then the record it was merged
    into: an alias found by its id always shows where it went."""
    public_id = _uuid(text) or text
    alias = aliased(Customer)  # not correlated to the row being matched: the searched record
    survivor_id = (
        sa.select(alias.merged_into_id).where(alias.public_id == public_id).scalar_subquery()
    )
    return [
        _Branch(_EXACT, MatchReason.ID, Customer.public_id == public_id, shows_merged=True),
        _Branch(_SURVIVOR, MatchReason.MERGED_INTO, Customer.id == survivor_id, shows_merged=True),
    ]


def _source_branch(text: str) -> _Branch:
    """A linked account's source id exactly, in any source; ``source:id`` also names the
    source (the id itself may hold colons, so both readings are tried)."""
    matches = LinkedAccount.source_id == text
    source, colon, source_id = text.partition(":")
    if colon and source and source_id:
        matches = sa.or_(
            matches, sa.and_(LinkedAccount.source == source, LinkedAccount.source_id == source_id)
        )
    mine = sa.and_(LinkedAccount.customer_id == Customer.id, matches)
    return _Branch(
        _SOURCE,
        MatchReason.SOURCE_ID,
        sa.exists().where(mine),
        detail=sa.select(sa.func.min(LinkedAccount.source)).where(mine).scalar_subquery(),
    )


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern for ``prefix%`` that takes ``%`` and ``_`` in the query literally."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _starts(column: Any, prefix: str) -> ColumnElement[bool]:
    return column.like(_like_prefix(prefix), escape="\\")  # type: ignore[no-any-return]


# -- the statement -------------------------------------------------------------------------


class _Bytewise(ColumnElement[str]):
    """``column`` in ORDER BY, sorted byte-wise: ``USING ~<~`` on PostgreSQL, the order of a
    ``varchar_pattern_ops`` index, which a plain or ``COLLATE "C"`` ORDER BY cannot use."""

    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, element: ColumnElement[Any]) -> None:
        self.element = element
        self.type = element.type


@compiles(_Bytewise)
def _bytewise_default(element: _Bytewise, compiler: Any, **kw: Any) -> str:
    # SQLite compares text with memcmp (BINARY): already byte-wise.
    return str(compiler.process(element.element, **kw))


@compiles(_Bytewise, "postgresql")
def _bytewise_postgresql(element: _Bytewise, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.element, **kw)} USING ~<~"


def _after(column: Any, cursor: _Cursor, pg: bool) -> list[list[ColumnElement[bool]]]:
    """Rows after the cursor in (key, id) order, as two slices so each is an index range:
    the rest of the cursor's key (``key = k AND id > i``, which an index on (key, id) reads
    from the right entry on, however many customers share a first name) and the keys after it
    (``key ~>~ k``)."""
    key = sa.literal(cursor.key, sa.String)
    beyond = column.op("~>~", is_comparison=True)(key) if pg else column > key
    return [[column == key, Customer.id > cursor.id], [beyond]]


def _never_null(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    # NOT of a NULL match (given_key NULL, no survivor) must keep the row, not drop it.
    return sa.func.coalesce(condition, sa.false(), type_=sa.Boolean)


def _statement(
    branches: Sequence[_Branch],
    cursor: _Cursor | None,
    limit: int,
    include_merged: bool,
    pg: bool,
) -> sa.Select[Any]:
    parts = []
    earlier: list[ColumnElement[bool]] = []
    for branch in branches:
        conditions = [branch.where, *(sa.not_(_never_null(c)) for c in earlier)]
        earlier.append(branch.where)
        if not (include_merged or branch.shows_merged):
            conditions.append(Customer.status != CustomerStatus.MERGED.value)
        slices: list[list[ColumnElement[bool]]] = [[]]
        if cursor is not None:
            if branch.rank < cursor.rank:
                continue
            if branch.rank == cursor.rank:
                if branch.key is not None:
                    slices = _after(branch.key, cursor, pg)
                elif cursor.key == "":
                    slices = [[Customer.id > cursor.id]]
                else:
                    continue  # every row of this branch has key '' < cursor.key
        key = branch.key if branch.key is not None else sa.literal("", sa.String)
        detail = branch.detail if branch.detail is not None else sa.null()
        order = [_Bytewise(branch.key), Customer.id] if branch.key is not None else [Customer.id]
        for extra in slices:
            parts.append(
                sa.select(
                    Customer.id.label("id"),
                    sa.literal(branch.rank, sa.Integer).label("rank"),
                    sa.cast(key, sa.String).label("key"),
                    sa.literal(branch.reason.value, sa.String).label("reason"),
                    sa.cast(detail, sa.String).label("detail"),
                )
                .where(*conditions, *extra)
                .order_by(*order)
                .limit(limit + 1)
                .subquery()
            )
    if not parts:  # the cursor was past every branch
        parts.append(
            sa.select(
                Customer.id.label("id"),
                sa.literal(0, sa.Integer).label("rank"),
                sa.cast(sa.literal("", sa.String), sa.String).label("key"),
                sa.literal("", sa.String).label("reason"),
                sa.cast(sa.null(), sa.String).label("detail"),
            )
            .where(sa.false())
            .subquery()
        )
    matches = sa.union_all(*(sa.select(*p.c) for p in parts)).subquery("matches")
    survivor = aliased(Customer)
    return (
        sa.select(
            Customer,
            matches.c.rank,
            matches.c.key,
            matches.c.reason,
            matches.c.detail,
            survivor.public_id.label("survivor"),
        )
        .join(matches, Customer.id == matches.c.id)
        .outerjoin(survivor, survivor.id == Customer.merged_into_id)
        .order_by(matches.c.rank, _Bytewise(matches.c.key), matches.c.id)
        .limit(limit + 1)
    )


# -- the cursor ----------------------------------------------------------------------------


def _binding(kind: SearchKind, text: str, include_merged: bool) -> str:
    """What a cursor belongs to: the same search, so it cannot page another one."""
    return security.digest(f"{kind}\x00{int(include_merged)}\x00{text}")[:16]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CURSOR_SALT)


def _write_cursor(cursor: _Cursor, binding: str) -> str:
    return str(_serializer().dumps([binding, cursor.rank, cursor.key, cursor.id]))


def _read_cursor(raw: str, binding: str) -> _Cursor:
    problem = ValidationError({"after": _l("This page of results is no longer valid.")})
    if not isinstance(raw, str) or not raw or len(raw) > MAX_CURSOR_LENGTH:
        raise problem
    try:
        value: Any = _serializer().loads(raw)
    except (BadData, UnicodeError, ValueError):
        raise problem from None
    if not (
        isinstance(value, list)
        and len(value) == 4
        and value[0] == binding
        and type(value[1]) is int
        and isinstance(value[2], str)
        and type(value[3]) is int
    ):
        raise problem
    return _Cursor(rank=value[1], key=value[2], id=value[3])
