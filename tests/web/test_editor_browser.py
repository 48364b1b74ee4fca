"""The recipe editor in real headless Chromium: fragment swaps that keep focus, blocks built through
the guided editor, and a keyboard-only first recipe (listen for a test event, live preview)."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

import jsonschema
import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.e2e.harness import HubProcess, Sink, wait_until
from tests.web.helpers import PASSWORD
from tests.web.test_browser import (  # noqa: F401 (browser, hub and sink are fixtures)
    LAPTOP,
    PHONE,
    SHOTS,
    assert_labelled,
    browser,
    hub,
    new_page,
    shot,
    sign_in,
    sink,
)

pytestmark = pytest.mark.e2e
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "recipes" / "recipe.schema.json").read_text())
FLOW_CONTROL = importlib.util.find_spec("hub.recipe_flow") is not None


def api(hub: HubProcess) -> dict[str, str]:  # noqa: F811
    token = hub.cli("tokens", "create", "ops@example.com", "--name", "editor-browser")
    return {"Authorization": f"Bearer {token}"}


def test_blocks_are_built_in_the_guided_editor_without_page_loads(
    hub: HubProcess,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    page = new_page(browser)
    sign_in(page, hub, "ops@example.com")
    page.goto(f"{hub.url}/recipes/new")
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    page.get_by_role("textbox", name="Name (required)").fill("Lines")
    page.locator("#t-connector").select_option("webhook")
    expect(page.locator("#t-trigger")).to_have_value("catch")
    expect(page.locator("#t-connector")).to_be_focused()  # the list kept focus; nothing was submitted
    page.locator("#kind-step").select_option("for_each")
    page.get_by_role("button", name="Add the chosen kind of step to the steps").click()
    expect(page.locator("#s0-items")).to_be_visible()
    expect(page.locator("#step-s0-title")).to_be_focused()
    page.locator("#s0-items").fill("{{ event.lines }}")
    page.get_by_role("button", name="Add an action to For each item, do · step_1").click()
    expect(page.locator("#s1-connector")).to_be_visible()
    expect(page.locator("#s0-items")).to_have_value("{{ event.lines }}")  # kept, though its card closed
    page.locator("#s1-connector").select_option("http")
    expect(page.locator("#s1-key")).to_have_value("request")
    page.locator("#f-s1-in-url").fill("http://127.0.0.1:9/lines/")
    page.get_by_role("button", name="Insert data into URL").click()
    picker = page.locator("#picker-list button[data-expr]")
    offered = picker.evaluate_all("els => els.map(e => e.dataset.expr)")
    assert {"item", "loop.index", "loop.length"} <= set(offered)
    page.keyboard.press("Escape")
    page.locator("#kind-step").select_option("branch")
    page.get_by_role("button", name="Add the chosen kind of step to the steps").click()
    page.locator("#s2-c0-when").fill("{{ steps.step_1.count > 0 }}")
    page.get_by_role("button", name="Add the chosen kind of step to Case 1 · step_3").click()
    expect(page.locator("#s3-id")).to_be_visible()
    page.get_by_role("button", name="+ Add a case to step_3").click()
    expect(page.locator("#s2-c1-when")).to_be_focused()
    page.locator("#s2-c1-when").fill("{{ true }}")
    shot(page, "20-editor-blocks")
    assert loads == [], f"the editor loaded a page: {loads}"
    assert_labelled(page)  # every list, row and condition of the blocks has a label
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"nested blocks scroll sideways on a phone ({width}px)"
    shot(page, "20-editor-blocks-phone")
    page.set_viewport_size(LAPTOP)
    page.get_by_role("button", name="JSON / YAML view").click()
    document = json.loads(page.locator("#raw").input_value())
    jsonschema.validate(document, SCHEMA)  # the recipe JSON Schema accepts what the editor built
    loop, branch = document["steps"]
    assert loop["type"] == "for_each" and loop["items"] == "{{ event.lines }}"
    assert loop["steps"][0]["connector"] == "http"
    assert loop["steps"][0]["input"]["url"] == "http://127.0.0.1:9/lines/"
    assert branch["type"] == "branch" and [c["when"] for c in branch["cases"]] == [
        "{{ steps.step_1.count > 0 }}",
        "{{ true }}",
    ]
    assert branch["cases"][0]["steps"][0]["type"] == "delay", json.dumps(document)
    if not FLOW_CONTROL:
        pytest.skip("saving blocks needs the flow-control validator (hub.recipe_flow), merged separately")
    page.get_by_role("button", name="Save recipe").click()
    expect(page.get_by_text("Recipe saved.")).to_be_visible()
    recipe_id = page.url.rstrip("/").split("/")[-1]
    saved = requests.get(f"{hub.url}/api/v1/recipes/{recipe_id}", headers=api(hub), timeout=10).json()
    assert saved["document"]["steps"] == document["steps"]


class Keyboard:
    """Drives a page with the keyboard alone, counting what a user does."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.loads = 0
        self.list_changes = 0
        self.typed_fields = 0
        self.keys = 0
        page.on("load", lambda: setattr(self, "loads", self.loads + 1))

    def tab_to(self, selector: str, most: int = 250) -> None:
        """Tab forward until the element matching `selector` has focus."""
        for _ in range(most):
            if self.page.evaluate(
                "s => document.activeElement && document.activeElement.matches(s)", selector
            ):
                return
            self.page.keyboard.press("Tab")
            self.keys += 1
        raise AssertionError(f"Tab never reached {selector}")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.keys += 1

    def type_into(self, selector: str, text: str) -> None:
        self.tab_to(selector)
        self.page.keyboard.type(text)
        self.typed_fields += 1

    def choose(self, selector: str, value: str, key: str) -> None:
        """Pick an option of a list by typing its first letter (type-ahead), as a keyboard user does."""
        self.tab_to(selector)
        self.press(key)
        self.list_changes += 1
        expect(self.page.locator(selector)).to_have_value(value)
        expect(self.page.locator(selector)).to_be_focused()  # the swapped-in list keeps focus


