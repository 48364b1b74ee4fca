"""Save-time checks of flow steps: nested steps are checked like top-level ones, every problem is
reported at once with its JSON path, and templates may only name steps that can have run."""

from __future__ import annotations

from typing import Any

import pytest

from hub.recipe_calls import CallGraph
from hub.recipe_tree import iter_steps
from hub.recipes import validate_document
from hub.registry import Registry
from hub.sdk.errors import RecipeProblems

CONNECTIONS = {"smtp": "email", "api": "http", "kd": "kingdee"}


@pytest.fixture(scope="module")
def registry() -> Registry:
    found = Registry()
    found.load_entry_points()
    return found


def post(step_id: str, body: str = "{{ event.id }}") -> dict[str, Any]:
    return {
        "id": step_id,
        "connector": "http",
        "action": "request",
        "connection": "api",
        "input": {"method": "POST", "url": "https://example.com/x", "json": {"v": body}},
    }


def recipe(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "flow",
        "trigger": {"connector": "webhook", "trigger": "catch"},
        "steps": list(steps),
        **extra,
    }


def problems(registry: Registry, document: dict[str, Any], calls: CallGraph | None = None) -> dict[str, str]:
    with pytest.raises(RecipeProblems) as caught:
        validate_document(document, registry, CONNECTIONS.get, calls=calls)
    found = {p["path"]: p["message"] for p in caught.value.problems}
    assert len(found) == len(caught.value.problems)  # one line per place
    return found


def approval_chain() -> dict[str, Any]:
    """Approval by amount: a branch whose cases nest a parallel and a for_each."""
    return recipe(
        post("quote"),
        {
            "id": "route",
            "type": "branch",
            "cases": [
                {
                    "when": "{{ event.amount > 100000 }}",
                    "steps": [
                        {
                            "id": "notify",
                            "type": "parallel",
                            "branches": [[post("sms", "{{ steps.quote.json }}")], [post("mail")]],
                        }
                    ],
                },
                {
                    "when": "{{ event.amount > 1000 }}",
                    "steps": [
                        {
                            "id": "lines",
                            "type": "for_each",
                            "items": "{{ event.lines }}",
                            "steps": [
                                post("row", "{{ item.sku }} {{ loop.index }}"),
                                post("ack", "{{ steps.row }}"),
                            ],
                        }
                    ],
                },
            ],
            "default": [{"id": "small", "type": "set", "values": {"ok": "{{ steps.quote.status }}"}}],
        },
        post("after", "{{ steps.row }} {{ steps.sms }} {{ steps.small.ok }} {{ steps.route.case }}"),
        output="{{ steps.after.json }}",
    )


def test_iter_steps_visits_nested_steps_with_their_json_paths() -> None:
    visited = [(phase, path, step["id"]) for phase, path, step in iter_steps(approval_chain())]
    assert visited == [
        ("main", "$.steps[0]", "quote"),
        ("main", "$.steps[1]", "route"),
        ("main", "$.steps[1].cases[0].steps[0]", "notify"),
        ("main", "$.steps[1].cases[0].steps[0].branches[0][0]", "sms"),
        ("main", "$.steps[1].cases[0].steps[0].branches[1][0]", "mail"),
        ("main", "$.steps[1].cases[1].steps[0]", "lines"),
        ("main", "$.steps[1].cases[1].steps[0].steps[0]", "row"),
        ("main", "$.steps[1].cases[1].steps[0].steps[1]", "ack"),
        ("main", "$.steps[1].default[0]", "small"),
        ("main", "$.steps[2]", "after"),
    ]


def test_a_valid_nested_recipe_passes(registry: Registry) -> None:
    doc = validate_document(approval_chain(), registry, CONNECTIONS.get)
    assert doc["steps"][1]["cases"][1]["steps"][0]["steps"][0]["input"]["method"] == "POST"


def test_nested_steps_are_checked_against_their_connectors(registry: Registry) -> None:
    doc = approval_chain()
    notify = doc["steps"][1]["cases"][0]["steps"][0]
    notify["branches"][0][0]["connector"] = "nope"
    notify["branches"][1][0]["connection"] = "smtp"  # an email connection on an http step
    doc["steps"][1]["cases"][1]["steps"][0]["steps"][1]["input"]["method"] = 5
    found = problems(registry, doc)
    assert set(found) == {
        "$.steps[1].cases[0].steps[0].branches[0][0].connector",
        "$.steps[1].cases[0].steps[0].branches[1][0].connection",
        "$.steps[1].cases[1].steps[0].steps[1].input.method",
    }
    assert "unknown connector 'nope'" in found["$.steps[1].cases[0].steps[0].branches[0][0].connector"]


def test_every_schema_and_semantic_problem_is_reported_at_once(registry: Registry) -> None:
    doc = approval_chain()
    doc["steps"][0]["colour"] = "red"  # an unknown field
    doc["steps"][1]["default"][0]["values"] = "not an object"
    doc["steps"][2]["connector"] = "nope"
    doc["steps"].append({"id": "quote", "type": "delay", "seconds": 5})  # a duplicate id
    found = problems(registry, doc)
    assert set(found) == {
        "$.steps[0]",
        "$.steps[1].default[0].values",
        "$.steps[2].connector",
        "$.steps[3].id",
    }
    assert "colour" in found["$.steps[0]"]
    assert "duplicate step id 'quote' (first at $.steps[0])" in found["$.steps[3].id"]


