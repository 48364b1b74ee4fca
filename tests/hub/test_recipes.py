"""Recipe validation: every error names the JSON path of the bad field; secrets never leave in exports."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hub.recipes import keep_secrets, recipe_schema, validate_document, without_secrets
from hub.registry import Registry
from hub.sdk.errors import RecipeError

CONNECTIONS = {"smtp": "email", "api": "http", "oa": "feishu", "crm": "salesforce"}


@pytest.fixture(scope="module")
def registry() -> Registry:
    found = Registry()
    found.load_entry_points()
    return found


def base() -> dict[str, Any]:
    return {
        "name": "Won deal",
        "trigger": {
            "connector": "webhook",
            "trigger": "catch",
            "config": {"auth": "hmac_sha256", "secret": "topsecret"},
        },
        "filter": "{{ event.amount > 1000 }}",
        "steps": [
            {
                "id": "call",
                "connector": "http",
                "action": "request",
                "connection": "api",
                "input": {"method": "POST", "url": "https://example.com/x", "json": {"a": "{{ event.a }}"}},
            },
            {"id": "pause", "type": "delay", "seconds": 60},
            {
                "id": "sign",
                "connector": "webhook",
                "action": "post",
                "input": {"url": "https://example.com", "secret": "k2"},
            },
        ],
        "on_failure": [
            {
                "id": "alert",
                "connector": "email",
                "action": "send_email",
                "connection": "smtp",
                "input": {"to": "ops@example.com", "subject": "failed: {{ error.message }}", "text": "x"},
            }
        ],
    }


def check(registry: Registry, document: Any) -> dict[str, Any]:
    return validate_document(document, registry, CONNECTIONS.get)


def error_path(registry: Registry, document: Any) -> str:
    with pytest.raises(RecipeError) as caught:
        check(registry, document)
    assert caught.value.path in caught.value.message
    return caught.value.path


def test_valid_document_gets_defaults(registry: Registry) -> None:
    doc = check(registry, base())
    assert doc["enabled"] is True


def mutate(change: Any) -> dict[str, Any]:
    doc = base()
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.pop("name"), "$"),
        (lambda d: d["steps"][0].update(connector="nope"), "$.steps[0].connector"),
        (lambda d: d["steps"][0].update(action="nope"), "$.steps[0].action"),
        (lambda d: d["steps"][0].update(connection="missing"), "$.steps[0].connection"),
        (lambda d: d["steps"][0].update(connection="smtp"), "$.steps[0].connection"),
        (lambda d: d["steps"][0]["input"].update(method="FETCH"), "$.steps[0].input.method"),
        (lambda d: d["steps"][0]["input"].pop("url"), "$.steps[0].input"),
        (lambda d: d["steps"][0]["input"]["json"].update(a="{{ event.a "), "$.steps[0].input.json.a"),
        (lambda d: d.update(filter="{% if %}"), "$.filter"),
        (lambda d: d["steps"][1].update(id="call"), "$.steps[1].id"),
        (lambda d: d["steps"][1].update(seconds=-5), "$.steps[1].seconds"),
        (lambda d: d["steps"][0].update(id="Bad Id"), "$.steps[0].id"),
        (lambda d: d["steps"][0].update(extra=1), "$.steps[0]"),
        (lambda d: d["trigger"].update(trigger="nope"), "$.trigger.trigger"),
        (lambda d: d["trigger"]["config"].update(auth="md5"), "$.trigger.config.auth"),
        (lambda d: d["trigger"]["config"].pop("secret"), "$.trigger.config"),
        (lambda d: d["on_failure"][0].update(connection=None), "$.on_failure[0].connection"),
        (lambda d: d["on_failure"][0]["input"].pop("subject"), "$.on_failure[0].input"),
    ],
)
def test_errors_name_the_path(registry: Registry, change: Any, path: str) -> None:
    assert error_path(registry, mutate(change)) == path


def test_templated_values_are_judged_after_rendering(registry: Registry) -> None:
    doc = base()
    doc["steps"][0]["input"]["method"] = "{{ event.method }}"
    doc["steps"][0]["input"]["timeout_s"] = "{{ event.timeout }}"
    check(registry, doc)


def approval_wait(trigger: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "approved",
        "type": "wait_for",
        "connector": "feishu",
        "trigger": trigger,
        "connection": "oa",
        "config": config,
        "match": {"instance_code": "{{ steps.call.body.instance_code }}"},
    }


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"approval_code": "{{ steps.call.body.code }}"}, "$.steps[3].config.approval_code"),
        ({"approval_code": "A", "statuses": ["APPROVED", "{{ event.s }}"]}, "$.steps[3].config.statuses[1]"),
        ({"approval_code": "{% if event.x %}A{% endif %}"}, "$.steps[3].config.approval_code"),
    ],
)
def test_webhook_wait_config_refuses_templates(registry: Registry, config: Any, path: str) -> None:
    """One hook URL and one vendor registration serve every run waiting on the step: no per-run config."""
    doc = base()
    doc["steps"].append(approval_wait("approval_status", config))
    with pytest.raises(RecipeError) as caught:
        check(registry, doc)
    assert caught.value.path == path
    assert caught.value.message.startswith(
        f"{path}: a wait_for step on the webhook trigger feishu.approval_status"
    )
    assert "match" in caught.value.message
    doc["steps"][3]["config"] = {"approval_code": "APR-1", "statuses": ["APPROVED"]}
    assert check(registry, doc)["steps"][3]["config"]["approval_code"] == "APR-1"
    doc["on_failure"].append({**approval_wait("approval_status", config), "id": "late"})
    assert error_path(registry, doc) == path.replace("$.steps[3]", "$.on_failure[1]")


def test_polling_wait_config_keeps_templates(registry: Registry) -> None:
    """A polling wait's config is rendered for each run that parks on it."""
    doc = base()
    config = {"approval_code": "APR-1", "instance_code": "{{ steps.call.body.instance_code }}"}
    doc["steps"].append(approval_wait("approval_status_poll", config))
    assert check(registry, doc)["steps"][3]["config"] == config
    doc["steps"][3]["config"]["instance_code"] = "{{ steps.call.body. }}"
    assert error_path(registry, doc) == "$.steps[3].config.instance_code"  # still compiled at save


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda w: w.update(trigger="nope"), "$.steps[3].trigger", "has no trigger 'nope'"),
        (
            lambda w: w.update(connector="schedule", trigger="cron", connection=None),
            "$.steps[3].trigger",
            "schedule trigger",
        ),
        (lambda w: w["config"].update(colour="red"), "$.steps[3].config", "colour"),
        (lambda w: w["config"].update(statuses=["DONE"]), "$.steps[3].config.statuses[0]", "DONE"),
        (lambda w: w["config"].update(max_age_s=-1), "$.steps[3].config.max_age_s", "-1"),
        (lambda w: w.update(connection="missing"), "$.steps[3].connection", "unknown connection"),
        (lambda w: w.update(connection="smtp"), "$.steps[3].connection", "belongs to connector 'email'"),
        (lambda w: w.pop("connection"), "$.steps[3].connection", "needs a connection"),
        (lambda w: w.update(match=["instance_code"]), "$.steps[3].match", "not of type 'object'"),
        (lambda w: w.update(match={"a": {"b": 1}}), "$.steps[3].match.a", "not of type"),
        (lambda w: w.update(timeout_s=0), "$.steps[3].timeout_s", "minimum"),
        (lambda w: w.update(timeout_s="1h"), "$.steps[3].timeout_s", "not of type 'number'"),
    ],
)
def test_wait_for_step_is_checked_at_save_like_an_action(
    registry: Registry, change: Any, path: str, words: str
) -> None:
    """The waited-for trigger, its config, its connection, match and timeout are judged at save."""
    doc = base()
    doc["steps"].append(approval_wait("approval_status", {"approval_code": "APR-1"}))
    check(registry, doc)
    change(doc["steps"][3])
    with pytest.raises(RecipeError) as caught:
        check(registry, doc)
    assert caught.value.path == path
    assert caught.value.message.startswith(f"{path}: ") and words in caught.value.message


