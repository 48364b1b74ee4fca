"""A run handed from where it was stored to a run thread of the same process, row and event with it.

A webhook's run is executed by this process moments after its ingress stored it. Reading back the
row just written, its event and its (absent) steps costs a read transaction, about a tenth of a
run's CPU; the run thread takes them from memory instead, and opens a read session only if its
recipe version is not cached (Database.read_on_demand). Nothing is trusted that could have changed
meanwhile: the run is claimed by compare-and-set in its first write like any fresh run, so one
cancelled or taken over in between is left alone. The event goes through the database's own JSON
encoding and decoding, so the run sees the types a read-back run sees (a float as a Decimal); on
PostgreSQL it keeps the order of its keys, which jsonb would sort. The executor bounds the bytes of
events it holds; past the bound a run goes by id and is read as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub import jsonutil
from hub.engine.statements import Record


@dataclass(frozen=True, slots=True)
class FreshRun:
    run: Record  # the row as inserted (INSERT ... RETURNING every column)
    event: dict[str, Any]  # the payload stored with it
    size: int  # bytes it arrived as: what the executor counts against its bound

    def stored_event(self) -> dict[str, Any]:
        """The event as reading it back would give it: the engine's JSON codec, both ways."""
        decoded: dict[str, Any] = jsonutil.loads(jsonutil.dumps(self.event))
        return decoded
