"""The command line: generated stage commands plus a few hand-written tools; no logic here.

`main` builds the program: the typer app of the tools (`shotsmith.cli.tools`: presets, rigs, describe, convert,
status) and the commands generated from configs (`shotsmith.cli.commands`: every stage, run, recapture, plan).
A `ShotsmithError` becomes one red line and exit code 1; click's usage errors exit 2; anything else is a bug and
shows a traceback.
"""

from __future__ import annotations

import os
import sys

import typer

from shotsmith.console import console
from shotsmith.errors import ShotsmithError


def command():
    """The `shotsmith` click command with every subcommand."""
    from shotsmith.cli import tools
    from shotsmith.cli.commands import register_pipeline, register_stages

    if not getattr(tools.app, "_shotsmith_built", False):
        register_pipeline(tools.app)
        register_stages(tools.app)
        tools.app._shotsmith_built = True  # type: ignore[attr-defined]
    return typer.main.get_command(tools.app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI. Returns the exit code when called in-process with `argv` (tests); exits otherwise."""
    code = 0
    try:
        command().main(
            args=argv if argv is not None else sys.argv[1:], prog_name="shotsmith", standalone_mode=True
        )
    except ShotsmithError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        code = 1
    except SystemExit as exc:  # click's own exit (0, usage error 2, abort 1)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if argv is None:
        exit_now(code)
    return code


def exit_now(code: int) -> None:
    """End the process with `code` without the interpreter's teardown, which takes 0.2-0.5 s after a shot (every
    module and array freed one by one, numba's LLVM runtime shut down) for nothing: every artifact is already
    committed (written, fsynced, renamed) when a command returns. The atexit handlers still run and the
    standard streams are flushed first."""
    import atexit

    try:
        atexit._run_exitfuncs()  # noqa: SLF001 - the handlers `sys.exit` would run (temporary folders, logging)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe (`shotsmith ... | head`)
                pass
        os._exit(code)