def test_polling_wait_config_is_checked_against_the_trigger(registry: Registry) -> None:
    """Schema and check_config of a polling wait's trigger apply too; templated values wait for the run."""
    doc = base()
    doc["steps"].append(approval_wait("approval_status_poll", {}))
    assert error_path(registry, doc) == "$.steps[3].config"  # approval_code is required
    doc["steps"][3]["config"] = {"approval_code": "APR-1", "lookback_hours": "{{ event.hours }}"}
    check(registry, doc)
    wait = {
        "id": "changed",
        "type": "wait_for",
        "connector": "salesforce",
        "trigger": "record_changed",
        "connection": "crm",
        "config": {"sobject": "Opportunity; DROP"},
    }
    doc["steps"][3] = wait
    with pytest.raises(RecipeError) as caught:
        check(registry, doc)
    assert caught.value.path == "$.steps[3].config" and "sObject" in caught.value.message
    wait["config"]["sobject"] = "{{ event.kind }}"  # known only once rendered for the run
    check(registry, doc)


def test_bad_cron_is_caught_at_save(registry: Registry) -> None:
    doc = base()
    doc["trigger"] = {"connector": "schedule", "trigger": "cron", "config": {"expression": "61 * * * *"}}
    assert error_path(registry, doc) == "$.trigger.config"
    doc["trigger"]["config"] = {"expression": "0 9 * * 1-5", "timezone": "Mars/Olympus"}
    assert error_path(registry, doc) == "$.trigger.config"
    doc["trigger"]["config"]["timezone"] = "Asia/Shanghai"
    check(registry, doc)


def test_not_an_object(registry: Registry) -> None:
    assert error_path(registry, ["not", "a", "recipe"]) == "$"


def test_export_hides_secrets_and_resave_keeps_them(registry: Registry) -> None:
    doc = check(registry, base())
    public = without_secrets(doc, registry)
    text = str(public)
    assert "topsecret" not in text and "k2" not in text
    assert public["trigger"]["config"]["secret"] == "[REDACTED]"
    edited = copy.deepcopy(public)
    edited["name"] = "renamed"
    restored = keep_secrets(edited, doc, registry)
    assert restored["trigger"]["config"]["secret"] == "topsecret"
    assert restored["steps"][2]["input"]["secret"] == "k2"


def test_schema_file_is_valid_json_schema() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(recipe_schema())
