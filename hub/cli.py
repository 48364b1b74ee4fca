"""The `hub` command: serve, init, users, tokens, recipes import/export, templates, connectors, vault."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import click

from hub.config import Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _runtime(*, migrate: bool = True) -> Any:
    from hub.runtime import Runtime
    from hub.sdk.errors import VaultError

    try:
        return Runtime.create(_settings(), migrate=migrate)
    except VaultError as exc:
        raise click.ClickException(exc.message) from exc


def _logging() -> None:
    from hub.logs import configure_logging

    configure_logging(_settings())


@click.group()
@click.version_option(package_name="integration-hub")
def main() -> None:
    """Integration hub: connect your CRM to finance, OA, e-signature, SMS, email and forms."""


@main.command()
def init() -> None:
    """Create the data folder and database schema (idempotent)."""
    rt = _runtime()
    click.echo(f"database ready at {rt.settings.database_url.split('@')[-1]}; data folder {rt.settings.home}")
    rt.close()


def _start_engine(rt: Any, *, scheduler: bool, executor: bool) -> Any:
    """`executor`: execute runs in this process (local). Under celery every process sends to workers."""
    from hub.engine.executor import make_executor
    from hub.scheduler import Scheduler

    rt.executor = make_executor(rt, execute_here=executor)
    sched = None
    if scheduler:
        sched = Scheduler(rt, lease_s=rt.settings.scheduler_lease_s)
        sched.start()
    return sched


def _announce_setup_link(rt: Any) -> None:
    """While the hub has no user, print a new one-time link to create the first admin (hub/first_admin.py).

    It goes to this console only, once: the database keeps only its hash."""
    from hub import first_admin

    with rt.db.transaction() as db:
        token = first_admin.issue(db)
    if token is not None:
        click.echo(
            f"No user yet: open {rt.settings.base_url}/setup/{token} to create the first admin "
            "(this link is shown only now and works until the first admin exists).",
            err=True,
        )


def _serve_wsgi(
    rt: Any,
    host: str,
    port: int,
    threads: int,
    sched: Any,
    sock: Any = None,
    balance: Any = None,
    *,
    setup_link: bool = False,
) -> None:
    import os

    from hub.app import create_app
    from hub.server import bind, run_waitress, settle_heap

    if not os.environ.get("HUB_BASE_URL"):  # show webhook addresses on the port actually served
        rt.settings.base_url = f"http://{host}:{port}"
    app = create_app(rt)
    settle_heap()
    sock = sock if sock is not None else bind(host, port)
    click.echo(f"hub listening on http://{host}:{port} (pid {os.getpid()})", err=True)
    if setup_link:
        _announce_setup_link(rt)

    def on_stop() -> None:
        if sched is not None:
            sched.shutdown()
        rt.close()

    run_waitress(app, sock, threads, on_stop, rt.settings, balance)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Web server threads per process.")
@click.option(
    "--processes",
    type=int,
    help="Processes sharing the port, each serving and executing runs "
    "[HUB_PROCESSES; default: one per CPU the hub may use (its affinity, or a smaller CPU quota), "
    "at most 8]. Processes that cover every CPU are each held to one [HUB_PIN_CPUS].",
)
def serve(host: str, port: int, threads: int, processes: int | None) -> None:
    """Web UI, API, webhooks, scheduler and workers (a production WSGI server, pre-forked per CPU)."""
    import os
    from contextlib import ExitStack

    from hub.cpus import plan_pinning
    from hub.metrics import share_across_processes
    from hub.recipe_index import SiblingChanges
    from hub.server import AcceptBalance, bind, default_processes, limit_malloc_arenas, prefork, stop_children

    limit_malloc_arenas()
    _logging()
    try:
        processes = processes or int(os.environ.get("HUB_PROCESSES") or 0) or default_processes()
    except ValueError as exc:
        raise click.ClickException(f"HUB_PROCESSES must be a whole number: {exc}") from exc
    if processes < 1:
        raise click.ClickException("--processes must be at least 1")
    try:
        pinning = plan_pinning(processes, os.environ.get("HUB_PIN_CPUS"))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    sock, children, balance, siblings = None, [], None, None
    with ExitStack() as stack:
        if processes > 1:
            os.environ.setdefault("HUB_LIMITER", "database")  # connection limits shared by the processes
            # Migrate once in a short-lived child, so the processes forked below do not carry Alembic.
            migrated = subprocess.run([sys.executable, "-m", "hub", "init"], check=False)
            if migrated.returncode != 0:
                raise click.ClickException("the database could not be prepared (see `hub init` above)")
            try:
                stack.enter_context(share_across_processes())  # /metrics sums every process's counters
            except OSError as exc:
                raise click.ClickException(
                    f"no writable temporary directory for the processes' metrics (set TMPDIR): {exc}"
                ) from exc
            sock = bind(host, port)
            balance, siblings = AcceptBalance(processes), SiblingChanges()
            children = prefork(processes, balance, pinning)
        elif pinning is not None:
            pinning.hold(0)
        rt = _runtime(migrate=processes == 1)
        if siblings is not None:  # a recipe changed through one process is seen by all at once
            rt.recipes.share_changes(siblings)
        sched = _start_engine(rt, scheduler=True, executor=rt.settings.executor == "local")
        try:
            # One process of the group makes the setup link: each new one would replace the last.
            first = processes == 1 or bool(children)
            _serve_wsgi(rt, host, port, threads, sched, sock=sock, balance=balance, setup_link=first)
        finally:
            stop_children(children)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=16, show_default=True, type=int, help="Web server threads.")
def web(host: str, port: int, threads: int) -> None:
    """Only the web server: API, UI and webhook ingress; runs go to the workers."""
    from hub.server import limit_malloc_arenas

    limit_malloc_arenas()
    _logging()
    rt = _runtime()
    _start_engine(rt, scheduler=False, executor=False)
    _serve_wsgi(rt, host, port, threads, None)


def _block_until_signal() -> None:
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(1.0):
        pass


@main.command()
@click.option("--concurrency", type=int, help="Runs executed at once in this process [HUB_WORKERS].")
def worker(concurrency: int | None) -> None:
    """Execute runs: a Celery worker under HUB_EXECUTOR=celery, else a thread pool fed from the database."""
    from hub.engine.sweeper import sweep
    from hub.server import limit_malloc_arenas, settle_heap

    limit_malloc_arenas()
    _logging()
    rt = _runtime()
    settle_heap()
    if concurrency:
        rt.settings.workers = concurrency
    if rt.settings.executor == "celery":
        from hub.engine.celery_app import run_worker

        _start_engine(rt, scheduler=False, executor=False)  # runs may dispatch runs (replays, waits)
        click.echo("hub worker started (celery)", err=True)
        try:
            run_worker(rt.executor.app, rt, concurrency=rt.settings.workers)
        finally:
            rt.close()
        return
    _start_engine(rt, scheduler=False, executor=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    click.echo("hub worker started", err=True)
    while not done.wait(rt.settings.sweep_interval_s):
        sweep(rt, fresh_s=0.0)
    rt.close()


@main.command()
def scheduler() -> None:
    """Polls, schedules and wake-ups; several may run, one holds the lease and works."""
    _logging()
    rt = _runtime()
    sched = _start_engine(rt, scheduler=True, executor=False)
    click.echo("hub scheduler started", err=True)
    _block_until_signal()
    sched.shutdown()
    rt.close()


@main.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "editor", "viewer"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a user; without a password it can use API tokens but not sign in to the web UI."""
    from hub.sdk.errors import HubError
    from hub.services.users import create_user

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and not password:
        raise click.ClickException("no password on standard input")
    rt = _runtime()
    try:
        create_user(rt, email, role, password=password, actor="cli")
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"created {role} {email}", err=True)


