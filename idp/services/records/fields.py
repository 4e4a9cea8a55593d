"""The profile fields a merge lets an admin choose between, and how their values are kept in a
merge's undo data (JSON) so an undo puts back exactly what was there.

A verification flag travels with its value: taking the absorbed record's email takes whether
that address was verified too, so a merge never makes an unverified address look verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from idp.errors import ValidationError
from idp.models import Customer

SURVIVOR = "survivor"
ABSORBED = "absorbed"

# What the side-by-side view shows, in this order.
SHOWN = (
    "email",
    "email_verified",
    "phone",
    "phone_verified",
    "given_name",
    "family_name",
    "birthdate",
    "address",
    "locale",
)

# Each choice and the columns it carries.
CHOICES: dict[str, tuple[str, ...]] = {
    "email": ("email", "email_normalized", "email_verified"),
    "phone": ("phone", "phone_verified"),
    "given_name": ("given_name",),
    "family_name": ("family_name",),
    "birthdate": ("birthdate",),
    "address": ("address",),
    "locale": ("locale",),
}

# What an absorbed record keeps of its own while it is an alias, restored by an undo.
ABSORBED_COLUMNS = ("email_normalized", "status", "merged_into_id", "updated_at")


def dump(column: str, value: Any) -> Any:
    """A column's value as JSON holds it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def load(column: str, value: Any) -> Any:
    """The inverse of ``dump``, by the column's type."""
    if value is None:
        return None
    if column == "birthdate":
        return date.fromisoformat(value)
    if column in ("updated_at", "granted_at", "withdrawn_at"):
        return datetime.fromisoformat(value)
    return value


def values(customer: Customer) -> dict[str, Any]:
    return {name: getattr(customer, name) for name in SHOWN}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {}


def suggested(survivor: Customer, absorbed: Customer) -> dict[str, str]:
    """The survivor's value, unless it has none and the absorbed record has one."""
    return {
        name: ABSORBED
        if _empty(getattr(survivor, name)) and not _empty(getattr(absorbed, name))
        else SURVIVOR
        for name in CHOICES
    }


def chosen(
    choices: Mapping[str, str] | None, survivor: Customer, absorbed: Customer
) -> dict[str, str]:
    """The admin's choices checked, every field left out filled with the suggestion."""
    given = dict(choices or {})
    errors = {
        name: "Choose 'survivor' or 'absorbed'."
        for name, side in given.items()
        if name in CHOICES and side not in (SURVIVOR, ABSORBED)
    }
    for name in given:
        if name not in CHOICES:
            errors[name] = (
                "This value follows its field." if name in SHOWN else "Not a field to choose."
            )
    if errors:
        raise ValidationError(errors)
    return {**suggested(survivor, absorbed), **given}


def snapshot(customer: Customer, columns: tuple[str, ...]) -> dict[str, Any]:
    return {column: dump(column, getattr(customer, column)) for column in columns}


def columns_of(customer: Customer) -> dict[str, Any]:
    """Every column a choice can carry, read before the merge frees the absorbed email key."""
    return {column: getattr(customer, column) for cols in CHOICES.values() for column in cols}


def take(
    survivor: Customer, source: Mapping[str, Any], choices: Mapping[str, str]
) -> dict[str, Any]:
    """Copy onto the survivor the columns of every field chosen from the absorbed record
    (``source``, from ``columns_of``); the survivor's values before, for those that changed."""
    before: dict[str, Any] = {}
    for name, side in choices.items():
        if side != ABSORBED:
            continue
        for column in CHOICES[name]:
            if getattr(survivor, column) != source[column]:
                before[column] = dump(column, getattr(survivor, column))
                setattr(survivor, column, source[column])
    return before
