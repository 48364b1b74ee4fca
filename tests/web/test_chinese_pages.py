"""No English left on the main pages of the Chinese UI, connector forms included.

Every main page is rendered in zh (the test client, with a recipe, a connection and a run to show)
and every visible text node, plus the labels people and screen readers get from attributes, is
checked word by word. A word passes when it is code or an id (all capitals, digits, `_`, camelCase,
inside a URL, path, template or `code`), or a proper name on the allow-list below; any other English
word fails the test with the page and the text it sits in.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.registry import default_registry
from hub.templates import catalogue
from tests.web.helpers import csrf_token, form_fields, sign_in

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}

# Product, vendor and protocol names, vendor menu and field names quoted as the vendor writes them
# ("Connect Keys", "Secret Key", "Closed Won"), and the language's own name in the selector.
PROPER_NAMES = {
    *("English", "Google", "Cloud", "Workspace", "Intuit", "Online", "Jotform", "Salesforce"),
    *("Twilio", "Messaging", "Service", "Typeform", "Xero", "Webhook", "Webhooks", "Standard"),
    *("OAuth", "Basic", "Bearer", "Auth", "Token", "App", "Key", "Keys", "Secret", "Encrypt"),
    *("Verification", "Connect", "Unix", "cron", "hub", "id", "Id", "uuid", "Name", "Won"),
    *("Account", "Bill", "Contact", "Customer", "Estimate", "Invoice", "Item", "Lead", "Opportunity"),
    *("Payment", "Vendor", "Zoho", "Client", "Applications", "Markdown", "Schema", "lookup"),
}
HIDDEN_TAGS = {"script", "style", "code", "pre", "textarea", "kbd", "samp"}
# Placeholders are left out: they show a field's default value or an example, which is data.
SHOWN_ATTRIBUTES = ("aria-label", "title", "alt", "data-confirm")
# Not words: URLs, addresses, templates, `code`, <placeholders>, paths, JSON examples, and a code
# named in full-width brackets after its Chinese name, "已发送（sent）".
NOT_WORDS = re.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+|\{\{.*?\}\}|\$\{.*?\}|`[^`]*`|<[^>]*>|\{.*\}|\[.*\]"
    r"|（[\x20-\x7e…]*）|\S*[/.:=#$]\S*|[\"']\S*"
)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]*")


def is_code(word: str) -> bool:
    return (
        word in PROPER_NAMES
        or len(word) == 1
        or word.isupper()
        or bool(re.search(r"[0-9_]", word))
        or bool(re.search(r"[a-z][A-Z]", word))
        or ("-" in word and word != word.lower())  # a header name, X-Lark-Signature
    )


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_TAGS:
            self.hidden += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.texts.append(data.strip())


def english_words(html: str, content: frozenset[str] = frozenset()) -> list[str]:
    """Each text of the page that holds an English word, with the words; texts in `content` (data
    the page shows, such as a template's own texts) are left out."""
    reader = VisibleText()
    reader.feed(html)
    found = []
    for text in reader.texts:
        if text in content:
            continue
        words = [w for w in WORD.findall(NOT_WORDS.sub(" ", text)) if not is_code(w.strip("'-"))]
        if words:
            found.append(f"{' '.join(words)}  <-  {text[:160]!r}")
    return found


def zh_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH["Accept-Language"]
    return client


def test_the_word_check_catches_english_and_passes_code_and_names() -> None:
    page = (
        "<p>保存 <code>hub serve</code> HubSpot / 发送 HTTP 请求 FBillNo step_1 RUNNING "
        "https://x.example/a?b=c {{ event.id }} a@b.example 已发送（sent）</p>"
        "<input aria-label='例如 Salesforce'>"
    )
    assert english_words(page) == []
    assert english_words("<p>Save the recipe</p>") == ["Save the recipe  <-  'Save the recipe'"]
    assert english_words("<button aria-label='Move up'>↑</button>") == ["Move up  <-  'Move up'"]


def test_no_page_of_the_chinese_ui_shows_english(web_app: Flask) -> None:
    client = zh_client(web_app)
    login = client.get("/login").text
    problems = [f"/login: {line}" for line in english_words(login)]
    assert sign_in(client, "admin@example.com").status_code == 302
    token = csrf_token(client.get("/").text)
    form = dict(form_fields(client.get("/connections/new?connector=http").text, "conn"))
    made = client.post("/connections/new?connector=http", data={**form, "name": "接收端", "op": "save"})
    assert made.status_code == 302, made.text[-2000:]
    doc = {
        "name": "转发订单",
        "description": "把新订单转发到接收端",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {
                "id": "s1",
                "connector": "http",
                "action": "request",
                "connection": "接收端",
                "input": {"method": "POST", "url": "https://receiver.example/orders"},
            }
        ],
    }
    saved = client.post(
        "/recipes/new", data={"csrf_token": token, "op": "save_raw", "format": "json", "raw": json.dumps(doc)}
    )
    assert saved.status_code == 302, saved.text[-2000:]
    tested = client.post(
        "/recipes/1/test", data={"csrf_token": token, "mode": "dry", "event": '{"id": "o-1"}'}
    )
    assert tested.status_code == 302
    pages = [
        "/",
        "/recipes",
        "/recipes/new",
        "/recipes/1",
        "/recipes/1/edit",
        "/recipes/1/versions/1",
        "/runs",
        "/runs/1",
        "/connections",
        "/connections/new",
        "/connections/1",
        "/users",
        "/storage",
        "/tables",
        "/secrets",
        "/recipes/999999",
        "/no-such-page",
    ]
    pages += [f"/connections/new?connector={c.id}" for c in default_registry().all()]
    pages += ["/templates", *(f"/templates/{name}" for name in catalogue.load())]
    content = _template_texts()
    for path in pages:
        answer = client.get(path)
        assert answer.status_code in (200, 404), (path, answer.status_code)
        problems += [f"{path}: {line}" for line in english_words(answer.text, content)]
    for connector in default_registry().all():  # every trigger and action form, through the editor
        problems += [
            f"editor {connector.id}: {line}" for line in english_words(_editor_with(client, connector))
        ]
    assert not problems, "English on Chinese pages:\n" + "\n".join(dict.fromkeys(problems))


