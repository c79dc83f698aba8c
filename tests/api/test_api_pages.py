"""The pages the API serves a browser: the docs from local assets, the console's files, nothing else."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from tests.api.live import serve_api

INDEX = (
    '<!doctype html><html><head><script type="module" src="/console/assets/app-1a2b.js">'
    "</script></head></html>"
)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built console's layout: index.html, hashed assets, a top-level file; a secret beside it."""
    root = tmp_path_factory.mktemp("console")
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app-1a2b.js").write_text("console.log('console')")
    (dist / "assets" / "app-1a2b.css").write_text("body{}")
    (dist / "favicon.svg").write_text("<svg/>")
    (root / "secret.txt").write_text("not served")
    (dist / "assets" / "link.js").symlink_to(root / "secret.txt")
    return dist


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_url(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, console: Path
) -> AsyncIterator[str]:
    async with serve_api(dev_env, tmp_path_factory.mktemp("pages"), worker=False, console_dir=console) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def anon(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """No token: a browser loading the pages."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        yield http


def _local_refs(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_docs_load_every_asset_from_this_api(anon: httpx.AsyncClient, path: str) -> None:
    page = await anon.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text  # nothing from outside the machine
    assert "<script>" not in page.text  # no inline script: the policy allows none
    refs = _local_refs(page.text)
    assert refs and all(r.startswith("/docs/assets/") for r in refs), refs
    for ref in refs:
        asset = await anon.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 20, ref
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "http" not in csp


async def test_swagger_starts_from_the_openapi_document(anon: httpx.AsyncClient) -> None:
    init = await anon.get("/docs/assets/swagger-init.js")
    assert init.status_code == 200 and '"/openapi.json"' in init.text
    bundle = await anon.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text[:200_000] and bundle.headers["cache-control"].endswith(
        "immutable"
    )
    assert (await anon.get("/docs/assets/pages.py")).status_code == 404
    assert (await anon.get("/docs/assets/..%2Fpages.py")).status_code == 404


async def test_the_root_opens_the_console(anon: httpx.AsyncClient) -> None:
    r = await anon.get("/")
    assert r.status_code == 307 and r.headers["location"] == "/console/"


@pytest.mark.parametrize("path", ["/console", "/console/", "/console/strategies", "/console/strategies/s1"])
async def test_every_page_of_the_app_answers_its_index(anon: httpx.AsyncClient, path: str) -> None:
    r = await anon.get(path)
    assert r.status_code == 200 and r.text == INDEX
    assert r.headers["cache-control"] == "no-cache"  # a new build is picked up at once
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp and "connect-src 'self'" in csp


async def test_assets_are_served_and_cached(anon: httpx.AsyncClient) -> None:
    js = await anon.get("/console/assets/app-1a2b.js")
    assert js.status_code == 200 and js.text == "console.log('console')"
    assert "javascript" in js.headers["content-type"] and js.headers["cache-control"].endswith("immutable")
    css = await anon.get("/console/assets/app-1a2b.css")
    assert css.headers["content-type"].startswith("text/css")
    icon = await anon.get("/console/favicon.svg")
    assert icon.status_code == 200 and icon.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/console/assets/missing.js",
        "/console/assets/link.js",  # a symlink out of the directory
        "/console/assets/..%2F..%2Fsecret.txt",
        "/console/..%2Fsecret.txt",
        "/console/assets/.hidden.js",
        "/console/assets//app-1a2b.js",
    ],
)
async def test_nothing_outside_the_built_files_is_served(anon: httpx.AsyncClient, path: str) -> None:
    r = await anon.get(path)
    assert r.status_code == 404, (path, r.text)
    assert "not served" not in r.text


async def test_an_unbuilt_console_says_how_to_build_it(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with serve_api(dev_env, tmp_path / "home", worker=False, console_dir=tmp_path / "none") as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            r = await http.get("/console/desk")
    assert r.status_code == 503 and "make console" in r.json()["detail"]
