"""The one rich console and progress helper of the program (stderr, so stdout stays clean for data)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

console = Console(stderr=True, highlight=False)


def info(message: str) -> None:
    """Print one informational line (a choice made, a note about resampling...)."""
    console.print(message)


def note(message: str) -> None:
    """Print a highlighted note the user should read (a changed setting, a skipped part)."""
    console.print(f"[yellow]note:[/yellow] {message}")


def _quiet() -> bool:
    return bool(os.environ.get("SHOTSMITH_QUIET"))


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate `items` with a rich progress bar (transient; silent when SHOTSMITH_QUIET is set)."""
    if total is None:
        with contextlib.suppress(TypeError):
            total = len(items)  # type: ignore[arg-type]
    if _quiet() or not console.is_terminal:
        yield from items
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
