"""The guided editor's blocks, fragments and field checks, through the Flask test client."""

from __future__ import annotations

import html
import importlib.util
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from hub.web.schema_form import FormErrors, build_fields, parse_fields
from tests.web.helpers import csrf_token, form_fields, sign_in

FRAGMENT = {"X-Hub-Fragment": "1"}
BLOCKS = {
    "name": "Blocks",
    "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
    "steps": [
        {"id": "totals", "type": "set", "values": {"total": "{{ event.deal.amount }}", "n": 2}},
        {
            "id": "lines",
            "type": "for_each",
            "items": "{{ [event.deal] }}",
            "as": "line",
            "concurrency": 2,
            "steps": [
                {
                    "id": "post",
                    "connector": "http",
                    "action": "request",
                    "input": {"url": "http://127.0.0.1:9/{{ line.id }}"},
                }
            ],
        },
        {
            "id": "route",
            "type": "branch",
            "cases": [
                {
                    "when": "{{ event.deal.amount > 10 }}",
                    "steps": [{"id": "big", "type": "delay", "seconds": 5}],
                },
                {"when": "{{ true }}", "steps": []},
            ],
            "default": [{"id": "halt", "type": "stop", "status": "filtered", "message": "small"}],
        },
        {
            "id": "both",
            "type": "parallel",
            "branches": [[{"id": "left", "type": "delay", "seconds": 1}], [], []],
        },
    ],
}


def editor(client: FlaskClient) -> FlaskClient:
    sign_in(client, "ed@example.com")
    return client


