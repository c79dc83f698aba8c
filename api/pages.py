"""The pages the API serves to a browser: its documentation and the console, all from local files.

- ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) load their scripts and styles from this process
  (the assets of the ``fastapi-offline`` package), so they work on a machine without internet;
  the page's start-up script is a file too, so the docs' policy allows no inline script.
- ``/console`` is the console's built single-page app (``console/dist``, or
  ``ASTS_CONSOLE_DIR``): a file under ``assets/`` is served as it is (hashed names, cached for a
  year), any other path answers ``index.html`` so the app's own router shows the page.
  ``/`` redirects there.

Every name is checked before it touches the disk: no path can leave the directory served.
"""

from __future__ import annotations

import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from worker.settings import Settings

DOC_ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
DOC_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
# Started by a file, not an inline script, so the docs' policy needs no 'unsafe-inline' for scripts.
SWAGGER_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""
SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ASTS API</title>
<link rel="icon" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-init.js"></script></body></html>
"""
REDOC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ASTS API</title>
<link rel="icon" href="/docs/assets/favicon.png"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script></body></html>
"""
DEFAULT_CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console" / "dist"
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
YEAR = "public, max-age=31536000, immutable"
# The paths of this module's routes: no role, as they serve files any browser may load.
PAGE_PATHS = frozenset({"/", "/docs", "/redoc", "/docs/assets/{name}", "/console", "/console/{path:path}"})


def console_dir(settings: Settings) -> Path:
    """Where the console's built files are."""
    return (settings.console_dir or DEFAULT_CONSOLE_DIR).resolve()


def _file_under(root: Path, path: str) -> Path | None:
    """The regular file ``path`` names under ``root``, or None (a part that is not a plain name)."""
    parts = path.split("/")
    if not all(SAFE_NAME.fullmatch(p) for p in parts):
        return None
    found = (root / Path(*parts)).resolve()
    return found if found.is_relative_to(root) and found.is_file() else None


def add_pages(app: FastAPI, settings: Settings) -> None:
    """Serve the docs and the console (``create_app`` made the app with FastAPI's docs off)."""
    root = console_dir(settings)

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE)

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def doc_asset(name: str) -> Response:
        if name == "swagger-init.js":
            return Response(SWAGGER_INIT, media_type="text/javascript")
        if name not in DOC_ASSETS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no documentation asset {name[:100]!r}")
        return FileResponse(
            DOC_ASSETS_DIR / name, media_type=DOC_ASSETS[name], headers={"Cache-Control": YEAR}
        )

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console/", status.HTTP_307_TEMPORARY_REDIRECT)

    def index() -> Response:
        page = root / "index.html"
        if not page.is_file():
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail="the console is not built: run `make console` (npm ci && npm run build in console/)",
            )
        return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})

    @app.get("/console", include_in_schema=False)
    async def console_home() -> Response:
        return index()

    @app.get("/console/{path:path}", include_in_schema=False)
    async def console_page(path: str) -> Response:
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            found = _file_under(root, path)
            if found is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no console file {path[:100]!r}")
            cache = YEAR if path.startswith("assets/") else "no-cache"
            return FileResponse(found, headers={"Cache-Control": cache})
        return index()  # a page of the app: its router shows it
