"""The typer application that the hand-written tool commands register on (`shotsmith.cli.tools`)."""

from __future__ import annotations

import typer

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
