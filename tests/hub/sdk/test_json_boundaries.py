"""The JSON policy at the SDK's two boundaries: webhook bodies (InboundRequest) and vendor answers
(HttpResponse), and a run whose vendor answers with JSON the hub cannot take."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select

from hub.db.models import StepRun
from hub.engine.intake import store_events
from hub.engine.runner import Runner
from hub.jsonutil import check_storable
from hub.recipe_store import save_recipe
from hub.runtime import Runtime
from hub.sdk.errors import InvalidBodyError, PermanentError, VendorResponseError
from hub.sdk.http import HttpResponse
from hub.sdk.types import InboundRequest, TriggerEvent

BAD_BODIES = {
    "nan": (b'{"amount": NaN}', "NaN is not allowed"),
    "infinity": (b"[1, -Infinity]", "-Infinity is not allowed"),
    "lone_surrogate_value": (b'{"name": "\\ud800"}', "lone surrogate \\ud800 is not allowed at $.name"),
    "lone_surrogate_key": (b'{"\\udfff": 1}', "lone surrogate \\udfff is not allowed in a key at $"),
    "nul": (b'{"a": ["x\\u0000"]}', "NUL character (\\u0000) is not allowed at $.a[0]"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "nesting deeper than 256"),
    "unclosed_deep": (b'{"a":' * 100_000, "nesting deeper than 256"),
    "bad_utf8": (b'"\xed\xa0\x80"', "not UTF-8"),
    "syntax": (b"{", "Expecting property name"),
}


def inbound(body: bytes, content_type: str = "application/json") -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://hub.example.com/hooks/t",
        path="/hooks/t",
        headers={"Content-Type": content_type},
        query={},
        body=body,
    )


def answer(body: bytes, status: int = 200) -> HttpResponse:
    headers = CaseInsensitiveDict({"Content-Type": "application/json"})
    return HttpResponse(
        status=status, headers=headers, content=body, url="https://api.example.com/x", elapsed_ms=1
    )


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_webhook_body_json_is_refused_with_a_message_naming_the_problem(case: str) -> None:
    body, problem = BAD_BODIES[case]
    with pytest.raises(InvalidBodyError, match=r"^body is not valid JSON: ") as caught:
        inbound(body).json()
    assert problem in caught.value.message


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_vendor_answer_json_is_a_typed_permanent_error(case: str) -> None:
    body, problem = BAD_BODIES[case]
    with pytest.raises(VendorResponseError) as caught:
        answer(body, status=201).json()
    assert isinstance(caught.value, PermanentError) and caught.value.status == 201
    assert problem in caught.value.message and "HTTP 201" in caught.value.message


def test_good_json_keeps_decimals_surrogate_pairs_and_brackets_in_strings() -> None:
    body = '{"amount": 12345678901234567.89, "emoji": "\\ud83d\\ude00", "text": "' + "[" * 1000 + '"}'
    expected = {"amount": Decimal("12345678901234567.89"), "emoji": "😀", "text": "[" * 1000}
    assert inbound(body.encode()).json() == expected
    assert answer(b"\xef\xbb\xbf" + body.encode()).json() == expected  # a BOM is tolerated


def test_nesting_up_to_the_bound_is_accepted() -> None:
    assert inbound(b"[" * 256 + b"]" * 256).json() is not None
    with pytest.raises(InvalidBodyError, match="nesting deeper than 256"):
        inbound(b"[" * 257 + b"]" * 257).json()


@pytest.mark.parametrize(
    ("body", "problem"),
    [(b"name=%ED%A0%80", "not UTF-8"), (b"a=1&b=%FF", "not UTF-8"), (b"x=\xff", "not UTF-8")],
)
def test_form_bodies_with_encoded_surrogates_or_bad_bytes_are_refused(body: bytes, problem: str) -> None:
    with pytest.raises(InvalidBodyError, match=problem):
        inbound(body, "application/x-www-form-urlencoded").form()


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_body_gives_storable_json_or_the_typed_error(body: bytes) -> None:
    for parse, error in ((inbound(body).json, InvalidBodyError), (answer(body).json, VendorResponseError)):
        try:
            value = parse()
        except error:
            continue
        check_storable(value)  # whatever is accepted can be stored


json_texts = st.recursive(
    st.sampled_from(["1", "-0.5e3", "null", "true", '"\\ud800"', '"\\u0000"', "NaN", "Infinity", '"a"']),
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")
        | st.lists(
            st.tuples(st.sampled_from(['"k"', '"\\udc00"']), inner), max_size=2, unique_by=lambda kv: kv[0]
        ).map(lambda kv: "{" + ",".join(f"{k}:{v}" for k, v in kv) + "}")
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(text=json_texts)
def test_json_texts_with_edge_values_are_decoded_only_when_storable(text: str) -> None:
    poisoned = any(bad in text for bad in ("NaN", "Infinity", "\\ud800", "\\udc00", "\\u0000"))
    try:
        answer(text.encode()).json()
    except VendorResponseError:
        assert poisoned
    else:
        assert not poisoned


def run_http_step(rt: Runtime) -> StepRun:
    doc = {
        "name": "vendor",
        "trigger": {"connector": "webhook", "trigger": "catch", "config": {}},
        "steps": [
            {
                "id": "call",
                "connector": "http",
                "action": "request",
                "input": {"url": "https://api.example.com/x"},
            }
        ],
    }
    with rt.db.transaction() as session:
        recipe = save_recipe(session, rt, doc)
        stored = store_events(
            session, recipe_id=recipe.id, recipe_version=1, source="test", events=[TriggerEvent(data={})]
        )
    run_id = stored[0].run_id
    assert run_id is not None
    Runner(rt).execute(run_id)
    with rt.db.transaction() as session:
        return session.scalars(select(StepRun).where(StepRun.run_id == run_id)).one()


@responses.activate
@pytest.mark.parametrize("body", [b'{"total": NaN}', b'{"name": "\\ud800"}', b"[" * 100_000], ids=str)
def test_a_run_whose_vendor_answers_bad_json_fails_its_step_with_the_typed_error(
    runtime: Runtime, body: bytes
) -> None:
    responses.get("https://api.example.com/x", body=body, content_type="application/json")
    step = run_http_step(runtime)
    assert step.status == "failed"
    error: dict[str, Any] = step.error
    assert error["code"] == "vendor_response" and error["type"] == "VendorResponseError"
    assert error["message"].startswith("response is not valid JSON (application/json): ")
