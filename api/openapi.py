"""The OpenAPI document as served: what the schemas alone cannot say, added once the app is built.

- the venues each ``exchange`` field may name (an ``enum``: they come from the settings), and
  the most ``GET /scan`` refines (``ASTS_SCAN_MAX_REFINE``);
- the error body the app really answers on 422 (``api.app``'s handler: ``detail`` as one
  sentence and ``errors`` as a list), instead of FastAPI's default ``HTTPValidationError``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.exchanges import venue_names
from worker.settings import Settings

# Where requests name a venue, as the OpenAPI document has them, and whether "csv" is allowed
# there: request bodies' schemas (components) and operations' query parameters.
BODY_SCHEMAS = {
    "StrategyCreate": False,
    "AnalyzeBody": False,
    "ReconcileBody": False,
    "BackfillInput": False,
    "StoreSeries": True,
}
QUERIES = {
    ("/markets", "get"): False,
    ("/scan", "get"): False,
    ("/data/candles", "get"): True,
    ("/data/gaps", "get"): True,
    ("/data/import", "post"): True,
}
# Every error answer: a reason; a refused request's reasons one by one; a domain error's kind; the
# line of a CSV at fault.
ERROR_BODY: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "title": "Detail"},
        "errors": {"type": "array", "items": {"type": "string"}, "title": "Errors"},
        "type": {"type": "string", "title": "Type"},
        "line": {"type": "integer", "title": "Line"},
    },
}


def _add_venues(schema: dict[str, Any], settings: Settings) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for name, stored in BODY_SCHEMAS.items():
        field = components.get(name, {}).get("properties", {}).get("exchange")
        if field is not None:
            field["enum"] = venue_names(settings, stored=stored)
    for (path, method), stored in QUERIES.items():
        for param in schema.get("paths", {}).get(path, {}).get(method, {}).get("parameters", []):
            if param.get("name") == "exchange" and param.get("in") == "query":
                param["schema"]["enum"] = venue_names(settings, stored=stored)
    for param in schema.get("paths", {}).get("/scan", {}).get("get", {}).get("parameters", []):
        if param.get("name") == "refine":  # the schema's own bound is ScanCriteria's, for strategies
            param["schema"]["maximum"] = settings.scan_max_refine


def document_api(app: FastAPI, settings: Settings) -> None:
    """Make the app's OpenAPI document state the venues and the error body (wraps ``app.openapi``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        _add_venues(schema, settings)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "HTTPValidationError" in components:  # every 422 refers to it
            components["HTTPValidationError"] = ERROR_BODY
            components.pop("ValidationError", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
