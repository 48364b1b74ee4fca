"""The `hub` command reference in Markdown, rendered from the click commands themselves.

`hub commands --markdown > docs/cli.md` regenerates docs/cli.md; a test fails when the committed
page differs, so a new option cannot go undocumented.
"""

from __future__ import annotations

from collections.abc import Iterator

import click


def _walk(command: click.Command, ctx: click.Context) -> Iterator[tuple[click.Command, click.Context]]:
    yield command, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, click.Context(sub, info_name=name, parent=ctx))


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _option_row(param: click.Option) -> str:
    flags = ", ".join(f"`{flag}`" for flag in [*param.opts, *param.secondary_opts])
    if param.is_flag:
        kind = "flag"
    elif isinstance(param.type, click.Choice):
        kind = " \\| ".join(f"`{choice}`" for choice in param.type.choices)
    else:
        kind = param.type.name
    notes = [(param.help or "").rstrip(".")]
    if param.required:
        notes.append("required")
    if param.default is not None and not param.is_flag and param.show_default:
        notes.append(f"default `{param.default}`")
    return f"| {flags} | {kind} | {_cell('; '.join(n for n in notes if n))} |"


def _section(command: click.Command, ctx: click.Context) -> list[str]:
    path = ctx.command_path
    lines = [f"## `{path}`", ""]
    if command.help:
        lines += [click.unstyle(command.help).strip(), ""]
    pieces = command.collect_usage_pieces(ctx)
    lines += ["```", " ".join([path, *pieces]), "```", ""]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        lines += ["| argument | how many |", "|---|---|"]
        for arg in arguments:
            count = "one or more" if arg.nargs == -1 and arg.required else "any" if arg.nargs == -1 else "one"
            lines.append(f"| `{arg.human_readable_name}` | {count} |")
        lines.append("")
    options = [p for p in command.params if isinstance(p, click.Option) and p.name != "help"]
    if options:
        lines += ["| option | value | meaning |", "|---|---|---|"]
        lines += [_option_row(option) for option in options]
        lines.append("")
    if isinstance(command, click.Group):
        lines += ["| command | does |", "|---|---|"]
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                lines.append(f"| `{path} {name}` | {_cell(sub.get_short_help_str(limit=200))} |")
        lines.append("")
    return lines


def markdown(root: click.Command, name: str = "hub") -> str:
    """Every command and subcommand with its usage, arguments and options."""
    lines = [
        "# Command reference",
        "",
        "<!-- Generated from the click commands by `hub commands --markdown > docs/cli.md`;",
        "     do not edit by hand (tests/docs/test_generated_docs.py checks it is current). -->",
        "",
        "`hub` is installed with the package (`pip install -e .`); `python -m hub` is the same. Every",
        "command reads its settings from `HUB_*` environment variables (docs/configuration.md) and",
        "takes `--help`.",
        "",
    ]
    for command, ctx in _walk(root, click.Context(root, info_name=name)):
        lines += _section(command, ctx)
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def summary(root: click.Command, name: str = "hub") -> str:
    """One line per command: its path and short help."""
    rows = []
    for command, ctx in _walk(root, click.Context(root, info_name=name)):
        if not isinstance(command, click.Group):
            rows.append(f"{ctx.command_path}\t{command.get_short_help_str(limit=200)}")
    return "\n".join(rows) + "\n"