@main.group()
def tokens() -> None:
    """Manage API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True)
@click.option("--project", default=None, help="Scope the token to this project (id or name).")
@click.option(
    "--role",
    type=click.Choice(["owner", "editor", "operator", "viewer"]),
    default=None,
    help="The token's role in --project, at most the user's own (default: the user's).",
)
def tokens_create(email: str, name: str, project: str | None, role: str | None) -> None:
    """Print a new API token for EMAIL on stdout (shown only once)."""
    from hub.connections import NotFound
    from hub.sdk.errors import HubError
    from hub.services.users import create_token

    rt = _runtime()
    try:
        token = create_token(rt, email, name, actor="cli", project=project, role=role)
    except NotFound as exc:
        raise click.ClickException(f"no user {email}: create one with `hub users create`") from exc
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(token.raw)


@main.group()
def recipes() -> None:
    """Import, export and restore recipes."""


@recipes.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--project", default=None, help="The project the recipes go to (id or name; default: default).")
def recipes_import(files: tuple[Path, ...], project: str | None) -> None:
    """Import recipe documents (JSON or YAML); each file holds one recipe or a list of them."""
    from hub.cli_projects import project_ref
    from hub.documents import DocumentError, parse_document
    from hub.sdk.errors import HubError, RecipeProblems
    from hub.services.recipes import save_recipe

    rt = _runtime()
    project_id = project_ref(rt, project)
    failed = False
    for path in files:
        try:
            loaded = parse_document(path.read_bytes(), "json" if path.suffix.lower() == ".json" else "yaml")
        except DocumentError as exc:
            click.echo(f"{path}: {exc}", err=True)
            failed = True
            continue
        for index, document in enumerate(loaded if isinstance(loaded, list) else [loaded]):
            try:
                saved = save_recipe(rt, document, actor="cli", project_id=project_id)
            except RecipeProblems as exc:  # every problem of the document, one line each
                for found in exc.problems:
                    click.echo(f"{path}[{index}]: {found['path']}: {found['message']}", err=True)
                failed = True
                continue
            except HubError as exc:
                click.echo(f"{path}[{index}]: {exc.message}", err=True)
                failed = True
                continue
            for problem in saved.warnings:
                click.echo(f"{path}[{index}]: warning: {problem}", err=True)
            extra = f" webhook {saved.urls['webhook_url']}" if "webhook_url" in saved.urls else ""
            click.echo(f"imported recipe {saved.id} '{saved.name}' version {saved.version}{extra}")
    rt.close()
    if failed:
        sys.exit(1)


@recipes.command("export")
@click.argument("ids", nargs=-1, type=int)
def recipes_export(ids: tuple[int, ...]) -> None:
    """Print recipes as JSON (all, or the given ids), secrets replaced by [REDACTED]."""
    from sqlalchemy import select

    from hub import jsonutil
    from hub.db.models import Recipe
    from hub.recipe_store import current_document
    from hub.recipes import without_secrets

    rt = _runtime()
    with rt.db.transaction() as session:
        query = select(Recipe).where(Recipe.deleted_at.is_(None)).order_by(Recipe.id)
        if ids:
            query = query.where(Recipe.id.in_(ids))
        found = list(session.scalars(query))
        missing = set(ids) - {r.id for r in found}
        if missing:
            raise click.ClickException(f"no recipe with id {', '.join(map(str, sorted(missing)))}")
        docs = [without_secrets(current_document(session, r), rt.registry) for r in found]
    click.echo(jsonutil.dumps(docs if len(docs) != 1 or not ids else docs[0], indent=2))


@recipes.command("restore")
@click.argument("recipe_id", type=int)
@click.argument("version", type=int)
def recipes_restore(recipe_id: int, version: int) -> None:
    """Save version VERSION of recipe RECIPE_ID again as its newest version (ends an A/B split)."""
    from hub.sdk.errors import HubError
    from hub.services.recipes import restore_version

    rt = _runtime()
    try:
        saved = restore_version(rt, recipe_id, version, actor="cli")
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        rt.close()
    for problem in saved.warnings:
        click.echo(f"warning: {problem}", err=True)
    click.echo(f"restored recipe {saved.id} '{saved.name}' version {version} as version {saved.version}")


@main.group()
def connectors() -> None:
    """Installed connectors."""


@connectors.command("list")
def connectors_list() -> None:
    """id, name, category, triggers, actions (tab-separated)."""
    from hub.registry import default_registry

    for connector in default_registry().all():
        triggers = ",".join(connector.trigger_map) or "-"
        actions = ",".join(connector.action_map) or "-"
        click.echo(f"{connector.id}\t{connector.name}\t{connector.category}\t{triggers}\t{actions}")


@main.group()
def secrets() -> None:
    """Manage named secrets ({{ secrets.NAME }} in recipe templates); values are never shown."""


@secrets.command("set")
@click.argument("name")
def secrets_set(name: str) -> None:
    """Create or replace secret NAME with the value read from standard input (one line)."""
    from hub.sdk.errors import HubError
    from hub.services.secrets import set_secret

    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise click.ClickException("no value on standard input")
    rt = _runtime()
    try:
        set_secret(rt, actor="cli", name=name, value=value)
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        rt.close()
    click.echo(f"set secret {name}", err=True)


@secrets.command("list")
def secrets_list() -> None:
    """Print each secret's name and when it last changed (tab-separated)."""
    from hub.services.secrets import list_secrets

    rt = _runtime()
    for item in list_secrets(rt):
        click.echo(f"{item['name']}\t{item['updated_at']}")
    rt.close()


