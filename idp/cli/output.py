"""How every ``idp`` command prints: tables with a header and aligned columns for people,
JSON for scripts (one object, or one object per line for lists, so a long list streams).

Plain text on purpose: no colours or box drawing, so the output greps, pipes and pastes into a
ticket as it is; a table is columns of text separated by two spaces, ``-`` for an empty cell.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import click

GAP = "  "
# Widths are measured on this many rows, so a list of a million rows still streams; a longer
# cell further down pushes the rest of its own line to the right and changes nothing else.
SAMPLE = 500


def cell(value: object) -> str:
    """One value as a table shows it: yes/no, times to the minute in UTC, lists spaced."""
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%MZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return " ".join(cell(v) for v in value)
    # A newline or tab in a stored value would break the row apart.
    return " ".join(str(value).split())


def to_the_second(value: datetime) -> str:
    """A time where the minute is not enough (an event in a timeline), in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def width(text: str) -> int:
    """Columns a terminal gives the text: East Asian wide letters take two, accents none."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [c + " " * max(0, w - width(c)) for c, w in zip(cells[:-1], widths, strict=False)]
    return GAP.join([*padded, cells[-1]]).rstrip()


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str) -> None:
    """Print ``rows`` under ``headers``; with no rows, nothing on stdout and ``empty`` on stderr
    (a script reading the list sees an empty list, a person sees why)."""
    iterator = iter(rows)
    sample: list[list[str]] = []
    for row in iterator:
        sample.append([cell(v) for v in row])
        if len(sample) >= SAMPLE:
            break
    if not sample:
        click.echo(empty, err=True)
        return
    widths = [max(width(r[i]) for r in [list(headers), *sample]) for i in range(len(headers))]
    click.echo(_line(list(headers), widths))
    for cells in sample:
        click.echo(_line(cells, widths))
    for row in iterator:
        click.echo(_line([cell(v) for v in row], widths))


def fields(pairs: Iterable[tuple[str, object]]) -> None:
    """One record as ``label:  value`` lines, the labels aligned."""
    items = [(label, cell(value)) for label, value in pairs]
    if not items:
        return
    size = max(width(label) for label, _ in items) + 1
    for label, value in items:
        click.echo(f"{label + ':':<{size}}{GAP}{value}")


def jsonable(value: Any) -> Any:
    """Dates as ISO 8601 (UTC), the rest as JSON holds it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def json_object(value: Any) -> None:
    click.echo(json.dumps(jsonable(value), indent=2))


def json_lines(values: Iterable[Any]) -> None:
    for value in values:
        click.echo(json.dumps(jsonable(value)))