def test_duplicate_ids_across_nesting_levels(registry: Registry) -> None:
    doc = approval_chain()
    doc["steps"][1]["default"][0]["id"] = "row"  # also inside the for_each
    doc["on_failure"] = [post("sms")]
    found = problems(registry, doc)
    assert "first at $.steps[1].cases[1].steps[0].steps[0]" in found["$.steps[1].default[0].id"]
    assert "duplicate step id 'sms'" in found["$.on_failure[0].id"]


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{{ steps.after.json }}", "cannot have run"),  # a later step
        ("{{ steps.mail }}", "cannot have run"),  # a sibling branch of the parallel
        ("{{ steps['small'].ok }}", "cannot have run"),  # the default, from a case
        ("{{ steps.route }}", "cannot have run"),  # the enclosing branch
        ("{{ steps.ghost }}", "no step has the id 'ghost'"),
    ],
)
def test_references_to_steps_that_cannot_have_run(registry: Registry, template: str, why: str) -> None:
    doc = approval_chain()
    doc["steps"][1]["cases"][0]["steps"][0]["branches"][0][0]["input"]["json"]["v"] = template
    found = problems(registry, doc)
    path = "$.steps[1].cases[0].steps[0].branches[0][0].input.json.v"
    assert list(found) == [path] and why in found[path]


def test_references_from_a_loop_a_case_when_and_the_run_output(registry: Registry) -> None:
    doc = approval_chain()
    doc["steps"][1]["cases"][1]["when"] = "{{ steps.lines.count > 0 }}"  # rendered before the loop runs
    doc["steps"][1]["cases"][1]["steps"][0]["items"] = "{{ steps.row }}"  # the loop's own inner step
    doc["output"] = "{{ steps.nothing }}"
    doc["filter"] = "{{ steps.quote }}"  # no step has run when the filter is tested
    found = problems(registry, doc)
    assert set(found) == {
        "$.steps[1].cases[1].when",
        "$.steps[1].cases[1].steps[0].items",
        "$.output",
        "$.filter",
    }


def test_on_failure_steps_see_every_main_step(registry: Registry) -> None:
    doc = approval_chain()
    doc["on_failure"] = [post("alert", "{{ steps.row }} {{ steps.sms }} {{ error.message }}")]
    validate_document(doc, registry, CONNECTIONS.get)


@pytest.mark.parametrize(
    ("items", "why"),
    [
        ("event.lines", "plain string"),
        ("lines: {{ event.lines }}", "text around the expression"),
        ("{{ 5 }}", "not a list"),
        ("{{ 'abc' }}", "not a list"),
        ("{{ {'a': 1} }}", "not a list"),
    ],
)
def test_for_each_items_must_be_a_list_expression(registry: Registry, items: str, why: str) -> None:
    doc = approval_chain()
    doc["steps"][1]["cases"][1]["steps"][0]["items"] = items
    found = problems(registry, doc)
    assert why in found["$.steps[1].cases[1].steps[0].items"]


def test_for_each_items_of_a_literal_list_pass(registry: Registry) -> None:
    doc = approval_chain()
    doc["steps"][1]["cases"][1]["steps"][0]["items"] = "{{ [1, 2, 3] }}"
    validate_document(doc, registry, CONNECTIONS.get)


def nest(levels: int) -> dict[str, Any]:
    """A recipe whose innermost step sits inside `levels` for_each steps."""
    inner: dict[str, Any] = post("leaf")
    for level in range(levels):
        inner = {"id": f"loop{level}", "type": "for_each", "items": "{{ event.lines }}", "steps": [inner]}
    return recipe(inner)


def test_nesting_depth_is_at_most_four(registry: Registry) -> None:
    validate_document(nest(4), registry, CONNECTIONS.get)
    found = problems(registry, nest(5))
    assert list(found) == ["$.steps[0].steps[0].steps[0].steps[0].steps[0].steps[0]"]
    assert "nested 5 levels deep" in next(iter(found.values()))


def test_at_most_500_steps_in_all(registry: Registry) -> None:
    def chunk(start: int) -> dict[str, Any]:
        return {
            "id": f"c{start}",
            "type": "parallel",
            "branches": [[post(f"s{start}-{i}")] for i in range(2)],
        }

    doc = recipe(*[chunk(n) for n in range(167)])  # 167 * 3 = 501 steps
    found = problems(registry, doc)
    assert list(found) == ["$.steps"] and "501 steps in all" in found["$.steps"]


def call(step_id: str, target: Any) -> dict[str, Any]:
    return {"id": step_id, "connector": "recipe", "action": "call", "input": {"recipe": target, "event": {}}}


def test_call_cycles_visible_at_save(registry: Registry) -> None:
    saved = {
        "2": (2, recipe(call("to_three", "three"))),
        "three": (3, recipe(call("back", 1))),
        "3": (3, recipe(call("back", 1))),
        "4": (4, recipe(post("x"))),
    }
    graph = CallGraph(saved.get, self_id=1)
    doc = recipe(
        post("first"), {"id": "fan", "type": "parallel", "branches": [[call("c2", 2)], [call("c4", "4")]]}
    )
    found = problems(registry, doc, graph)
    assert list(found) == ["$.steps[1].branches[0][0].input.recipe"]
    assert "this recipe -> recipe 2 -> recipe 3 -> this recipe" in next(iter(found.values()))
    self_call = problems(
        registry, recipe(call("me", "{{ 'x' }}"), call("again", "flow")), CallGraph(saved.get)
    )
    assert list(self_call) == ["$.steps[1].input.recipe"]  # by its own name, when saved the first time
    validate_document(recipe(call("c4", 4)), registry, CONNECTIONS.get, calls=graph)