@secrets.command("delete")
@click.argument("name")
def secrets_delete(name: str) -> None:
    """Delete secret NAME (recipes using it fail with a clear step error)."""
    from hub.sdk.errors import HubError
    from hub.services.secrets import delete_secret

    rt = _runtime()
    try:
        delete_secret(rt, actor="cli", name=name)
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        rt.close()
    click.echo(f"deleted secret {name}", err=True)


@main.group()
def vault() -> None:
    """Encryption keys."""


@vault.command("rotate")
@click.option("--new-key", is_flag=True, help="First add a new key to $HUB_HOME/vault.keys.")
def vault_rotate(new_key: bool) -> None:
    """Re-encrypt every stored secret under the newest key."""
    from hub.audit import audit
    from hub.vault import add_new_key
    from hub.vault_rotation import reseal_everything

    settings = _settings()
    if new_key:
        if settings.vault_keys:
            raise click.ClickException("keys come from HUB_VAULT_KEYS: put the new key first there instead")
        click.echo(f"added key {add_new_key(settings.home)}", err=True)
    rt = _runtime()
    with rt.db.transaction() as session:
        counts = reseal_everything(session, rt.vault, rt.registry)
        audit(session, "cli", "vault.rotate", "vault", None, counts)
    click.echo(
        f"re-encrypted {counts['connections']} connection(s), "
        f"{counts['webhook_registrations']} webhook registration(s), "
        f"{counts['recipe_versions']} recipe version(s) and "
        f"{counts['named_secrets']} named secret(s)"
    )
    rt.close()


