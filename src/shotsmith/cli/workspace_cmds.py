"""`shotsmith status`: what each stage of a workspace has done."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from shotsmith.cli import app
from shotsmith.console import console
from shotsmith.errors import WorkspaceError
from shotsmith.workspace import SHOT, STAGES, Workspace


@app.command()
def status(workspace: Path = typer.Option(..., "-w", "--workspace", help="Workspace folder.")) -> None:
    """Show each stage of a workspace: done, stale or missing.

    Example: shotsmith status -w shots/my-shot
    """
    ws = Workspace(workspace)
    if not ws.path(SHOT).exists():
        raise WorkspaceError(f"{workspace}: not a shotsmith workspace (no {SHOT}); run `shotsmith run` first")
    table = Table("stage", "state", "backend", "seconds", "finished")
    colors = {"done": "green", "stale": "yellow", "missing": "dim"}
    for stage in STAGES:
        state = ws.stage_state(stage)
        rec = ws.record(stage)
        table.add_row(
            stage,
            f"[{colors[state]}]{state}[/{colors[state]}]",
            rec.backend if rec else "",
            f"{rec.seconds:.2f}" if rec else "",
            rec.finished if rec else "",
        )
    console.print(table)
