"""What a step, or a list of steps, came to: typed, so the walker decides by kind and not by sniffing.

A step either finished (`Done`, its output goes into the context), did not run (`Skipped`), gave the
run up in its own write (`Parked`: waiting, queued for a retry or a limiter slot, held for a person),
or failed with a stored error (`Failed`). A flow step that carries other steps returns the same kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Done:
    """The step succeeded; `output` is what later templates see as `steps.<id>`."""

    output: Any = None


@dataclass(frozen=True)
class Skipped:
    """The step's `when` was false: written `skipped`, seen as null by later templates."""


@dataclass(frozen=True)
class Parked:
    """The run stops here for now; whatever made it stop was already written (`status` says what)."""

    status: str


@dataclass(frozen=True)
class Failed:
    """The step failed with `error` (already stored on its row)."""

    error: dict[str, Any]


Outcome = Done | Skipped | Parked | Failed


def error_info(exc: BaseException, step_id: str | None = None) -> dict[str, Any]:
    """The stored shape of an error: message, code, type, and the vendor's details when known."""
    info: dict[str, Any] = {"message": str(getattr(exc, "message", None) or exc) or type(exc).__name__}
    info["code"] = getattr(exc, "code", "internal_error")
    info["type"] = type(exc).__name__
    for name in ("vendor_code", "status", "path"):
        value = getattr(exc, name, None)
        if value is not None:
            info[name] = value
    if step_id:
        info["step"] = step_id
    return info
