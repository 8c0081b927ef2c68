"""The stage contract: what every pipeline stage declares, and the one runner that runs any of them.

A stage (DVC's stage, diffusers' modular block) is a `Stage`: its name (the command and its record in
shot.json), its `Config` dataclass (whose fields are its command-line options, `shotsmith.options`), the
workspace artifacts it reads and writes (names from `shotsmith.workspace`), and one function
`run(ws, cfg) -> StageResult` that reads artifacts (`shotsmith.artifacts`), calls the domain and writes
artifacts. Optional hooks say what a type cannot: the backend it resolves to (part of the skip key), inputs that
depend on the workspace (placed objects), and the line printed after a run.

`execute(ws, stage, cfg)` is the only way a stage runs (the stage commands, `run`, `recapture`, the tests):
validate the config, check that the required artifacts exist (the error names the stage that makes them),
resolve the backend, then hand over to `workspace.run_stage`, which skips the run when options, input hashes and
backend are unchanged, and records it otherwise. The registry of stages is `shotsmith.stages.STAGES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from shotsmith import workspace as W
from shotsmith.options import config_files

__all__ = ["Stage", "execute"]


def _no_backend(cfg: Any) -> tuple[str, str]:
    return "embedded", ""


def _nothing(ws: W.Workspace, cfg: Any) -> None:
    return None


@dataclass(frozen=True)
class Stage:
    """One pipeline stage (see the module docstring)."""

    name: str
    """Command name and shot.json record key, e.g. "render-guidance"."""
    config: type
    """The options dataclass (`Config`); its fields are the command's options."""
    run: Callable[[W.Workspace, Any], W.StageResult]
    """The body: reads artifacts, calls the domain, writes artifacts; returns what it wrote."""
    reads: Callable[[W.Workspace, Any], list[str]]
    """Workspace artifacts the body reads, given the workspace and config (hashed for the skip check)."""
    writes: tuple[str, ...]
    """Every artifact the stage may write (each run returns the ones it did)."""
    requires: Callable[[W.Workspace, Any], list[str]]
    """Artifacts that must exist before the stage can run (checked first; the error names their stage)."""
    summary: str
    """One line for `--help` and docs/ARCHITECTURE.md."""
    examples: tuple[str, ...] = ()
    """Runnable command lines for `--help`."""
    backend: Callable[[Any], tuple[str, str]] = _no_backend
    """(resolved backend name, why) for a config: never "auto"; part of the skip key."""
    version: Callable[[Any], str] | None = None
    """The resolved backend's version for a config (part of the skip key when given)."""
    report: Callable[[W.Workspace, W.StageRecord], str | None] | None = None
    """The line printed after the command ran (None: nothing)."""
    options: Callable[[W.Workspace, Any], dict] | None = None
    """The options recorded in shot.json (default: the whole config)."""
    records: tuple[str, ...] = ()
    """Record keys besides `name` this stage may keep in shot.json (a rig's runs: "render-guidance-rig")."""
    record: Callable[[Any], str] | None = None
    """The record key of a run (default `name`): a rig's run is kept apart so the single camera's stays valid."""
    prepare: Callable[[W.Workspace, Any], None] = _nothing
    """Run under the lock before the skip check: copy the user's input files into input/ and record them."""


def execute(ws: W.Workspace, stage: Stage, cfg: Any = None, *, force: bool = False) -> W.StageRecord:
    """Run `stage` with `cfg` (default: its Config's defaults) on `ws`, unless an identical run is recorded."""
    cfg = stage.config() if cfg is None else cfg
    cfg.validate()
    with ws.locked():
        stage.prepare(ws, cfg)
        for name in stage.requires(ws, cfg):
            ws.require(name)
        backend, _why = stage.backend(cfg)
        options = stage.options(ws, cfg) if stage.options is not None else asdict(cfg)
        return W.run_stage(
            ws,
            stage.record(cfg) if stage.record is not None else stage.name,
            lambda: stage.run(ws, cfg),
            options=options,
            inputs=stage.reads(ws, cfg),
            external=config_files(cfg) or None,
            backend=backend,
            version=stage.version(cfg) if stage.version is not None else None,
            force=force,
        )
