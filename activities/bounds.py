"""Bounds on what a request may carry: short names, and free-form mappings of limited size.

Plain pydantic, no I/O: the contracts (which workflows import) and the API schemas use these,
so every string, list and mapping a caller sends has a stated limit in the OpenAPI schema too.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from trading.errors import InvalidInput
from trading.timeframes import PATTERN as TIMEFRAME_PATTERN
from trading.timeframes import parse_timeframe

# Keys of a free-form mapping (``params``, ``risk``, ``breakers``, ``fixed``) at most, and the size
# of the whole mapping as compact JSON, and how deeply it may nest.
MAX_KEYS = 64
MAX_JSON_BYTES = 16 * 1024
MAX_DEPTH = 8

# A decimal amount sent as a string ("100000.5") is stated to be at most this long.
MAX_NUMBER_CHARS = 40

# A name as the API takes it: a strategy type, a venue, a symbol, a parameter.
Name = Annotated[str, Field(min_length=1, max_length=64)]
Symbol = Annotated[str, Field(min_length=1, max_length=64)]


def _known_timeframe(value: str) -> str:
    try:
        return parse_timeframe(value).text
    except InvalidInput as e:
        raise ValueError(str(e)) from None


# A bar timeframe ("1m", "4h", "1d"), normalised; an unknown one is refused naming the known forms.
Timeframe = Annotated[
    str,
    Field(min_length=2, max_length=8, examples=["1d"], json_schema_extra={"pattern": TIMEFRAME_PATTERN}),
    AfterValidator(_known_timeframe),
]


def _depth(value: Any, level: int = 0) -> int:
    """How deeply ``value`` nests (a scalar is 0), stopping once past MAX_DEPTH."""
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list | tuple):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def small_mapping(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse a mapping whose JSON is over MAX_JSON_BYTES or nests deeper than MAX_DEPTH."""
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"nests deeper than {MAX_DEPTH} levels")
    size = len(json.dumps(value, default=str, separators=(",", ":")).encode())
    if size > MAX_JSON_BYTES:
        raise ValueError(f"is {size} bytes as JSON, over the {MAX_JSON_BYTES} allowed")
    return value


def decimal_pattern(number: dict[str, Any]) -> str:
    """The form of a decimal string within the bounds of its number schema: signed unless it has a
    lower bound of 0, non-zero when that bound is exclusive, with no more whole digits than its
    upper bound allows (a little stricter than the bound itself), at most 18 decimal places."""
    top = number.get("maximum", number.get("exclusiveMaximum"))
    whole = 20 if top is None else max(len(str(int(top))) - 1, 0)
    fraction = r"(\.[0-9]{1,18})?"
    if number.get("exclusiveMinimum") == 0:
        below_one = r"0?\.[0-9]{0,17}[1-9]"
        return rf"^([1-9][0-9]{{0,{whole - 1}}}{fraction}|{below_one})$" if whole else rf"^{below_one}$"
    sign = "" if number.get("minimum") == 0 else "-?"
    return rf"^{sign}[0-9]{{1,{max(whole, 1)}}}{fraction}$"


def decimal_string(schema: dict[str, Any]) -> None:
    """State the length and form of a decimal's string branch in its JSON schema (from the bounds of
    its number branch)."""
    branches = schema.get("anyOf", [])
    number: dict[str, Any] = next((b for b in branches if b.get("type") == "number"), {})
    for branch in branches:
        if branch.get("type") == "string":
            branch.update(maxLength=MAX_NUMBER_CHARS, pattern=decimal_pattern(number))


# An exact amount that fits the store's NUMERIC(38, 18): a JSON number, or a decimal string. No
# validator comes before the constraints, so a field's own bounds (gt, le) reach the JSON schema.
Amount = Annotated[
    Decimal, Field(allow_inf_nan=False, max_digits=38, decimal_places=18, json_schema_extra=decimal_string)
]


# A free-form mapping: at most MAX_KEYS keys of at most 64 characters, MAX_JSON_BYTES in all.
FreeMapping = Annotated[
    dict[Name, Any],
    Field(max_length=MAX_KEYS, description="at most 64 keys, 16 KiB as JSON, 8 levels deep"),
    AfterValidator(small_mapping),
]
