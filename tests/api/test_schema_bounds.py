"""Request models bound what they take, and the OpenAPI document says so (no server needed)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from activities.bounds import FreeMapping
from api.app import create_app
from api.openapi import BODY_SCHEMAS, QUERIES
from api.schemas import RISK_SCHEMA, HubHaltBody, StrategyCreate, parse_interval
from tests.scaling import FACTOR, LINEAR_AT_MOST, growth
from trading.risk import RiskLimits
from worker.settings import Settings


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("500ms", 0.5),
        ("5s", 5.0),
        ("1.5m", 90.0),
        ("1h", 3600.0),
        (" 2 s\n", 2.0),
        ("10", 10.0),
        (3, 3.0),
        (0.05, 0.05),
        ("7h", 7 * 3600.0),
    ],
)
def test_durations_parse_to_seconds(value: object, seconds: float) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("fast", "interval 'fast' is not a duration"),
        ("-1s", "interval '-1s' is not a duration"),
        ("1e3", "interval '1e3' is not a duration"),
        ("5sm", "interval '5sm' is not a duration"),
        ("", "interval '' is not a duration"),
        (0, "interval must be between 50ms and 7 days, got 0s"),
        ("8d", "interval '8d' is not a duration"),
        ("169h", "interval must be between 50ms and 7 days, got 608400s"),
        (float("nan"), "interval must be between 50ms and 7 days, got a number out of range"),
        (10**400, "interval must be between 50ms and 7 days, got a number out of range"),
        (True, "interval must be a number of seconds"),
        (None, "interval must be a number of seconds"),
        ("1" * 33, "interval is 33 characters long; a duration has at most 32"),
    ],
)
def test_bad_durations_are_refused_with_a_reason(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        parse_interval(value)


HOSTILE_DURATIONS = {  # a hostile duration of about n characters
    "digits": lambda n: "1" * n + "s",
    "spaces": lambda n: " " * n + "1s",
    "almost": lambda n: "1" * 31 + "x" * (n - 31),
    "decimals": lambda n: "0." + "0" * n,
}


@pytest.mark.parametrize("make", HOSTILE_DURATIONS.values(), ids=HOSTILE_DURATIONS.keys())
def test_a_hostile_duration_is_refused_in_linear_time(make: Callable[[int], str]) -> None:
    bodies = {n: {"reason": "probe", "ack_timeout": make(n)} for n in (125_000, FACTOR * 125_000)}

    def refuse(n: int) -> None:
        with pytest.raises(ValidationError):
            HubHaltBody.model_validate(bodies[n])

    assert growth(refuse, 125_000) < LINEAR_AT_MOST


def test_a_halt_waits_at_most_an_hour_for_acknowledgements() -> None:
    assert HubHaltBody.model_validate({"reason": "r", "ack_timeout": "1h"}).ack_timeout == 3600.0
    with pytest.raises(ValidationError, match="ack_timeout must be between 50ms and 1h, got 3601s"):
        HubHaltBody(reason="r", ack_timeout=3601)


class _Free(BaseModel):
    params: FreeMapping = Field(default_factory=dict)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({f"k{i}": i for i in range(65)}, "at most 64 items"),
        ({"k": "x" * 20_000}, "is 20008 bytes as JSON, over the 16384 allowed"),
        ({"k": [[[[[[[[[1]]]]]]]]]}, "nests deeper than 8 levels"),
        ({"x" * 65: 1}, "at most 64 characters"),
    ],
)
def test_free_form_mappings_are_bounded(params: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        _Free(params=params)


def test_a_mapping_within_the_bounds_is_kept_as_given() -> None:
    params = {f"k{i}": {"a": [1, 2, {"b": "c"}]} for i in range(64)}
    assert _Free(params=params).params == params


def test_symbols_repeat_or_run_long_only_with_a_reason() -> None:
    base = {"name": "n", "type": "sma_cross"}
    with pytest.raises(ValidationError, match="symbols must not repeat"):
        StrategyCreate.model_validate(base | {"symbols": ["A/B", "A/B"]})
    with pytest.raises(ValidationError, match="at most 64 characters"):
        StrategyCreate.model_validate(base | {"symbols": ["x" * 65]})
    with pytest.raises(ValidationError, match="no more than 38 digits"):
        StrategyCreate.model_validate(base | {"symbols": ["A/B"], "capital": "1" * 41})


def test_the_documented_risk_limits_are_the_ones_parsed() -> None:
    assert set(RISK_SCHEMA["properties"]) == {f.name for f in dataclasses.fields(RiskLimits)}


def _schema(tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return create_app(Settings(home=tmp_path, **settings)).openapi()


def _request_schemas(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every schema a request may carry (parameters and bodies, references followed), by where."""
    components = schema["components"]["schemas"]
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()

    def walk(node: Any, where: str) -> None:
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(components[name], name)
            return
        out.append((where, node))
        # A bound beside "anyOf" holds for every branch of its type.
        inherited = {k: v for k, v in node.items() if k in ("maxLength", "pattern", "maxItems")}
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key, []):
                walk(inherited | sub if "$ref" not in sub else sub, where)
        for sub in node.get("prefixItems", []):
            walk(sub, where)
        walk(node.get("items"), where + "[]")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], where + "{}")
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{where}.{name}")

    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                walk(param["schema"], f"{method.upper()} {path} {param['name']}")
            for media in op.get("requestBody", {}).get("content", {}).values():
                walk(media.get("schema"), f"{method.upper()} {path} body")
    return out