def guided(client: FlaskClient, doc: dict[str, Any]) -> str:
    token = csrf_token(client.get("/recipes/new").text)
    answer = client.post(
        "/recipes/new", data={"csrf_token": token, "op": "apply_raw", "raw": json.dumps(doc)}
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def post(
    client: FlaskClient, page: str, op: str, headers: dict[str, str] | None = None, **changes: str
) -> Any:
    data = MultiDict(form_fields(page if "<form" in page else f"<form id=editor>{page}</form>", "editor"))
    for key, value in changes.items():
        data[key] = value
    data["op"] = op
    return client.post("/recipes/new", data=data, headers=headers or {})


def raw_document(client: FlaskClient, page: str) -> Any:
    answer = post(client, page, "raw")
    return json.loads(
        html.unescape(re.search(r'<textarea id="raw"[^>]*>(.*?)</textarea>', answer.text, re.S).group(1))
    )


def picker(page: str) -> dict[str, list[dict[str, str]]]:
    found = re.search(r'<script type="application/json" id="picker-data">(.*?)</script>', page, re.S)
    assert found
    return json.loads(found.group(1))


def test_every_new_step_type_round_trips_through_the_guided_form(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = guided(client, BLOCKS)
    assert "__uid" not in page
    assert raw_document(client, page) == BLOCKS


def test_a_fragment_request_answers_only_the_form_and_where_focus_goes(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = client.get("/recipes/new").text
    answer = post(client, page, "add:for_each@step", FRAGMENT, name="F", **{"t.connector": "webhook"})
    assert answer.status_code == 200
    assert "<html" not in answer.text and '<form method="post" id="editor"' in answer.text
    assert answer.headers["X-Hub-Focus"] == "step-s0-title"
    assert 'id="s0-items"' in answer.text and 'value="catch" selected' in answer.text
    inner = post(client, answer.text, "add:action@s0.body", FRAGMENT)
    assert inner.headers["X-Hub-Focus"] == "step-s1-title"
    assert [
        v for k, v in form_fields(f"<form id=editor>{inner.text}</form>", "editor") if k == "s0.body"
    ] == ["s1"]
    # the new card is the open one; the loop's card closes but keeps its fields in the form
    assert re.search(r'id="step-s1-body"\s*>', inner.text)
    assert re.search(r'id="step-s0-body" hidden', inner.text)


def test_no_list_submits_the_form_when_it_changes(web_app: Flask) -> None:
    """WCAG 3.2.2: lists that redraw the form do it without submitting; without JS a button applies them."""
    client = editor(web_app.test_client())
    page = guided(client, BLOCKS)
    form = re.search(r'<form method="post" id="editor".*?</form>', page, re.S).group(0)
    assert "data-autosubmit" not in form
    refreshing = re.findall(r"<select[^>]*data-refresh[^>]*>.*?</select>(<button[^>]*>)", form, re.S)
    assert len(refreshing) == 4  # trigger app + trigger, the inner action's app + action
    assert all('class="js-hide"' in button and 'type="submit"' in button for button in refreshing)


def test_blocks_are_added_moved_and_removed_inside_their_block(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = guided(client, BLOCKS)
    # uids go in document order: totals s0, lines s1, post s2, route s3, big s4, halt s5, both s6, left s7
    page = post(client, page, "addkind:s6.b0", **{"kind.s6.b0": "set"}).text  # a set step in branch 1
    page = post(client, page, "up:s8").text
    page = post(client, page, "delbranch:s6.b2").text
    page = post(client, page, "addcase:s3").text
    page = post(client, page, "delcase:s3.c1").text
    page = post(client, page, "remove:s5").text  # the default's stop step
    document = raw_document(client, page)
    route, both = document["steps"][2], document["steps"][3]
    assert [c["when"] for c in route["cases"]] == ["{{ event.deal.amount > 10 }}", ""]
    assert route["default"] == []
    assert [[s["id"] for s in b] for b in both["branches"]] == [["step_9", "left"], []]
    assert both["branches"][0][0] == {"id": "step_9", "type": "set", "values": {}}


def test_the_picker_offers_the_loop_item_and_the_inner_outputs_in_scope(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = guided(client, BLOCKS)
    data = picker(page)
    inner = {e["expr"]: e["example"] for e in data["s2"]}  # the loop's inner http step
    assert inner["line.id"] == "D-1001"  # the first item the loop takes from the sample event
    assert {"line", "loop.index", "loop.length", "steps.totals.total", "event.deal.id"} <= set(inner)
    after = {e["expr"] for e in data["s3"]}  # the branch after the loop
    assert {"steps.lines.count", "steps.post.status"} <= after
    assert "line.id" not in after and "loop.index" not in after


def test_a_decimal_in_a_whole_number_field_gets_a_clear_message_and_is_kept(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = guided(client, BLOCKS)
    refused = post(client, page, "save", **{"s1.concurrency": "2.5"})
    assert refused.status_code == 422
    assert re.search(
        r'name="s1.concurrency" value="2.5".*?role="alert">Enter a whole number \(no decimals\)',
        refused.text,
        re.S,
    )
    assert re.search(r'id="step-s1-body"\s*>', refused.text)  # the card with the problem is open
    errors = FormErrors()
    schema = {"properties": {"n": {"type": "integer"}}}
    values = parse_fields(schema, MultiDict({"x.n": "1.5"}), "x", "$", templatable=False, errors=errors)
    assert errors == {"$.n": "Enter a whole number (no decimals): 1.5 is not one."}
    assert build_fields(schema, values, "x", "$", templatable=False)[0].value == "1.5"


def test_every_problem_of_the_form_is_shown_beside_its_field_at_once(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = guided(client, BLOCKS)
    refused = post(
        client,
        page,
        "save",
        **{"s1.max_items": "many", "s4.seconds": "soon", "s0.vjson": "n", "s0.vvalue": "x"},
    )
    assert refused.status_code == 422
    assert re.search(r'id="s1-max-items".*?role="alert">Enter a whole number\.', refused.text, re.S)
    assert re.search(r'id="s4-seconds".*?role="alert">Enter a number of seconds', refused.text, re.S)
    assert "see the problems marked beside their fields" in refused.text


def test_the_version_diff_has_no_blank_lines(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    token = csrf_token(client.get("/").text)
    doc = {"name": "v", "trigger": {"connector": "webhook", "trigger": "catch"}, "steps": []}
    for description in ("one", "two"):
        saved = client.post(
            "/recipes/new" if description == "one" else "/recipes/1/edit",
            data={
                "csrf_token": token,
                "op": "save_raw",
                "raw": json.dumps({**doc, "description": description}),
            },
        )
        assert saved.status_code == 302
    diff = re.search(r'<pre class="diff".*?</pre>', client.get("/recipes/1/versions/2").text, re.S).group(0)
    assert "</span>\n" not in diff and diff.count('<span class="add">') == 1


def test_the_editor_speaks_chinese(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    token = csrf_token(client.get("/recipes/new").text)
    page = client.post(
        "/recipes/new",
        data={"csrf_token": token, "op": "apply_raw", "raw": json.dumps(BLOCKS)},
        headers={"Accept-Language": "zh-CN"},
    ).text
    for text in (
        "对每一项执行",
        "情况 1",
        "否则（没有匹配的情况）",
        "分支 2",
        "监听测试事件",
        "添加所选类型的步骤",
    ):
        assert text in page, text


def test_every_page_names_its_favicon(web_app: Flask) -> None:
    client = web_app.test_client()
    login = client.get("/login").text
    href = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', login).group(1)
    icon = client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


FLOW_CONTROL = importlib.util.find_spec("hub.recipe_flow") is not None


@pytest.mark.skipif(
    not FLOW_CONTROL, reason="needs the flow-control validator (hub.recipe_flow), merged separately"
)
def test_blocks_are_saved_and_every_problem_inside_them_is_shown_beside_its_field(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = guided(client, BLOCKS)
    refused = post(client, page, "save", **{"s2.in.url": "", "s3.c0.when": "{{ broken ", "s0.id": "Bad Id"})
    assert refused.status_code == 422
    assert re.search(
        r'data-path="\$\.steps\[1\]\.steps\[0\]\.input\.url">.*?class="error"', refused.text, re.S
    )
    assert re.search(r'id="s3-c0-when".*?class="error"', refused.text, re.S)
    assert re.search(r'id="s0-id".*?class="error"', refused.text, re.S)
    saved = post(client, page, "save")
    assert saved.status_code == 302
    stored = raw_document(client, client.get(saved.headers["Location"] + "/edit").text)
    assert stored["steps"] == BLOCKS["steps"]


def test_schema_problems_are_shown_in_the_users_language(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    doc = {
        "name": "Lang",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [{"id": "a", "type": "delay", "seconds": 5}],
    }
    page = guided(client, doc)
    for language, expected in (("en", "does not have the expected form"), ("zh", "不符合要求的格式")):
        data = MultiDict(form_fields(page, "editor"))
        data["s0.id"], data["op"] = "Bad Id", "save"
        refused = client.post("/recipes/new", data=data, headers={"Accept-Language": language})
        assert refused.status_code == 422
        assert re.search(r'id="s0-id".*?class="error"[^>]*>[^<]*' + expected, refused.text, re.S), language


def test_a_step_is_tested_dry_with_the_sample(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    page = guided(client, BLOCKS)  # the webhook trigger's sample: deal D-1001, amount 12800
    inner = post(client, page, "teststep:s2", FRAGMENT)  # the http step inside the loop
    assert inner.headers["X-Hub-Focus"] == "s2-test-result"
    result = re.search(r'id="s2-test-result".*?</div>', inner.text, re.S).group(0)
    assert "would use" in result and "http://127.0.0.1:9/D-1001" in result  # the loop item is the deal
    branch = post(client, page, "teststep:s3").text
    assert "With this sample case 1 is taken." in branch
    broken = post(client, page, "teststep:s0", **{"s0.vvalue": "{{ event.deal.amount | nosuchfilter }}"}).text
    failed = re.search(r'<div class="step-test bad" id="s0-test-result".*?</div>', broken, re.S).group(0)
    assert "$.steps[0].values.total" in failed and "nosuchfilter" in failed
    skipped = post(client, page, "teststep:s4", **{"s4.when": "{{ event.deal.amount < 0 }}"}).text
    assert "skipped" in re.search(r'id="s4-test-result".*?</div>', skipped, re.S).group(0)


def test_form_uids_typed_into_the_raw_view_are_replaced_when_they_repeat(web_app: Flask) -> None:
    client = editor(web_app.test_client())
    doc = {
        "name": "Uids",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": [
            {"id": "a", "type": "delay", "seconds": 1, "__uid": "s0"},
            {"id": "b", "type": "for_each", "items": "{{ [1] }}", "__uid": "s0", "steps": []},
        ],
    }
    page = guided(client, doc)
    assert [v for k, v in form_fields(page, "editor") if k == "step"] == ["s0", "s1"]
    page = post(client, page, "add:delay@s1.body").text
    assert [s["id"] for s in raw_document(client, page)["steps"][1]["steps"]] == ["step_3"]
