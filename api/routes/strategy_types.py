"""``GET /strategy-types``: every strategy type this API loaded, with its params' JSON Schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from api.auth.deps import VIEWER
from api.schemas import StrategyTypePublic, StrategyTypesPublic
from asts.registry import StrategyType, current
from trading.errors import UnknownStrategyType

router = APIRouter(prefix="/strategy-types", tags=["strategies"])

TypeName = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")]


def _public(t: StrategyType) -> StrategyTypePublic:
    defaults = t.parse_params({})
    return StrategyTypePublic(
        name=t.name,
        description=t.description,
        source=t.source,
        origin=t.origin,
        code_version=t.version,
        warmup=t.cls.warmup_of(defaults),
        params_schema=t.params_schema(),
        defaults=defaults.model_dump(mode="json"),
    )


@router.get("", response_model=StrategyTypesPublic, dependencies=[VIEWER])
async def list_strategy_types() -> StrategyTypesPublic:
    """Every type (built-in, from a strategy file, from an installed package), by name."""
    types = [_public(t) for _, t in sorted(current().types.items())]
    return StrategyTypesPublic(data=types, count=len(types))


@router.get("/{name}", response_model=StrategyTypePublic, dependencies=[VIEWER])
async def get_strategy_type(name: TypeName) -> StrategyTypePublic:
    """One type (404 when no such type is loaded)."""
    try:
        return _public(current().get(name))
    except UnknownStrategyType as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(e)) from None
