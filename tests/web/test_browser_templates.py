"""Headless Chromium against `hub serve`: a recipe made from a template, as a person would, in English
and in Chinese: the gallery (filtered), a template's page and its install form (an error shown
beside its field, connections picked from lists, values filled), the draft opened in the editor, a
test event captured there and a live test run that succeeds. axe-core checks the gallery and the
template page; screenshots go where test_browser.py puts them."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.e2e.harness import HubProcess, Sink, connect, wait_until
from tests.web.axe import serious_violations
from tests.web.helpers import PASSWORD
from tests.web.test_browser import LAPTOP, PHONE, assert_labelled, browser, hub, shot

pytestmark = pytest.mark.e2e
__all__ = ["browser", "hub"]  # the module-scoped fixtures, shared with test_browser.py

FORWARD = "webhook-forward-http"
NOTIFY = "jiandaoyun-form-wecom-message"
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "email": "Email",
        "password": "Password",
        "sign_in": "Sign in",
        "nav": "Templates",
        "gallery": "Recipe templates",
        "apply": "Apply",
        "required": "This field is required.",
        "created": "Recipe created from the template as a draft",
        "succeeded": "succeeded",
        "preview": "What the recipe does",
    },
    "zh": {
        "email": "邮箱",
        "password": "密码",
        "sign_in": "登录",
        "nav": "模板",
        "gallery": "配方模板",
        "apply": "应用",
        "required": "此字段为必填项。",
        "created": "已从模板创建配方草稿",
        "succeeded": "成功",
        "preview": "配方做什么",
    },
}


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


def _page(browser: Browser, locale: str, viewport: dict[str, int] = LAPTOP) -> Page:
    """A page whose context may add axe-core (the hub's CSP admits no inline script)."""
    context = browser.new_context(viewport=viewport, locale=locale, bypass_csp=True)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _sign_in(page: Page, hub: HubProcess, text: dict[str, str]) -> None:
    page.goto(f"{hub.url}/login")
    page.get_by_label(text["email"]).fill("ops@example.com")
    page.get_by_label(text["password"]).fill(PASSWORD)
    page.get_by_role("button", name=text["sign_in"]).click()
    page.wait_for_url(f"{hub.url}/")


def _accessible(page: Page) -> None:
    found = [
        f"[{v['impact']}] {v['id']}: {v['help']} " + "; ".join(v["nodes"][:3])
        for v in serious_violations(page)
    ]
    assert not found, f"axe on {page.url}:\n" + "\n".join(found)
    assert_labelled(page)


def _run_status(page: Page) -> str:
    return page.locator("h1 + .status").get_attribute("class") or ""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_template_becomes_a_recipe_that_runs(
    hub: HubProcess, browser: Browser, sink: Sink, lang: str
) -> None:
    text = TEXT[lang]
    headers = {
        "Authorization": f"Bearer {hub.cli('tokens', 'create', 'ops@example.com', '--name', f'tpl-{lang}')}"
    }
    connect(hub, headers, f"JDY CRM {lang}", "jiandaoyun", {"api_key": "jdy-key"})
    connect(hub, headers, f"WeCom HQ {lang}", "wecom", {"corp_id": "ww1", "corp_secret": "wecom-secret"})
    page = _page(browser, "zh-CN" if lang == "zh" else "en-US")
    _sign_in(page, hub, text)

    # the gallery, narrowed to templates started by a webhook with the Apply button
    page.get_by_role("link", name=text["nav"], exact=True).click()
    expect(page.get_by_role("heading", name=text["gallery"])).to_be_visible()
    page.locator("#system").select_option("webhook")
    page.get_by_role("button", name=text["apply"], exact=True).nth(1).click()  # the first is the language's
    expect(page.locator("#system")).to_have_value("webhook")
    cards = page.locator("li.template-card")
    assert cards.count() >= 1
    for index in range(cards.count()):
        expect(cards.nth(index).locator(".badge.system[data-system=webhook]")).to_have_count(1)
    _accessible(page)
    shot(page, f"30-templates-gallery-{lang}")

    # a template's page: its steps as the editor draws them, and the install form
    page.locator(f"li[data-template={FORWARD}] h2 a").click()
    expect(page.get_by_role("heading", name=text["preview"])).to_be_visible()
    expect(page.locator("#preview li.step[data-step=forward]")).to_be_visible()
    _accessible(page)
    page.get_by_role("button", name=re.compile("draft|草稿")).click()  # nothing filled in yet
    expect(page.locator("#f-p-target_url-error")).to_have_text(text["required"])
    expect(page.locator("#install-errors")).to_be_visible()
    _accessible(page)
    shot(page, f"31-template-install-error-{lang}")
    page.locator("#recipe-name").fill(f"Forward to the sink ({lang})")
    page.locator("#f-p-target_url").fill(f"{sink.url}/inbound/{lang}")
    page.locator("#f-p-headers").fill('{"X-Source": "hub"}')
    page.get_by_role("button", name=re.compile("draft|草稿")).click()

    # the draft opens in the editor: capture a test event, then test the saved recipe live with it
    page.wait_for_url(re.compile(r"/recipes/\d+/edit$"))
    recipe_url = page.url.removesuffix("/edit")
    expect(page.get_by_text(text["created"])).to_be_visible()
    page.locator("#listen").click()
    expect(page.locator("#listen-state")).to_be_visible()
    hook = page.locator("#webhook-url").input_value()
    event = {"order": {"id": f"O-{lang}-1", "total": 99}}
    answer = requests.post(hook, json=event, timeout=10)
    assert answer.status_code == 202 and answer.json() == {"captured": True}
    expect(page.locator("#sample-state")).to_contain_text(f"O-{lang}-1")
    assert sink.requests == []  # a draft's captured event starts no run
    shot(page, f"32-template-recipe-test-event-{lang}")
    page.locator("#sample-state button[name=mode][value=live]").click()
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    deadline = time.monotonic() + 20
    while "status-succeeded" not in _run_status(page):
        assert time.monotonic() < deadline, f"the run did not succeed: {_run_status(page)}"
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("h1 + .status")).to_have_text(text["succeeded"])
    wait_until(lambda: bool(sink.requests), 10, "the sink to be called")
    assert sink.requests[0]["path"] == f"/inbound/{lang}" and sink.requests[0]["body"] == event
    shot(page, f"33-template-run-succeeded-{lang}")

    # any recipe exports as a template: its values stay, what ties it to this hub becomes a parameter
    page.goto(recipe_url)
    with page.expect_download() as download:
        page.locator("#export-template").click()
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert download.value.suggested_filename == f"{exported['name']}.json"
    assert exported["recipe"]["steps"][0]["input"]["url"] == f"{sink.url}/inbound/{lang}"

    # a template with connections: each picked from the project's connections of its app
    page.get_by_role("link", name=text["nav"], exact=True).click()
    page.locator("#q").fill("WeCom" if lang == "en" else "企业微信")
    page.get_by_role("button", name=text["apply"], exact=True).nth(1).click()
    page.locator(f"li[data-template={NOTIFY}] h2 a").click()
    page.locator("#p-jiandaoyun").select_option(label=f"JDY CRM {lang}")
    page.locator("#p-wecom").select_option(label=f"WeCom HQ {lang}")
    page.locator("#f-p-entry_id").fill("5f1a2b3c4d5e6f7a8b9c0d1e")
    page.locator("#f-p-recipients").fill("zhangsan\nlisi")
    shot(page, f"34-template-connections-{lang}")
    page.get_by_role("button", name=re.compile("draft|草稿")).click()
    page.wait_for_url(re.compile(r"/recipes/\d+/edit$"))
    expect(page.locator("#t-connection")).to_have_value(f"JDY CRM {lang}")
    expect(page.locator("#s0-connection")).to_have_value(f"WeCom HQ {lang}")

    if lang == "en":
        phone = _page(browser, "en-US", PHONE)
        _sign_in(phone, hub, text)
        for path in ("/templates", f"/templates/{NOTIFY}"):
            phone.goto(f"{hub.url}{path}")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways on a phone ({width}px)"
        shot(phone, "35-phone-template")