@pytest.mark.parametrize("language", ["en", "zh"])
def test_keyboard_only_first_webhook_to_http_recipe_with_a_test_event_and_previews(
    hub: HubProcess,  # noqa: F811
    browser: Browser,  # noqa: F811
    sink: Sink,  # noqa: F811
    language: str,
) -> None:
    page = browser.new_context(viewport=LAPTOP, locale="zh-CN" if language == "zh" else "en-US").new_page()  # type: ignore[arg-type]
    page.set_default_timeout(10_000)
    page.goto(f"{hub.url}/login")
    keys = Keyboard(page)
    started = time.monotonic()
    keys.type_into("#email", "ops@example.com")
    keys.type_into("#password", PASSWORD)
    keys.press("Enter")
    page.wait_for_url(f"{hub.url}/")
    keys.tab_to("a[href='/recipes']")
    keys.press("Enter")
    page.wait_for_url("**/recipes")
    keys.tab_to("a[href='/recipes/new']")
    keys.press("Enter")
    page.wait_for_url("**/recipes/new")
    name = f"Keyboard deals {language}"
    keys.type_into("#f-name", name)
    keys.choose("#t-connector", "webhook", "w")
    expect(page.locator("#t-trigger")).to_have_value("catch")
    keys.tab_to("#listen")
    keys.press("Enter")  # saves the draft: the webhook address exists from now on
    expect(page.locator("#listen-state")).to_be_visible()
    hook = page.locator("#webhook-url").input_value()
    event_id = f"D-{language}-1"
    answer = requests.post(hook, json={"deal": {"id": event_id, "amount": 1200}}, timeout=10)
    assert answer.status_code == 202 and answer.json() == {"captured": True}
    expect(page.locator("#sample-state")).to_contain_text(event_id)  # polled and swapped in
    expect(page.locator("#sample-state")).to_be_focused()
    keys.tab_to("#add-step")
    keys.press("Enter")
    expect(page.locator("#step-s0-title")).to_be_focused()
    keys.choose("#s0-connector", "http", "h")
    expect(page.locator("#s0-key")).to_have_value("request")
    keys.choose("#f-s0-in-method", "POST", "p")
    keys.type_into("#f-s0-in-url", f"{sink.url}/deals/")
    keys.tab_to("button[data-picker-target='f-s0-in-url']")
    keys.press("Enter")
    expect(page.locator("#picker-filter")).to_be_focused()
    page.keyboard.type("deal.id")
    keys.typed_fields += 1  # the picker's search
    keys.press("Tab")
    expect(page.locator("#picker-list button[data-expr='event.deal.id']")).to_be_focused()
    keys.press("Enter")
    url = page.locator("#f-s0-in-url")
    expect(url).to_have_value(f"{sink.url}/deals/{{{{ event.deal.id }}}}")
    expect(url).to_be_focused()
    expect(page.locator("#f-s0-in-url-preview")).to_contain_text(f"{sink.url}/deals/{event_id}")
    keys.type_into("#f-s0-in-json", '{"amount": "{{ event.deal.amount }}"}')
    expect(page.locator("#f-s0-in-json-preview")).to_contain_text('{"amount": 1200}')
    shot(page, f"21-keyboard-editor-preview-{language}")
    keys.tab_to("button[value=save]")
    keys.press("Enter")
    page.wait_for_url(re.compile(r"/recipes/\d+$"))
    keys.tab_to("form[action$='/enable'] button")
    keys.press("Enter")
    expect(page.locator("#not-live")).to_have_count(0)
    second = f"D-{language}-2"
    assert requests.post(hook, json={"deal": {"id": second, "amount": 5}}, timeout=10).status_code == 202
    wait_until(
        lambda: any(r["path"] == f"/deals/{second}" for r in sink.requests), 20, "the sink to be called"
    )
    seconds = round(time.monotonic() - started, 1)
    assert [r["body"] for r in sink.requests if r["path"] == f"/deals/{second}"] == [{"amount": 5}]
    shot(page, f"22-keyboard-recipe-live-{language}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    measured = {
        "page_loads": keys.loads,
        "clicks": 0,
        "list_changes": keys.list_changes,
        "typed_fields": keys.typed_fields,
        "keys_pressed": keys.keys,
        "terminal_commands": 0,
        "seconds_to_first_working_recipe": seconds,
    }
    (SHOTS / f"first-recipe-{language}.json").write_text(json.dumps(measured, indent=2))


