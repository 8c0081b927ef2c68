"""The pipeline's stages and their registry: what `run`, every stage command and `status` read.

Each module here defines one `Stage` (`shotsmith.stage`): its `Config`, what it reads and writes, and its
`run(ws, cfg)`. `STAGES` lists them in pipeline order; nothing else keeps a list of stages. Stages import
`shotsmith.artifacts` and the domain modules, never each other.
"""

from __future__ import annotations

from shotsmith.stage import Stage
from shotsmith.stages import (
    build_cache,
    caption,
    evaluate,
    generate,
    insert_object,
    plan_trajectory,
    render_guidance,
)

#: Every stage, in the order of DESIGN.md's pipeline.
STAGES: tuple[Stage, ...] = (
    caption.STAGE,
    plan_trajectory.STAGE,
    build_cache.STAGE,
    insert_object.STAGE,
    render_guidance.STAGE,
    generate.STAGE,
    evaluate.STAGE,
)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}

__all__ = ["BY_NAME", "STAGES"]
