"""Executing a run, one module per concern.

`runner` takes a run and ends it; `lease` holds it against other workers; `state` is what was read
of it and the template context; `execution` bundles both with the writes a step makes; `walker`
runs a list of steps (at the top level or inside a branch, parallel or for_each); `kinds` maps a
step `type` to its module; `attempt` is one action call; `outcomes` are the typed results (`Done`,
`Skipped`, `Parked`, `Failed`) that pass between them; `parks` joins the parks of nested steps into
one release of the run, `fanout` runs branches and items at once on threads, `spread` (with
`branch_task`, `sublease` and `branch_rows`) runs them as tasks of their own under Celery,
`nesting` knows the shape of nested steps.
"""