def _template_texts() -> frozenset[str]:
    """The catalogue's own Chinese texts (titles, descriptions, parameter titles, the property names
    of a parameter's object schema): the templates' content, which names field ids as the vendors
    write them, not strings of the UI."""
    texts: set[str] = set()
    for template in catalogue.load().values():
        texts |= {template.title("zh"), template.description("zh")}
        for parameter in template.parameters:
            texts |= {parameter.title("zh"), parameter.description("zh"), *_property_names(parameter.schema)}
    return frozenset(texts)


def _property_names(schema: object) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    found: set[str] = set()
    for name, spec in (schema.get("properties") or {}).items():
        found |= {name, *_property_names(spec)}
    return found | _property_names(schema.get("items"))


def _editor_with(client: FlaskClient, connector: object) -> str:
    """The guided editor showing `connector`'s first trigger and each of its actions as a step."""
    triggers = list(getattr(connector, "trigger_map", {}))
    actions = list(getattr(connector, "action_map", {}))
    connector_id = getattr(connector, "id", "")
    trigger = (
        {"connector": connector_id, "trigger": triggers[0]}
        if triggers
        else {"connector": "webhook", "trigger": "catch"}
    )
    steps = [
        {"id": f"s{i}", "connector": connector_id, "action": key, "input": {}}
        for i, key in enumerate(actions)
    ]
    doc = {"name": "连接器表单", "trigger": trigger, "steps": steps}
    token = csrf_token(client.get("/recipes/new").text)
    answer = client.post(
        "/recipes/new",
        data={"csrf_token": token, "op": "apply_raw", "format": "json", "raw": json.dumps(doc)},
    )
    assert answer.status_code == 200, answer.text[-1000:]
    return answer.text


@pytest.mark.parametrize("path", ["/login"])
def test_english_pages_stay_english(web_app: Flask, path: str) -> None:
    """The check is about the Chinese UI: the same page in English is full of words it would catch."""
    assert english_words(web_app.test_client().get(path).text)


def test_addresses_no_route_matches_get_the_ui_page_and_the_api_keeps_json(web_app: Flask) -> None:
    client = zh_client(web_app)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "此页面不存在" in missing.text and "Not Found" not in missing.text
    wrong = client.put("/login")
    assert wrong.status_code == 405 and "此地址不接受这种请求。" in wrong.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json
