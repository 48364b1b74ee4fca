"""HubSpot webhook signatures (documented examples), event parsing, and the search-based poll."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from connectors.hubspot import connector, signing
from hub.sdk.context import Context
from hub.sdk.errors import SignatureError
from hub.sdk.types import InboundRequest

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"  # the placeholder secret of HubSpot's examples
URL = "https://www.example.com/webhook_uri"
# HubSpot's documented v1 example body and its published hash.
V1_BODY = (
    b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
    b'"changeFlag":"NEW","appId":54321}]'
)
V1_HASH = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
V2_BODY = b'{"example_field":"example_value"}'
V2_HASH = "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"
TRIGGER = connector.trigger("object_changed")


def inbound(body: bytes, headers: dict[str, str], url: str = URL, method: str = "POST") -> InboundRequest:
    return InboundRequest(method=method, url=url, path="/webhook_uri", headers=headers, query={}, body=body)


def v3_headers(
    body: bytes, url: str = URL, timestamp: int | None = None, method: str = "POST"
) -> dict[str, str]:
    """Signed by the documented v3 recipe, written out independently of the code under test."""
    ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
    source = f"{method}{url}".encode() + body + ts.encode()
    digest = base64.b64encode(hmac.new(SECRET.encode(), source, hashlib.sha256).digest()).decode()
    return {"X-HubSpot-Signature-v3": digest, "X-HubSpot-Request-Timestamp": ts}


def ctx() -> Context:
    return Context(
        connector=connector, connection={"client_id": "cid", "client_secret": SECRET, "access_token": "t"}
    )


def test_documented_v1_and_v2_examples_match_when_legacy_is_allowed() -> None:
    assert signing.legacy_signature(SECRET, "v1", "POST", URL, V1_BODY) == V1_HASH
    assert signing.legacy_signature(SECRET, "v2", "POST", URL, V2_BODY) == V2_HASH
    v1 = inbound(V1_BODY, {"X-HubSpot-Signature": V1_HASH, "X-HubSpot-Signature-Version": "v1"})
    v2 = inbound(V2_BODY, {"X-HubSpot-Signature": V2_HASH, "X-HubSpot-Signature-Version": "v2"})
    TRIGGER.verify(ctx(), {"allow_legacy_signatures": True}, v1)
    TRIGGER.verify(ctx(), {"allow_legacy_signatures": True}, v2)
    with pytest.raises(SignatureError, match="requires v3"):
        TRIGGER.verify(ctx(), {}, v1)  # no timestamp means no replay protection: off by default
    tampered = inbound(V1_BODY.replace(b"123", b"124"), v1.headers)
    with pytest.raises(SignatureError):
        TRIGGER.verify(ctx(), {"allow_legacy_signatures": True}, tampered)


def test_v3_signature_of_the_documented_example_is_accepted() -> None:
    ts = 1764000000000
    headers = v3_headers(V1_BODY, timestamp=ts)
    assert signing.v3_signature(SECRET, "POST", URL, V1_BODY, str(ts)) == headers["X-HubSpot-Signature-v3"]
    TRIGGER.verify(ctx(), {}, inbound(V1_BODY, v3_headers(V1_BODY)))
    assert signing.check(SECRET, inbound(V1_BODY, headers), now=ts / 1000 + 299) == "v3"


def test_v3_uri_has_hubspots_listed_escapes_decoded_before_signing() -> None:
    sent_url = "https://hub.example.com/hooks/abc?from=a%40b.com&x=%2Fy%3Az"
    headers = v3_headers(V1_BODY, url="https://hub.example.com/hooks/abc?from=a@b.com&x=/y:z")
    TRIGGER.verify(ctx(), {}, inbound(V1_BODY, headers, url=sent_url))
    assert signing.signed_uri("https://h/p?q=%20%3a") == "https://h/p?q=%20:"  # %20 stays


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"body": V1_BODY + b" "}, "does not match"),
        ({"url": "https://www.example.com/other"}, "does not match"),
        ({"method": "PUT"}, "does not match"),
        ({"timestamp": lambda ts: str(int(ts) + 1)}, "does not match"),
        ({"secret": "another-secret"}, "does not match"),
    ],
)
def test_v3_tampering_is_refused(change: dict[str, Any], message: str) -> None:
    headers = v3_headers(V1_BODY)
    if "timestamp" in change:
        headers["X-HubSpot-Request-Timestamp"] = change["timestamp"](headers["X-HubSpot-Request-Timestamp"])
    request = inbound(
        change.get("body", V1_BODY), headers, url=change.get("url", URL), method=change.get("method", "POST")
    )
    context = ctx()
    context.connection["client_secret"] = change.get("secret", SECRET)
    with pytest.raises(SignatureError, match=message):
        TRIGGER.verify(context, {}, request)


def test_v3_replay_older_than_five_minutes_and_missing_headers_are_refused() -> None:
    old = int((time.time() - 301) * 1000)
    with pytest.raises(SignatureError, match="5 minutes"):
        TRIGGER.verify(ctx(), {}, inbound(V1_BODY, v3_headers(V1_BODY, timestamp=old)))
    future = int((time.time() + 600) * 1000)
    with pytest.raises(SignatureError, match="5 minutes"):
        TRIGGER.verify(ctx(), {}, inbound(V1_BODY, v3_headers(V1_BODY, timestamp=future)))
    no_ts = v3_headers(V1_BODY)
    del no_ts["X-HubSpot-Request-Timestamp"]
    with pytest.raises(SignatureError, match="Timestamp"):
        TRIGGER.verify(ctx(), {}, inbound(V1_BODY, no_ts))
    with pytest.raises(SignatureError, match="missing"):
        TRIGGER.verify(ctx(), {}, inbound(V1_BODY, {}))
    no_secret = ctx()
    no_secret.connection.pop("client_secret")
    with pytest.raises(SignatureError, match="client secret"):
        TRIGGER.verify(no_secret, {}, inbound(V1_BODY, v3_headers(V1_BODY)))


@pytest.mark.parametrize("stamp", ["\u00b2", "\u0661\u0667\u0660\u0660"])
def test_a_timestamp_of_non_ascii_digits_is_a_signature_error_not_a_crash(stamp: str) -> None:
    # Latin-1 header text can hold "²": str.isdigit() passed it and int() then raised ValueError.
    headers = {**v3_headers(V1_BODY), "X-HubSpot-Request-Timestamp": stamp}
    with pytest.raises(SignatureError, match="X-HubSpot-Request-Timestamp is not a Unix time"):
        TRIGGER.verify(ctx(), {}, inbound(V1_BODY, headers))


def test_parse_splits_the_batch_filters_and_gives_retry_stable_ids() -> None:
    events = [
        {
            "eventId": 100,
            "subscriptionId": 2400,
            "portalId": 62515,
            "appId": 54321,
            "occurredAt": 1764000000000,
            "subscriptionType": "deal.propertyChange",
            "attemptNumber": 0,
            "objectId": 7001,
            "propertyName": "dealstage",
            "propertyValue": "closedwon",
            "changeSource": "CRM",
        },
        {
            "eventId": 101,
            "occurredAt": 1764000000001,
            "subscriptionType": "deal.propertyChange",
            "objectId": 7002,
            "propertyName": "amount",
            "propertyValue": "10",
        },
        {"eventId": 102, "occurredAt": 1764000000002, "subscriptionType": "contact.creation", "objectId": 5},
    ]
    body = json.dumps(events).encode()
    parsed = TRIGGER.parse(ctx(), {}, inbound(body, {}))
    assert [e.id for e in parsed] == [
        "100:7001:1764000000000",
        "101:7002:1764000000001",
        "102:5:1764000000002",
    ]
    assert parsed[0].data["objectType"] == "deal" and parsed[0].data["change"] == "propertyChange"
    assert parsed[2].data["objectType"] == "contact" and parsed[2].data["change"] == "creation"
    config = {"subscription_types": ["deal.propertyChange"], "property_names": ["dealstage"]}
    only = TRIGGER.parse(ctx(), config, inbound(body, {}))
    assert [e.data["objectId"] for e in only] == [7001]
    generic = {
        "eventId": 9,
        "occurredAt": 1,
        "subscriptionType": "object.propertyChange",
        "objectTypeId": "0-3",
        "objectId": 7001,
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
    }
    parsed_generic = TRIGGER.parse(ctx(), {}, inbound(json.dumps([generic]).encode(), {}))
    assert (
        parsed_generic[0].data["objectType"] == "deal"
        and parsed_generic[0].data["change"] == "propertyChange"
    )
    retried = [{**events[0], "attemptNumber": 3}]
    assert TRIGGER.parse(ctx(), {}, inbound(json.dumps(retried).encode(), {}))[0].id == parsed[0].id


POLL = connector.trigger("object_changed_poll")
SEARCH = "https://api.hubapi.com/crm/v3/objects/deals/search"


def deal(deal_id: str, modified: str) -> dict[str, Any]:
    return {
        "id": deal_id,
        "properties": {"dealname": f"Deal {deal_id}", "hs_lastmodifieddate": modified},
        "createdAt": "2026-11-01T00:00:00Z",
        "updatedAt": modified,
        "archived": False,
    }


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


@responses.activate
def test_poll_searches_from_cursor_minus_overlap_ascending_and_pages_with_after() -> None:
    page1 = {
        "total": 3,
        "results": [deal("1", "2026-11-20T10:00:00.000Z"), deal("2", "2026-11-20T10:00:05.000Z")],
        "paging": {"next": {"after": "2"}},
    }
    page2 = {
        "total": 3,
        "results": [deal("2", "2026-11-20T10:00:05.000Z"), deal("3", "2026-11-20T10:01:00.500Z")],
    }
    route = responses.post(SEARCH, json=page1)
    responses.post(SEARCH, json=page2)
    cursor = str(ms("2026-11-20T10:00:00Z"))
    result = POLL.poll(ctx(), {"object_type": "deals", "properties": ["dealname"], "overlap_s": 60}, cursor)
    first = json.loads(route.calls[0].request.body)
    assert first == {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "hs_lastmodifieddate",
                        "operator": "GTE",
                        "value": str(int(cursor) - 60000),
                    }
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["dealname", "hs_lastmodifieddate"],
        "limit": 100,
    }
    assert json.loads(responses.calls[1].request.body)["after"] == "2"
    ids = [e.id for e in result.items]
    assert ids == [
        f"1:{ms('2026-11-20T10:00:00Z')}",
        f"2:{ms('2026-11-20T10:00:05Z')}",
        f"3:{ms('2026-11-20T10:01:00.500Z')}",
    ]  # deal 2 came twice (records moved between pages) and is kept once
    assert result.cursor == str(ms("2026-11-20T10:01:00.500Z"))
    assert result.items[0].data["objectType"] == "deals"


@responses.activate
def test_poll_same_record_changed_again_is_a_new_item_and_contacts_use_lastmodifieddate() -> None:
    route = responses.post(
        "https://api.hubapi.com/crm/v3/objects/contacts/search",
        json={"total": 1, "results": [{"id": "9", "properties": {"lastmodifieddate": "1764000000000"}}]},
    )
    result = POLL.poll(ctx(), {"object_type": "contacts"}, "1764000000000")
    body = json.loads(route.calls[0].request.body)
    assert body["filterGroups"][0]["filters"][0]["propertyName"] == "lastmodifieddate"
    assert body["filterGroups"][0]["filters"][0]["value"] == str(1764000000000 - 120000)  # default overlap
    assert result.items[0].id == "9:1764000000000"


@responses.activate
def test_empty_page_keeps_the_cursor_and_never_jumps_to_now() -> None:
    responses.post(SEARCH, json={"total": 0, "results": []})
    assert POLL.poll(ctx(), {"object_type": "deals"}, "1764000000000").cursor == "1764000000000"
    assert POLL.poll(ctx(), {"object_type": "deals"}, "1764000000000").items == []


@responses.activate
def test_first_poll_starts_at_the_backfill_date_and_extra_filters_are_anded() -> None:
    route = responses.post(SEARCH, json={"total": 0, "results": []})
    context = ctx()
    context.since = datetime(2026, 1, 1, tzinfo=UTC)
    extra = {"propertyName": "pipeline", "operator": "EQ", "value": "default"}
    result = POLL.poll(context, {"object_type": "deals", "filters": [extra], "overlap_s": 0}, None)
    filters = json.loads(route.calls[0].request.body)["filterGroups"][0]["filters"]
    assert filters == [
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "1767225600000"},
        extra,
    ]
    assert result.cursor == "1767225600000"


@responses.activate
def test_page_cap_stops_with_the_cursor_at_the_last_returned_record() -> None:
    responses.post(
        SEARCH,
        json={
            "total": 500,
            "results": [deal("1", "2026-11-20T10:00:00Z")],
            "paging": {"next": {"after": "1"}},
        },
    )
    result = POLL.poll(ctx(), {"object_type": "deals", "max_pages": 1}, "1")
    assert len(responses.calls) == 1 and result.cursor == str(ms("2026-11-20T10:00:00Z"))
