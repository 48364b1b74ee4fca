"""The statistics page in headless Chromium against a real `hub serve`, in English and Chinese, with
screenshots (beside those of tests/web/test_browser.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, expect

from hub.db.session import Database
from tests.e2e.harness import HubProcess, admin_headers_via_cli
from tests.web.helpers import PASSWORD
from tests.web.stats_seed import RECIPE, seed_runs
from tests.web.test_browser import LAPTOP, browser, shot

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the module's Chromium fixture, shared


@pytest.fixture(scope="module")
def stats_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubProcess, int]]:
    home = tmp_path_factory.mktemp("stats") / "home"
    process = HubProcess(home, f"sqlite:///{home.parent / 'hub.db'}")
    headers = admin_headers_via_cli(process.cli, "stats")  # ops@example.com, an admin
    process.start()
    created = requests.post(f"{process.url}/api/v1/recipes", json=RECIPE, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    recipe_id = created.json()["id"]
    saved = requests.put(
        f"{process.url}/api/v1/recipes/{recipe_id}", json=RECIPE, headers=headers, timeout=10
    )
    assert saved.status_code == 200, saved.text
    database = Database(process.env["HUB_DATABASE_URL"])
    with database.transaction() as session:
        seed_runs(session, recipe_id)
    database.dispose()
    yield process, recipe_id
    process.stop()


@pytest.mark.parametrize(
    ("locale", "heading", "compared"),
    [
        ("en-US", "Statistics: Approvals", "Version 1 and version 2 side by side"),
        ("zh-CN", "统计: Approvals", "版本 1 与版本 2 对比"),
    ],
)
def test_the_statistics_page_shows_its_charts(
    stats_hub: tuple[HubProcess, int], browser: Browser, locale: str, heading: str, compared: str
) -> None:
    hub, recipe_id = stats_hub
    page = browser.new_context(viewport=LAPTOP, locale=locale).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    page.goto(f"{hub.url}/login")
    page.locator("input[name=email]").fill("ops@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    expect(page.locator("#top-failing")).to_contain_text("Approvals")
    shot(page, f"stats-dashboard-{locale}")
    page.locator("#top-failing").get_by_role("link").last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_role("heading", name=compared)).to_be_visible()
    expect(page.locator("#completion-rate")).to_have_text("75.0%")
    for section in ("#runs", "#durations", "#steps", "#waits"):
        expect(page.locator(f"{section} svg")).to_be_visible()
    assert page.locator("#runs svg rect").count() >= 10  # a bar per day and status
    page.locator("#days").select_option("7")
    page.locator("form.filters button").click()
    expect(page).to_have_url(f"{hub.url}/recipes/{recipe_id}/stats?days=7")
    page.goto(f"{hub.url}/recipes/{recipe_id}/stats?days=30")
    shot(page, f"stats-recipe-{locale}")