def test_a_step_runs_for_real_from_its_card_after_a_confirmation(
    hub: HubProcess,  # noqa: F811
    browser: Browser,  # noqa: F811
    sink: Sink,  # noqa: F811
) -> None:
    doc = {
        "name": "One step for real",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "post",
                "connector": "http",
                "action": "request",
                "input": {
                    "method": "POST",
                    "url": f"{sink.url}/deals",
                    "json": {"deal": "{{ event.deal.id }}"},
                },
            }
        ],
    }
    created = requests.post(f"{hub.url}/api/v1/recipes", json=doc, headers=api(hub), timeout=10)
    assert created.status_code == 201, created.text
    page = new_page(browser)
    sign_in(page, hub, "ops@example.com")
    page.goto(f"{hub.url}/recipes/{created.json()['id']}/edit")
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    page.locator("#step-s0-title").click()
    page.once("dialog", lambda dialog: dialog.dismiss())  # "perform this step at the vendor now?": no
    page.get_by_role("button", name="Run this step for real").click()
    page.wait_for_timeout(500)
    assert sink.requests == []
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Run this step for real").click()
    result = page.locator("#s0-run-result")
    expect(result).to_contain_text("The step ran for real and gave:")
    expect(result).to_be_focused()
    assert [(r["path"], r["body"]) for r in sink.requests] == [("/deals", {"deal": "D-1001"})]
    assert sink.requests[0]["key"] and sink.requests[0]["key"].endswith(":post")
    expect(result).to_contain_text(sink.requests[0]["key"])  # the stand-in echoes the key back
    shot(page, "23-editor-step-run")
    assert loads == [], f"the editor loaded a page: {loads}"
    result.get_by_role("link", name="Open the test run").click()
    expect(page.locator(".badge", has_text="test run")).to_be_visible()
