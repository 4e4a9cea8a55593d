"""Text folding shared by storage and search: one rule, so a stored key and a typed query meet."""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str | None:
    """Case- and accent-insensitive form of a name: ``Éloïse`` and ``eloise`` fold alike.

    NFKD splits accented letters into a base and combining marks, which are dropped; casefold
    then handles ``ß`` and the like. Inner whitespace collapses to one space.
    """
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = " ".join(bare.casefold().split())
    return folded or None