# Decimal strings are bounded (38 digits) everywhere but in the scan's volume filter, which takes
# any size ("1e30"); CSV bodies by the upload cap (413), in bytes.
UNBOUNDED_STRINGS = {
    "ScanCriteria-Input.min_quote_volume",
    "GET /scan min_volume",
    "POST /data/import body",
    "POST /data/files body",
}


def test_every_request_string_list_and_mapping_states_its_bound(tmp_path: Path) -> None:
    missing = []
    for where, node in _request_schemas(_schema(tmp_path)):
        kind = node.get("type")
        if kind == "string" and not {"maxLength", "enum", "const", "format"} & set(node):
            missing.append(f"{where}: maxLength")
        if kind == "array" and "maxItems" not in node:
            missing.append(f"{where}: maxItems")
        if node.get("additionalProperties") not in (None, False) and "maxProperties" not in node:
            missing.append(f"{where}: maxProperties")
    assert sorted(m for m in missing if m.rsplit(":", 1)[0] not in UNBOUNDED_STRINGS) == []


def test_no_constraint_is_left_out_of_the_json_schema(tmp_path: Path) -> None:
    # A constraint pydantic cannot place (after a validator) lands as an unknown key, e.g. "ge".
    stray = [
        f"{where}: {key}"
        for where, node in _request_schemas(_schema(tmp_path))
        for key in ("ge", "gt", "le", "lt", "max_length", "min_length", "allow_inf_nan")
        if key in node
    ]
    assert stray == []


def test_the_venues_a_request_may_name_are_listed(tmp_path: Path) -> None:
    schema = _schema(tmp_path, exchanges={"binance": {"ccxt_id": "binance", "testnet": True}})
    components = schema["components"]["schemas"]
    for name, stored in BODY_SCHEMAS.items():
        expected = ["paper", "binance", "csv"] if stored else ["paper", "binance"]
        assert components[name]["properties"]["exchange"]["enum"] == expected, name
    for (path, method), stored in QUERIES.items():
        [param] = [p for p in schema["paths"][path][method]["parameters"] if p["name"] == "exchange"]
        assert param["schema"]["enum"] == (["paper", "binance", "csv"] if stored else ["paper", "binance"])


def test_the_422_body_is_documented_as_answered(tmp_path: Path) -> None:
    body = _schema(tmp_path)["components"]["schemas"]["HTTPValidationError"]
    assert body["required"] == ["detail"] and body["properties"]["detail"] == {
        "type": "string",
        "title": "Detail",
    }
