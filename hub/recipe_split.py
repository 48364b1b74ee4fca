"""An A/B split of a recipe's new runs between its versions, by weight.

Each new run goes to one version chosen from a hash of its event's key (the vendor's event id when
the trigger gives one, else the stored event's id), so the same event always lands on the same
version: a repeat of it, a replay of its run, another process, another day.

Only the current version's trigger is registered (webhook endpoints, vendor subscriptions, poll jobs,
schedules) and every event is received and verified with it. A version in a split must therefore take
events exactly like the current one: the same trigger (connector, trigger, connection, config,
secrets included) and the same webhook wait_for steps (their hook URLs and vendor registrations
follow the current version too). `check_compatible` refuses any other split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.recipes import is_whole_number, iter_steps, step_type
from hub.sdk.connector import WebhookTrigger
from hub.sdk.errors import RecipeError

if TYPE_CHECKING:
    from hub.registry import Registry

Weights = dict[int, int]


class SplitError(RecipeError):
    """A split the hub cannot run; `path` names the bad field of the request."""

    code = "invalid_split"


def event_key(dedupe_key: str | None, event_id: int) -> str:
    """What a run's version is chosen by: its event's vendor id (as deduplicated), else its row id."""
    return dedupe_key or f"event:{event_id}"


def choose_version(recipe_id: int, split: Mapping[str, int] | None, current: int, key: str) -> int:
    """The version a new run of this event starts: by the split's weights, or the current version.

    A SHA-256 of the recipe and the event key picks a point in [0, total weight); the versions, in
    order, own consecutive ranges as wide as their weights."""
    if not split:
        return current
    weights = sorted((int(version), weight) for version, weight in split.items())
    total = sum(weight for _version, weight in weights)
    digest = hashlib.sha256(f"{recipe_id}:{key}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for version, weight in weights:
        if point < weight:
            return version
        point -= weight
    raise AssertionError("unreachable: the point lies below the total weight")


def parse_weights(data: Any) -> Weights:
    """{"versions": {"3": 50, "4": 50}} -> {3: 50, 4: 50}; a SplitError naming the bad field otherwise."""
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
        raise SplitError(
            '$.versions: give an object of version number to weight, e.g. {"3": 50, "4": 50}',
            path="$.versions",
        )
    weights: Weights = {}
    for name, weight in data["versions"].items():
        path = f"$.versions.{name}"
        if not str(name).isdigit() or int(name) < 1:
            raise SplitError(f"{path}: '{name}' is not a version number", path=path)
        if not is_whole_number(weight) or weight < 0:
            raise SplitError(f"{path}: the weight must be a whole number, 0 or more", path=path)
        weights[int(name)] = int(weight)
    if len(weights) < 2:
        raise SplitError("$.versions: a split needs two or more versions", path="$.versions")
    if sum(weights.values()) <= 0:
        raise SplitError("$.versions: the weights must add up to more than 0", path="$.versions")
    return weights


def registration(document: dict[str, Any], registry: Registry) -> list[Any]:
    """What decides how a version receives events: its trigger and its webhook wait_for steps."""
    spec = document["trigger"]
    found: list[Any] = [
        [spec["connector"], spec["trigger"], spec.get("connection"), spec.get("config") or {}]
    ]
    for _phase, _path, step in iter_steps(document):
        if step_type(step) != "wait_for":
            continue
        connector = registry.get(step["connector"])
        if isinstance(connector.trigger(step["trigger"]) if connector else None, WebhookTrigger):
            found.append([step["id"], step["connector"], step["trigger"], step.get("connection")])
            found.append(step.get("config") or {})
    return found


def check_compatible(
    documents: Mapping[int, dict[str, Any]],
    current: int,
    current_document: dict[str, Any],
    registry: Registry,
) -> None:
    """Refuse a split whose versions do not receive events exactly like the current version."""
    wanted = registration(current_document, registry)
    for version, document in sorted(documents.items()):
        if registration(document, registry) != wanted:
            path = f"$.versions.{version}"
            raise SplitError(
                f"{path}: version {version} has a different trigger (or webhook wait_for steps) than "
                f"the current version {current}; a split is only allowed between versions whose "
                "trigger is the same, since only the current version's trigger receives events",
                path=path,
            )
