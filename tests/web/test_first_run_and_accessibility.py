"""A fresh `hub serve` used from its first minute in Chromium, with axe-core on every main page.

The hub starts with no user: its console shows the one-time setup link, the sign-in page says so,
the link's page makes the first admin, and a restart shows no link again. Then every main page, in
English and Chinese, is checked with axe-core (tests/web/axe.py): no serious or critical violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.e2e.harness import HubProcess, Sink, wait_until
from tests.web.axe import axe_script, serious_violations
from tests.web.helpers import PASSWORD
from tests.web.test_browser import LAPTOP, browser, shot  # noqa: F401  (the module's Chromium)

pytestmark = pytest.mark.e2e
SETUP_LINK = re.compile(r"open (http://\S+/setup/\S+) to create the first admin")


@pytest.fixture(scope="module")
def fresh_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path_factory.mktemp("first-run") / "home")
    process.start()
    yield process
    process.stop()


def axe_page(browser: Browser, locale: str) -> Page:  # noqa: F811
    """The hub's CSP admits no inline script; this context may add axe-core to its pages."""
    context = browser.new_context(viewport=LAPTOP, locale=locale, bypass_csp=True)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def assert_accessible(page: Page, failures: list[str]) -> None:
    for violation in serious_violations(page):
        failures.append(f"{page.url} [{violation['impact']}] {violation['id']}: {violation['help']}")
        failures.extend(f"    {node}" for node in violation["nodes"][:5])


def test_first_run_makes_the_admin_in_the_browser_and_every_page_passes_axe(
    fresh_hub: HubProcess,
    browser: Browser,  # noqa: F811
) -> None:
    axe_script()  # installs axe-core, or fails in CI / skips elsewhere with the reason, before any work
    failures: list[str] = []
    # With several processes one prints the link, and another may have answered /healthz first.
    wait_until(lambda: bool(SETUP_LINK.findall(fresh_hub.log.read_text())), 20, "the setup link")
    links = SETUP_LINK.findall(fresh_hub.log.read_text())
    assert len(links) == 1, fresh_hub.log.read_text()[-2000:]

    page = axe_page(browser, "en-US")
    page.goto(f"{fresh_hub.url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#no-users")).to_contain_text("setup link that hub serve printed")
    assert_accessible(page, failures)
    page.goto(links[0])
    expect(page.get_by_role("heading", name="Set up the hub")).to_be_visible()
    assert_accessible(page, failures)
    page.get_by_label("Email").fill("first@example.com")
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    shot(page, "20-first-run-setup")
    page.get_by_role("button", name="Create the admin and sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".who")).to_contain_text("first@example.com")

    fresh_hub.stop()  # a restart with an admin shows no setup link
    fresh_hub.start()
    assert len(SETUP_LINK.findall(fresh_hub.log.read_text())) == 1
    page.goto(links[0])
    expect(page.get_by_role("alert")).to_contain_text("already has users")

    paths = _some_of_everything(fresh_hub)
    for locale in ("en-US", "zh-CN"):
        page = axe_page(browser, locale)
        page.goto(f"{fresh_hub.url}/login")
        assert_accessible(page, failures)
        page.locator("#email").fill("first@example.com")
        page.locator("#password").fill(PASSWORD)
        page.locator("form:has(#password) button[type=submit]").click()
        expect(page.locator(".who")).to_be_visible()
        for path in paths:
            answer: Any = page.goto(f"{fresh_hub.url}{path}")
            assert answer.status in (200, 404), (path, answer.status)
            assert_accessible(page, failures)
        page.goto(f"{fresh_hub.url}/recipes/1/edit")
        page.locator("button[name=op][value=raw]").click()  # the JSON / YAML view
        expect(page.locator("textarea[name=raw]")).to_be_visible()
        assert_accessible(page, failures)
        shot(page, f"21-axe-{locale}-raw")
    assert not failures, "axe-core found serious or critical violations:\n" + "\n".join(failures)


def _some_of_everything(hub: HubProcess) -> list[str]:
    """A connection, a live webhook recipe with a succeeded run, and the main pages that show them."""
    headers = hub.admin_headers()
    api = f"{hub.url}/api/v1"
    sink = Sink()
    try:
        made = requests.post(
            f"{api}/connections",
            json={"name": "Sink", "connector": "http", "config": {"base_url": sink.url}},
            headers=headers,
            timeout=10,
        )
        assert made.status_code == 201, made.text
        recipe = {
            "name": "Deals to sink",
            "trigger": {"connector": "webhook", "trigger": "catch", "config": {"id_field": "deal.id"}},
            "steps": [
                {
                    "id": "send",
                    "connector": "http",
                    "action": "request",
                    "connection": "Sink",
                    "input": {"method": "POST", "url": f"{sink.url}/deals/{{{{ event.deal.id }}}}"},
                }
            ],
        }
        made = requests.post(f"{api}/recipes", json=recipe, headers=headers, timeout=10)
        assert made.status_code == 201, made.text
        recipe_id = made.json()["id"]
        requests.post(f"{api}/recipes/{recipe_id}/enable", headers=headers, timeout=10).raise_for_status()
        hook = requests.get(f"{api}/recipes/{recipe_id}", headers=headers, timeout=10).json()
        url = _webhook_url(hook)
        assert requests.post(url, json={"deal": {"id": "D-1"}}, timeout=10).status_code == 202
        wait_until(lambda: bool(sink.requests), 20, "the sink to be called")
    finally:
        sink.close()
    return [
        "/",
        "/recipes",
        "/recipes/new",
        f"/recipes/{recipe_id}",
        f"/recipes/{recipe_id}/edit",
        f"/recipes/{recipe_id}/versions/1",
        "/runs",
        "/runs/1",
        "/connections",
        "/connections/new?connector=http",
        "/connections/1",
        "/users",
        "/storage",
        "/tables",
        "/secrets",
        "/no-such-page",
    ]


def _webhook_url(recipe: dict[str, Any]) -> str:
    found = re.search(r"https?://[^\"' ]+/hooks/[^\"' ]+", str(recipe))
    assert found, recipe
    return found.group(0)
