"""The command line: one thin typer command per stage or tool; no logic here.

Each feature module in this package registers its commands on `app`. `main` turns a `ShotsmithError` into one
red line and exit code 1; typer's usage errors exit 2; anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import sys

import typer

from shotsmith.console import console
from shotsmith.errors import ShotsmithError

app = typer.Typer(
    name="shotsmith",
    help='Camera-directed shots from a still image or a video. Start with: shotsmith run "PROMPT" --image IMG',
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Camera-directed shots from a still image or a video."""


def _register() -> None:
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI. Returns the exit code when called in-process with `argv` (tests); exits otherwise."""
    _register()
    command = typer.main.get_command(app)
    code = 0
    try:
        command.main(
            args=argv if argv is not None else sys.argv[1:], prog_name="shotsmith", standalone_mode=True
        )
    except ShotsmithError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        code = 1
    except SystemExit as exc:  # typer/click's own exit (0, usage error 2, abort 1)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if argv is None:
        sys.exit(code)
    return code
