"""Reading the tables ``idp ... list`` prints, and proving their columns line up."""

from __future__ import annotations

import re
from dataclasses import dataclass

from idp.cli.output import width


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


def _starts(line: str) -> list[int]:
    """Where each column starts in a header line: after two spaces or more."""
    return [0] + [m.end() for m in re.finditer(r" {2,}", line)]


def columns(text: str) -> Table:
    """Split a printed table into cells by the header's column starts, asserting that every
    row's cells start exactly there (aligned) and that no cell is blank."""
    lines = text.splitlines()
    assert lines, "no table printed"
    starts = _starts(lines[0])
    header = re.split(r" {2,}", lines[0].strip())
    assert len(header) == len(starts)
    assert all(name == name.upper() for name in header), lines[0]
    rows = []
    for line in lines[1:]:
        cells = []
        for i, start in enumerate(starts):
            # Columns are measured in terminal cells: find the character at that width.
            index = _index_at_width(line, start)
            end = _index_at_width(line, starts[i + 1]) if i + 1 < len(starts) else len(line)
            assert index == 0 or line[index - 2 : index] == "  ", f"misaligned: {line!r}"
            assert index < len(line) and line[index] != " ", f"misaligned: {line!r}"
            cells.append(line[index:end].strip())
        rows.append(cells)
    return Table(header, rows)


def _index_at_width(line: str, columns_: int) -> int:
    for index in range(len(line) + 1):
        if width(line[:index]) >= columns_:
            return index
    return len(line)
