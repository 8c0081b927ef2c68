"""Typer commands generated from config dataclasses: each field of a stage's `Config` is one option.

`config_command` reads `shotsmith.options.option_specs` (name, type, default, the field's docstring as help) and
registers on the typer app a function whose signature holds one `typer.Option` (or `typer.Argument`) per field;
its body builds the config with `options.build_config` and hands it to an action. An option not given keeps the
dataclass default, so the default lives in one place (the help shows it). Parameters that belong to the command,
not to the config (-w, --force, -o), are passed as `extra`.
Why not tyro (nerfstudio's choice): the rest of the CLI is typer with our exit codes and one-line errors, and
tyro's nested-dataclass flags (`--generate.steps`) would rename every option users already type.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer

from shotsmith.options import OptionSpec, build_config, option_specs

__all__ = ["config_command", "force_param", "workspace_param"]


_METAVARS = {int: "N", float: "X", str: "TEXT"}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _help(spec: OptionSpec) -> str:
    default = spec.default_text()
    if default and "default" not in spec.help.lower():
        return f"{spec.help} [default: {default}]"
    return spec.help


def _param(spec: OptionSpec) -> inspect.Parameter:
    """The typer parameter of one option."""
    kind = str if spec.parse else spec.kind
    if spec.argument:
        metavar = spec.metavar or spec.dest.upper()
        info = typer.Argument(
            ... if spec.required else None, help=spec.help, metavar=metavar, show_default=False
        )
        annotation: Any = kind if spec.required else kind | None
        return inspect.Parameter(
            spec.dest, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation
        )
    flags = list(spec.flags) or [_flag(spec.dest)]
    metavar = spec.metavar or _METAVARS.get(kind, "TEXT")
    if kind is bool and not spec.multiple:
        decls = [f"{flags[0]}/--no-{flags[0][2:]}"] if spec.default is True else flags
        info = typer.Option(bool(spec.default), *decls, help=spec.help)
        return inspect.Parameter(spec.dest, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=bool)
    if spec.multiple:
        annotation = list[kind] | None
    else:
        annotation = kind if spec.required else kind | None
    info = typer.Option(
        ... if spec.required else None,
        *flags,
        help=_help(spec),
        metavar=metavar,
        show_default=False,
    )
    return inspect.Parameter(spec.dest, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation)


def workspace_param(required: bool = True) -> inspect.Parameter:
    info = typer.Option(... if required else None, "-w", "--workspace", help="Workspace folder.")
    return inspect.Parameter("workspace", inspect.Parameter.KEYWORD_ONLY, default=info, annotation=str | None)


def force_param() -> inspect.Parameter:
    info = typer.Option(False, "--force", help="Run even if nothing changed.")
    return inspect.Parameter("force", inspect.Parameter.KEYWORD_ONLY, default=info, annotation=bool)


def config_command(
    app: typer.Typer,
    name: str,
    config: type,
    action: Callable[..., Any],
    *,
    summary: str,
    examples: tuple[str, ...] = (),
    extra: list[inspect.Parameter] | None = None,
    exclude: tuple[str, ...] = (),
    required: tuple[str, ...] = (),
) -> None:
    """Register command `name` on `app`: its options are `config`'s fields (minus `exclude`; those in `required`
    must be given), its extra parameters `extra`; `action(cfg, **extra_values)` runs it."""
    specs = [s for s in option_specs(config) if s.dest not in exclude]
    for s in specs:
        if s.dest in required:
            s.help = s.help + " (required)"
    dests = {s.dest for s in specs}

    def command(**values: Any) -> None:
        missing = [d for d in required if values.get(d) is None]
        if missing:
            raise typer.BadParameter(f"{_flag(missing[0])} is required", param_hint=_flag(missing[0]))
        cfg = build_config(config, {k: v for k, v in values.items() if k in dests}, specs)
        action(cfg, **{k: v for k, v in values.items() if k not in dests})

    params = [_param(s) for s in specs] + list(extra or [])
    params.sort(key=lambda p: not isinstance(p.default, typer.models.ArgumentInfo))
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = name.replace("-", "_")
    text = summary
    if examples:
        text += "\n\n" + "\n\n".join(f"Example: {e}" for e in examples)
    command.__doc__ = text
    app.command(name, help=text, short_help=summary)(command)
