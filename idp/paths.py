"""Where templates and migrations live: the repository in a checkout, the package in a wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def templates() -> Path:
    return _first_existing(PACKAGE.parent / "templates", PACKAGE / "_templates")


def migrations() -> Path:
    return _first_existing(PACKAGE.parent / "migrations", PACKAGE / "_migrations")


def translations() -> Path:
    return PACKAGE / "translations"
