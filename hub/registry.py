"""Connectors are found through the `hub.connectors` entry-point group, built-in ones included."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points

from hub.sdk.connector import Connector

log = logging.getLogger("hub.registry")
GROUP = "hub.connectors"
BUILT_IN = "integration-hub"  # the distribution that ships the built-in connectors


@dataclass(frozen=True)
class Registered:
    connector: Connector
    source: str  # the distribution (package) that supplied it


class Registry:
    """Maps connector ids to instances and remembers which package supplied each one."""

    def __init__(self) -> None:
        self._items: dict[str, Registered] = {}
        self._lock = threading.Lock()

    def register(self, connector: Connector | type[Connector], source: str = "local") -> Connector:
        instance = connector() if isinstance(connector, type) else connector
        if not instance.id:
            raise ValueError(f"connector from {source} has no id")
        with self._lock:
            existing = self._items.get(instance.id)
            if existing and existing.source != source:
                log.warning(
                    "event=connector_conflict id=%s kept=%s ignored=%s", instance.id, existing.source, source
                )
                return existing.connector
            self._items[instance.id] = Registered(instance, source)
        return instance

    def load_entry_points(self, only: str | None = None) -> None:
        """Every installed connector, or with `only` those of one distribution (docs list the built-ins
        whatever plugins the machine generating them has installed)."""
        for ep in entry_points(group=GROUP):
            source = ep.dist.name if ep.dist else ep.value
            if only is not None and source != only:
                continue
            try:
                self.register(ep.load(), source=source)
            except Exception as exc:  # a broken plugin must not take the hub down
                log.error(
                    "event=connector_load_failed entry_point=%s source=%s error=%s", ep.name, source, exc
                )

    def get(self, connector_id: str) -> Connector | None:
        found = self._items.get(connector_id)
        return found.connector if found else None

    def source(self, connector_id: str) -> str | None:
        found = self._items.get(connector_id)
        return found.source if found else None

    def all(self) -> list[Connector]:
        return [item.connector for item in sorted(self._items.values(), key=lambda r: r.connector.id)]


def built_in_registry() -> Registry:
    """Only the connectors that ship with the hub."""
    registry = Registry()
    registry.load_entry_points(only=BUILT_IN)
    return registry


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry, loaded from entry points on first use."""
    global _default
    with _default_lock:
        if _default is None:
            registry = Registry()
            registry.load_entry_points()
            _default = registry
        return _default
