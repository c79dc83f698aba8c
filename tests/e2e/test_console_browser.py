"""The console in a real browser against the real stack: `asts up` on free ports, Debian's Chromium
driven by Playwright (never downloaded), the console built from console/ and served by the API.

Each test signs in through the login page as the user it needs, does what a desk does, and
checks what the page shows against what the API records. Set ASTS_SCREENSHOT_DIR to keep a
screenshot of every page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.pages import DEFAULT_CONSOLE_DIR
from tests.e2e.test_codec_ui import CHROMIUM_ARGS, SCREENSHOT_ENV, chromium
from tests.procs import free_port, kill_group, poll, spawn, wait_http

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect, sync_playwright

PASSWORD = "console test password 1"
USERS = {  # name: roles (desk1 starts strategies and is a risk officer too: four eyes stops it)
    "trader1": ["trader"],
    "desk1": ["trader", "risk"],
    "risk2": ["risk"],
    "viewer1": ["viewer"],
}
WAIT_MS = 60_000
SMA = {"fast": 2, "slow": 5, "size": "5"}


@dataclass
class Stack:
    """The running stack: its API's URL and an admin client for it."""

    url: str
    admin: httpx.Client

    def client(self, user: str) -> httpx.Client:
        """An API client signed in as ``user``."""
        r = self.admin.post("/auth/token", data={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return httpx.Client(
            base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )

    def start(self, user: str, name: str, **extra: Any) -> str:
        """Start an SMA strategy as ``user`` through the API; its id."""
        body = {"name": name, "type": "sma_cross", "symbols": ["MSFT/USD"], "interval": "300ms"}
        with self.client(user) as http:
            r = http.post("/strategies", json=body | {"params": SMA} | extra)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (DEFAULT_CONSOLE_DIR / "index.html").is_file():
        pytest.fail("the console is not built: run `make console` (make test builds it)", pytrace=False)
    chromium()
    home = tmp_path_factory.mktemp("console") / "home"
    api_port, t_port, ui_port = free_port(), free_port(), free_port()
    args = ["up", "--api-port", str(api_port), "--temporal-port", str(t_port), "--ui-port", str(ui_port)]
    proc = spawn([*args, "--bars-per-second", "10"], home=home, log_name="up.log")
    url = f"http://127.0.0.1:{api_port}"
    try:
        wait_http(f"{url}/health", proc, home / "up.log")
        admin_password = poll(lambda: _read(home / "admin-password"), "the admin password")
        with httpx.Client(base_url=url, timeout=60) as anon:
            r = anon.post("/auth/token", data={"username": "admin", "password": admin_password})
            assert r.status_code == 200, r.text
        admin = httpx.Client(
            base_url=url, timeout=60, headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )
        for name, roles in USERS.items():
            made = admin.post("/auth/users", json={"username": name, "password": PASSWORD, "roles": roles})
            assert made.status_code == 201, made.text
        yield Stack(url, admin)
        admin.close()
    finally:
        kill_group(proc)


def _read(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[list[Page]]:
    """Pages in contexts of their own (one per user); every console error or CSP refusal fails."""
    opened: list[Page] = []
    problems: list[str] = []
    yield opened
    for page in opened:
        problems += getattr(page, "problems", [])
        page.context.close()
    assert not problems, problems


def sign_in(browser: Browser, opened: list[Page], stack: Stack, user: str) -> Page:
    """A new browser context, signed in as ``user`` through the login page."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.problems.append(str(e)))  # type: ignore[attr-defined]
    opened.append(page)
    page.goto(stack.url)  # "/" opens the console, which asks for a sign-in
    expect(page.get_by_test_id("login-username")).to_be_visible(timeout=WAIT_MS)
    shot(page, "login")
    page.get_by_test_id("login-username").fill(user)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("nav-desk")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("user-menu")).to_contain_text(user)
    return page


def settled(page: Page) -> None:
    """The page is shown and none of its parts is still loading (the open change stream means
    the network is never idle, so that cannot be waited for)."""
    expect(page.get_by_test_id("page-title")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".state-loading")).to_have_count(0, timeout=WAIT_MS)


def shot(page: Page, name: str) -> None:
    """Keep a screenshot of the page when ASTS_SCREENSHOT_DIR is set."""
    folder = os.environ.get(SCREENSHOT_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"console-{name}.png"), full_page=True)


def test_a_trader_starts_a_strategy_from_the_generated_form_and_sees_its_orders_arrive_live(
    browser: Browser, pages: list[Page], stack: Stack
) -> None:
    page = sign_in(browser, pages, stack, "trader1")
    page.get_by_test_id("nav-strategies").click()
    page.get_by_test_id("start-strategy-open").click()
    form = page.get_by_test_id("start-form")
    expect(form).to_be_visible()
    form.get_by_test_id("field-type").select_option("sma_cross")
    form.get_by_test_id("field-name").fill("from the console")
    form.get_by_test_id("field-symbols").fill("MSFT/USD")
    form.get_by_test_id("field-interval").fill("300ms")
    form.get_by_test_id("field-fast").fill("0")  # below the schema's minimum
    form.get_by_test_id("start-submit").click()
    expect(form.get_by_test_id("field-error-fast")).to_be_visible()
    assert stack.admin.get("/strategies").json()["count"] == 0  # nothing was sent
    shot(page, "start-form")
    form.get_by_test_id("field-fast").fill("2")
    form.get_by_test_id("field-slow").fill("5")
    form.get_by_test_id("field-size").fill("5")
    form.get_by_test_id("start-submit").click()
    notice = page.get_by_test_id("started-notice")
    expect(notice).to_be_visible(timeout=WAIT_MS)
    sid = re.search(r"s[0-9a-f]{8}", notice.inner_text()).group(0)  # type: ignore[union-attr]
    row = stack.admin.get(f"/strategies/{sid}").json()
    assert row["created_by"] == "trader1" and row["params"]["fast"] == 2
    shot(page, "strategies")
    notice.get_by_role("link").click()
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    orders = page.locator("[data-testid^='order-row-']")
    expect(orders.first).to_be_visible(timeout=WAIT_MS)
    first = orders.count()
    # More arrive on the open page, with no reload: the change stream tells it to read them.
    poll(lambda: orders.count() > first, "more orders on the page", timeout=60)
    booked = {
        o["client_order_id"] for o in stack.admin.get("/orders", params={"strategy_id": sid}).json()["data"]
    }
    shown = {(o.get_attribute("data-testid") or "").removeprefix("order-row-") for o in orders.all()}
    assert shown and shown <= booked
    shot(page, "strategy-detail")
    stack.admin.post(f"/strategies/{sid}/stop", json={})


def test_the_kill_switch_is_acknowledged_by_every_strategy_and_resumed(
    browser: Browser, pages: list[Page], stack: Stack
) -> None:
    ids = [stack.start("trader1", f"kill {i}") for i in range(2)]
    page = sign_in(browser, pages, stack, "desk1")
    expect(page.get_by_test_id("hub-state")).to_have_text(re.compile("active"), timeout=WAIT_MS)
    page.get_by_test_id("killswitch-halt").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_contain_text("halt")
    expect(page.get_by_test_id("confirm-ok")).to_be_disabled()  # a reason first: it is recorded
    page.get_by_test_id("confirm-reason").fill("desk drill")
    page.get_by_test_id("confirm-ok").click()
    for sid in ids:
        expect(page.get_by_test_id(f"ack-{sid}")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("hub-state")).to_have_text(re.compile("halted"), timeout=WAIT_MS)
    hub = stack.admin.get("/neurohub").json()
    assert (hub["state"], hub["actor"], hub["reason"]) == ("halted", "desk1", "desk drill")
    shot(page, "desk-halted")
    page.get_by_test_id("killswitch-resume").click()
    page.get_by_test_id("confirm-reason").fill("drill over")
    page.get_by_test_id("confirm-ok").click()
    expect(page.get_by_test_id("hub-state")).to_have_text(re.compile("active"), timeout=WAIT_MS)
    assert stack.admin.get("/neurohub").json()["state"] == "active"
    for sid in ids:
        stack.admin.post(f"/strategies/{sid}/stop", json={})


def test_an_order_waiting_for_approval_is_approved_by_a_second_user_not_the_first(
    browser: Browser, pages: list[Page], stack: Stack
) -> None:
    sid = stack.start("desk1", "four eyes", approval_notional="1", approval_timeout="5m")

    def pending() -> list[dict[str, Any]]:
        rows = stack.admin.get("/approvals", params={"status": "pending"}).json()["data"]
        return [a for a in rows if a["strategy_id"] == sid]

    aid = poll(pending, "an order waiting for approval")[0]["id"]
    first = sign_in(browser, pages, stack, "desk1")
    first.get_by_test_id("nav-approvals").click()
    expect(first.get_by_test_id(f"approval-row-{aid}")).to_be_visible(timeout=WAIT_MS)
    expect(first.get_by_test_id(f"four-eyes-{aid}")).to_be_visible()
    expect(first.get_by_test_id(f"approve-{aid}")).to_be_disabled()
    with stack.client("desk1") as own:  # and the API refuses it anyway
        r = own.post(f"/approvals/{aid}", json={"decision": "approve", "reason": "mine"})
        assert r.status_code == 403, r.text
    shot(first, "approvals-four-eyes")
    second = sign_in(browser, pages, stack, "risk2")
    second.get_by_test_id("nav-approvals").click()
    expect(second.get_by_test_id(f"approve-{aid}")).to_be_enabled(timeout=WAIT_MS)
    second.get_by_test_id(f"approval-reason-{aid}").fill("checked the size")
    second.get_by_test_id(f"approve-{aid}").click()
    decided = poll(lambda: _decided(stack, aid), "the approval to be decided")
    assert decided["status"] == "approved" and decided["decided_by"] == "risk2"
    # The first user's page hears of it through the stream: the row leaves the pending list.
    expect(first.get_by_test_id(f"approve-{aid}")).to_have_count(0, timeout=WAIT_MS)
    stack.admin.post(f"/strategies/{sid}/stop", json={})


def _decided(stack: Stack, aid: str) -> dict[str, Any] | None:
    a: dict[str, Any] = stack.admin.get(f"/approvals/{aid}").json()
    return a if a["status"] != "pending" else None


def test_a_backtest_runs_to_full_progress_and_shows_its_equity(
    browser: Browser, pages: list[Page], stack: Stack
) -> None:
    page = sign_in(browser, pages, stack, "trader1")
    page.get_by_test_id("nav-backtests").click()
    form = page.get_by_test_id("backtest-form")
    expect(form).to_be_visible(timeout=WAIT_MS)
    form.get_by_test_id("field-strategy").select_option("sma_cross")
    form.get_by_test_id("backtest-submit").click()
    progress = page.get_by_test_id("backtest-progress")
    expect(progress).to_have_attribute("aria-valuenow", "100", timeout=WAIT_MS)
    expect(page.get_by_test_id("equity-chart")).to_be_visible()
    expect(page.get_by_test_id("trades-table")).to_be_visible()
    done = stack.admin.get("/backtests").json()["data"][0]
    assert done["status"] == "done" and done["created_by"] == "trader1"
    shot(page, "backtest")


CONTROLS = "[data-testid^='killswitch-'], [data-testid='start-strategy-open'], [data-testid^='halt-'], " + (
    "[data-testid^='resume-'], [data-testid^='stop-'], [data-testid^='approve-'], [data-testid^='reject-']"
)


def test_a_viewer_sees_no_control_and_the_api_refuses_them_anyway(
    browser: Browser, pages: list[Page], stack: Stack
) -> None:
    sid = stack.start("trader1", "watched")
    page = sign_in(browser, pages, stack, "viewer1")
    for nav in ("desk", "strategies", "approvals", "backtests", "events", "market"):
        page.get_by_test_id(f"nav-{nav}").click()
        settled(page)
        assert page.locator(CONTROLS).count() == 0, nav
        shot(page, f"viewer-{nav}")
    expect(page.get_by_test_id("nav-users")).to_have_count(0)
    with stack.client("viewer1") as viewer:
        assert viewer.post("/halt", json={"reason": "x"}).status_code == 403
        assert viewer.post(f"/strategies/{sid}/halt", json={}).status_code == 403
        assert viewer.post("/strategies", json={"name": "x", "type": "sma_cross"}).status_code == 403
    stack.admin.post(f"/strategies/{sid}/stop", json={})


def test_every_page_answers_for_an_admin(browser: Browser, pages: list[Page], stack: Stack) -> None:
    stack.admin.post("/auth/users", json={"username": "admin2", "password": PASSWORD, "roles": ["admin"]})
    page = sign_in(browser, pages, stack, "admin2")
    for nav in ("desk", "strategies", "approvals", "backtests", "events", "market", "users"):
        page.get_by_test_id(f"nav-{nav}").click()
        settled(page)
        expect(page.get_by_test_id("error-banner")).to_have_count(0)
        expect(page.get_by_test_id("query-error")).to_have_count(0)
        shot(page, nav)
