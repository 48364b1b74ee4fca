"""Real headless Chromium against a real `hub serve`, used as a new user would, with screenshots.

The screenshots go to $HUB_SCREENSHOT_DIR (default build/screenshots/); the folder is printed in the
test summary.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.harness import HubProcess, Sink, wait_until
from tests.web.helpers import PASSWORD

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("HUB_SCREENSHOT_DIR") or ROOT / "build" / "screenshots").resolve()
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path_factory.mktemp("web") / "home", HUB_ALLOW_PRIVATE_NETWORK="true")
    for email, role in (("ops@example.com", "admin"), ("look@example.com", "viewer")):
        process.cli("users", "create", email, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def assert_labelled(page: Page) -> None:
    assert page.evaluate(UNLABELLED) == [], f"controls without an accessible label on {page.url}"


def sign_in(page: Page, hub: HubProcess, email: str) -> None:
    page.goto(f"{hub.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def new_page(browser: Browser, viewport: dict[str, int] = LAPTOP) -> Page:
    context = browser.new_context(viewport=viewport, locale="en-US")  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def test_new_user_builds_a_webhook_to_http_recipe_and_sees_it_succeed(
    hub: HubProcess, browser: Browser, sink: Sink
) -> None:
    page = new_page(browser)
    sign_in(page, hub, "ops@example.com")
    shot(page, "01-dashboard-empty")

    # a connection, through the form generated from the http connector's auth schema
    page.get_by_role("link", name="Connections").click()
    page.get_by_role("link", name="New connection").click()
    page.get_by_label("Connector").select_option("http")
    page.get_by_role("button", name="Choose").click()  # a list never submits on its own (WCAG 3.2.2)
    page.get_by_role("textbox", name="Name (required)").fill("Sink API")
    page.get_by_label("Auth").select_option("bearer")
    page.get_by_label("Bearer token").fill("tok-browser-secret")
    page.get_by_role("textbox", name="Base URL").fill(sink.url)  # where the token may be sent
    assert_labelled(page)
    shot(page, "02-connection-form")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Connection “Sink API” saved.")).to_be_visible()
    assert "tok-browser-secret" not in page.content()

    # a recipe through the guided editor: webhook trigger -> http request with a picked field
    page.get_by_role("link", name="Recipes").click()
    page.get_by_role("link", name="New recipe").click()
    page.get_by_role("textbox", name="Name (required)").fill("Deals to sink")
    page.locator("#t-connector").select_option("webhook")
    expect(page.locator("#t-trigger")).to_have_value("catch")
    page.get_by_label("Event id field (dotted path in the body)").fill("deal.id")
    page.get_by_role("button", name="+ Add an action", exact=True).click()
    page.locator("#s0-connector").select_option("http")
    expect(page.locator("#s0-key")).to_have_value("request")
    page.locator("#s0-connection").select_option("Sink API")
    page.locator("#f-s0-in-method").select_option("POST")
    url = page.locator("#f-s0-in-url")
    url.fill(f"{sink.url}/deals/")
    page.get_by_role("button", name="Insert data into URL").click()
    page.locator("#picker-filter").fill("deal.id")
    shot(page, "03-editor-picker")
    page.locator("#picker-list button[data-expr='event.deal.id']").click()
    expect(url).to_have_value(f"{sink.url}/deals/{{{{ event.deal.id }}}}")
    page.locator("#f-s0-in-json").fill('{"amount": "{{ event.deal.amount }}"}')
    assert_labelled(page)
    shot(page, "04-editor")
    page.get_by_role("button", name="Save recipe").click()
    expect(page.get_by_text("Recipe saved.")).to_be_visible()
    expect(page.locator("#not-live")).to_be_visible()  # a draft until it is turned on
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_text("Recipe enabled.")).to_be_visible()
    hook = page.locator("#webhook-url").input_value()
    assert hook.startswith(f"{hub.url}/hooks/")
    shot(page, "05-recipe")

    answer = requests.post(hook, json={"deal": {"id": "D-42", "amount": 1200, "stage": "won"}}, timeout=10)
    assert answer.status_code == 202, answer.text
    wait_until(lambda: any(r["path"] == "/deals/D-42" for r in sink.requests), 20, "the sink to be called")
    assert sink.requests[0]["body"] == {"amount": 1200}

    page.get_by_role("link", name="Runs").click()
    page.get_by_role("link", name="#1").click()
    deadline = time.monotonic() + 15
    while "status-succeeded" not in (page.locator("h1 + .status").get_attribute("class") or ""):
        assert time.monotonic() < deadline, "the run did not show as succeeded"
        page.reload()
    step = page.locator("li.run-step[data-step='step_1']")
    expect(step.locator(".status")).to_have_text("succeeded")
    expect(step).to_contain_text("/deals/D-42")
    assert "tok-browser-secret" not in page.content()
    shot(page, "06-run")
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("svg.chart rect")).to_have_count(1)
    shot(page, "07-dashboard")

    # a second version: steps move in the page at once, and the recipe page diffs the versions
    page.get_by_role("link", name="Recipes").click()
    page.get_by_role("link", name="Deals to sink").click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Description").fill("Sends won deals to the sink")
    page.locator("#kind-step").select_option("delay")
    page.get_by_role("button", name="Add the chosen kind of step to the steps").click()
    page.get_by_role("button", name="Move step step_2 up").click()
    expect(page.locator("input[name=step]").first).to_have_value("s1")  # the form swapped in, no page load
    order = page.eval_on_selector_all("input[name=step]", "els => els.map(e => e.value)")
    assert order == ["s1", "s0"]
    page.get_by_role("button", name="Remove step step_2").click()
    expect(page.locator("li.step")).to_have_count(1)
    page.get_by_role("button", name="Save recipe").click()
    expect(page.get_by_text("Recipe saved.")).to_be_visible()
    assert page.locator("#webhook-url").input_value() == hook  # the address stays the same
    page.get_by_role("link", name="changes from v1").click()
    expect(page.locator("pre.diff .add", has_text="description")).to_contain_text(
        "Sends won deals to the sink"
    )
    shot(page, "08-version-diff")
    for path in ("/runs", "/users", "/recipes/1"):
        page.goto(f"{hub.url}{path}")
        assert_labelled(page)
    page.goto(f"{hub.url}/users")
    shot(page, "09-users")

    phone = new_page(browser, PHONE)
    sign_in(phone, hub, "ops@example.com")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the dashboard scrolls sideways on a phone ({width}px)"
    shot(phone, "10-phone-dashboard")
    phone.goto(f"{hub.url}/recipes/1/edit")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "11-phone-editor")
    phone.goto(f"{hub.url}/runs/1")
    shot(phone, "12-phone-run")

    chinese = browser.new_context(viewport=LAPTOP, locale="zh-CN").new_page()  # type: ignore[arg-type]
    chinese.goto(f"{hub.url}/login")
    expect(chinese.get_by_role("heading", name="登录")).to_be_visible()
    chinese.get_by_label("邮箱").fill("ops@example.com")
    chinese.get_by_label("密码").fill(PASSWORD)
    chinese.get_by_role("button", name="登录").click()
    chinese.goto(f"{hub.url}/recipes/1/edit")
    expect(chinese.get_by_role("heading", name="编辑配方")).to_be_visible()
    shot(chinese, "13-zh-editor")


def test_forms_without_csrf_are_refused_and_viewers_cannot_edit(hub: HubProcess, browser: Browser) -> None:
    page = new_page(browser)
    sign_in(page, hub, "ops@example.com")
    page.goto(f"{hub.url}/connections/new?connector=http")
    page.get_by_role("textbox", name="Name (required)").fill("forged")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Save").click()
    assert answer.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("CSRF")
    shot(page, "14-csrf-refused")
    page.goto(f"{hub.url}/connections")
    expect(page.get_by_role("link", name="forged")).to_have_count(0)

    viewer = new_page(browser)
    sign_in(viewer, hub, "look@example.com")
    for path in ("/recipes/new", "/connections/new", "/users"):
        response: Any = viewer.goto(f"{hub.url}{path}")
        assert response.status == 403, path
        expect(viewer.get_by_role("alert")).to_contain_text("Your role does not allow this page")
    shot(viewer, "15-viewer-forbidden")
    viewer.goto(f"{hub.url}/recipes")
    expect(viewer.get_by_role("link", name="New recipe")).to_have_count(0)


def test_restoring_a_version_from_its_page_in_english_and_chinese(hub: HubProcess, browser: Browser) -> None:
    token = hub.cli("tokens", "create", "ops@example.com", "--name", "lifecycle")
    api = {"Authorization": f"Bearer {token}"}
    doc = {"name": "Versions", "trigger": {"connector": "webhook", "trigger": "catch"}, "steps": []}
    made = requests.post(
        f"{hub.url}/api/v1/recipes", json={**doc, "description": "first"}, headers=api, timeout=10
    )
    recipe = f"{hub.url}/api/v1/recipes/{made.json()['id']}"
    requests.put(recipe, json={**doc, "description": "second"}, headers=api, timeout=10).raise_for_status()
    pages = f"{hub.url}/recipes/{made.json()['id']}"

    page = new_page(browser)
    sign_in(page, hub, "ops@example.com")
    page.goto(f"{pages}/versions/1")
    assert_labelled(page)
    shot(page, "16-version-restore")
    page.once("dialog", lambda dialog: dialog.accept())  # "Save version 1 again as the newest version?"
    page.get_by_role("button", name="Restore this version").click()
    expect(page.get_by_text("Version 1 restored as version 3.")).to_be_visible()
    expect(page.get_by_role("heading", name="A/B split")).to_be_visible()
    assert_labelled(page)  # the split form's weights
    shot(page, "17-restored")
    assert requests.get(recipe, headers=api, timeout=10).json()["document"]["description"] == "first"

    chinese = browser.new_context(viewport=LAPTOP, locale="zh-CN").new_page()  # type: ignore[arg-type]
    chinese.goto(f"{hub.url}/login")
    chinese.get_by_label("邮箱").fill("ops@example.com")
    chinese.get_by_label("密码").fill(PASSWORD)
    chinese.get_by_role("button", name="登录").click()
    chinese.goto(f"{pages}/versions/2")
    shot(chinese, "18-zh-version-restore")
    chinese.once("dialog", lambda dialog: dialog.accept())
    chinese.get_by_role("button", name="恢复此版本").click()
    expect(chinese.get_by_text("版本 2 已恢复为版本 4。")).to_be_visible()
    expect(chinese.get_by_role("heading", name="A/B 分流")).to_be_visible()
    shot(chinese, "19-zh-restored")
    assert requests.get(recipe, headers=api, timeout=10).json()["document"]["description"] == "second"


def test_runs_update_themselves_on_the_list_and_the_run_page(hub: HubProcess, browser: Browser) -> None:
    token = hub.cli("tokens", "create", "ops@example.com", "--name", "live")
    api = {"Authorization": f"Bearer {token}"}
    doc = {
        "name": "Pause then finish",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [{"id": "pause", "type": "delay", "seconds": 4}],
    }
    made = requests.post(f"{hub.url}/api/v1/recipes", json=doc, headers=api, timeout=10)
    recipe = f"{hub.url}/api/v1/recipes/{made.json()['id']}"
    requests.post(f"{recipe}/enable", headers=api, timeout=10).raise_for_status()
    hook = requests.get(recipe, headers=api, timeout=10).json()["webhook_url"]

    page = new_page(browser)
    sign_in(page, hub, "ops@example.com")
    requests.post(hook, json={"n": 1}, timeout=10).raise_for_status()
    page.goto(f"{hub.url}/runs?recipe_id={made.json()['id']}")
    cell = page.locator("td[data-live-run]").first
    expect(cell.locator(".status")).to_have_text("waiting", timeout=15_000)
    expect(cell.locator(".live-note")).to_contain_text("Step pause waits until")
    page.evaluate("window.stillTheSamePage = true")
    shot(page, "22-runs-live-waiting")
    expect(cell.locator(".status")).to_have_text("succeeded", timeout=20_000)
    assert page.evaluate("window.stillTheSamePage === true"), "the list reloaded instead of updating in place"

    requests.post(hook, json={"n": 2}, timeout=10).raise_for_status()
    page.goto(f"{hub.url}/runs?recipe_id={made.json()['id']}")
    page.locator("td a[href^='/runs/']").first.click()
    expect(page.locator(".live-note")).to_contain_text("Step pause waits until", timeout=15_000)
    expect(page.locator("h1 + .status")).to_have_text("succeeded", timeout=20_000)  # no reload by the test
    expect(page.locator("li.run-step[data-step='pause'] .status")).to_have_text("succeeded")