@main.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune(dry_run: bool) -> None:
    """Apply retention now: roll up and delete finished runs older than HUB_RETENTION_DAYS, their
    steps, attempts and events, and polling seen ids past their window (what the scheduler does hourly)."""
    from hub.audit import audit
    from hub.retention import preview
    from hub.retention import prune as prune_now

    rt = _runtime()
    counts = (preview(rt) if dry_run else prune_now(rt)).as_dict()
    if not dry_run:
        with rt.db.transaction() as session:
            audit(session, "cli", "retention.prune", "runs", None, counts)
    verb = "would delete" if dry_run else "deleted"
    days = rt.settings.retention_days
    kept = f"older than {days} day(s)" if days else "none: HUB_RETENTION_DAYS=0 keeps runs"
    click.echo(f"finished runs {kept}; {verb}:")
    for name, count in counts.items():
        click.echo(f"  {name.replace('_', ' ')}\t{count}")
    rt.close()


@main.command()
@click.option("--markdown", is_flag=True, help="Print the reference page (docs/api.md) instead of JSON.")
@click.option("--built-in", "built_in", is_flag=True, help="List only the connectors that ship with the hub.")
def openapi(markdown: bool, built_in: bool) -> None:
    """Print the REST API's OpenAPI document (as /api/v1/openapi.json serves it), or its reference page."""
    from hub import jsonutil
    from hub.api.docgen import markdown as api_markdown
    from hub.api.openapi import document
    from hub.registry import built_in_registry, default_registry

    doc = document(built_in_registry() if built_in else default_registry())
    click.echo(api_markdown(doc) if markdown else jsonutil.dumps(doc, indent=2), nl=not markdown)


@main.command()
@click.option("--markdown", is_flag=True, help="Print the full reference page (docs/cli.md).")
def commands(markdown: bool) -> None:
    """List every hub command, or print the command reference."""
    from hub.clidoc import markdown as cli_markdown
    from hub.clidoc import summary

    click.echo(cli_markdown(main) if markdown else summary(main), nl=False)


from hub.cli_projects import projects  # noqa: E402  (it uses _runtime above)
from hub.cli_templates import templates  # noqa: E402  (it uses _runtime above)

main.add_command(projects)
main.add_command(templates)
