"""Camera poses of a video: the pycolmap estimate with its rotation-only fallback, and a path from a trial.

`estimate_poses` computes features and matches once, reruns the mapper per trial seed and, when asked, fits the
rotation-only model on the same matches (`shotsmith.evaluate.rotation`). `estimate_path` turns a trial into a
`CameraPath` aligned onto the plan, for labelling and plotting. Used by the evaluate stage and by recapture's
`--source-camera estimate`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath
from shotsmith.errors import InputError
from shotsmith.evaluate.metrics import aligned_estimate, relative_to_frame
from shotsmith.evaluate.rotation import apply_rotation_model, rotation_from_database, rotation_trial
from shotsmith.evaluate.sfm import (
    SfmOptions,
    SfmTrial,
    build_database,
    colmap_log_level,
    require_pycolmap,
    run_mapper,
)


def estimate_poses(
    frames: np.ndarray,
    intrinsics: np.ndarray,
    options: SfmOptions = SfmOptions(),
    trials: int = 1,
    seed: int = 0,
    workdir: str | Path | None = None,
    rotation_fallback: bool = False,
) -> tuple[list[SfmTrial], dict]:
    """Camera poses of (T, H, W, 3) uint8 `frames` whose intrinsics are the plan's (N, 4) or (4,) in pixels.

    Features and matches are computed once (they are deterministic); each trial reruns the mapper with seed
    `seed + k`. Returns the trials and timings {"extract_s", "match_s", "map_s"} (and "rotation_s"). Scratch
    files go to a temporary folder (or `workdir`) and are removed. With `rotation_fallback` the rotation-only
    model is fitted on the same matches and replaces trials as `apply_rotation_model` says.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(f"frames must be (T, H, W, 3) uint8, got shape {frames.shape}")
    if len(frames) < 2:
        raise InputError(f"pose estimation needs at least 2 frames, got {len(frames)}")
    if trials < 1:
        raise InputError(f"--trials must be at least 1, got {trials}")
    pycolmap = require_pycolmap()
    with (
        colmap_log_level(pycolmap),
        tempfile.TemporaryDirectory(prefix="shotsmith-sfm-", dir=workdir) as tmp,
    ):
        features = build_database(frames, intrinsics, Path(tmp), options)
        fit = rotation_from_database(features, intrinsics, options) if rotation_fallback else None
        if fit is not None and fit.no_parallax:
            # the rotation model replaces any mapper result when the video shows no parallax: not run
            results = [_mapper_not_run(len(frames), seed + k, fit) for k in range(trials)]
        else:
            results = [run_mapper(features, options, seed + k) for k in range(trials)]
    if fit is not None and not fit.no_parallax:
        results = apply_rotation_model(results, fit)
    timings = {
        "extract_s": round(features.extract_seconds, 3),
        "match_s": round(features.match_seconds, 3),
        "map_s": round(sum(t.seconds for t in results), 3),
    }
    if fit is not None:
        timings["rotation_s"] = round(fit.seconds, 3)
    return results, timings


def _mapper_not_run(n: int, seed: int, fit) -> SfmTrial:
    """The rotation model's trial for a video without measurable parallax (the mapper is skipped: its
    translations would be noise and its result would be replaced anyway)."""
    skipped = SfmTrial(
        seed=seed,
        ok=False,
        registered=np.zeros(n, dtype=bool),
        world_from_camera=np.full((n, 4, 4), np.nan),
        error="not run: no measurable parallax",
    )
    why = (
        "no measurable parallax (a rotation fits the matches as well as a homography): the mapper was not run"
    )
    return rotation_trial(skipped, fit, why)


def estimate_path(
    plan: CameraPath, trial: SfmTrial, scale_to_plan: bool = True
) -> tuple[CameraPath, CameraPath]:
    """(estimate, plan) over the trial's registered frames, both relative to the first registered frame; the
    estimate Sim(3)-aligned to the plan (so its translations are in the plan's units, SfM scale removed). A
    rotation-only estimate is not aligned (its centres stay at the origin)."""
    idx = np.flatnonzero(trial.registered)
    plan_sel = plan.select(idx)
    plan_rel = relative_to_frame(plan_sel.world_from_camera)
    rotation_only = trial.model == "rotation-only"
    if scale_to_plan and not rotation_only:
        aligned, _ = aligned_estimate(plan.world_from_camera, trial.world_from_camera, trial.registered)
    else:  # a rotation-only estimate stays put at the first frame's centre: nothing to scale or align
        aligned = relative_to_frame(trial.world_from_camera[idx])
    source = "rotation-only estimate (homographies)" if rotation_only else "pycolmap estimate"
    est = CameraPath(aligned, plan_sel.intrinsics, plan.width, plan.height, plan.fps, meta={"source": source})
    ref = CameraPath(plan_rel, plan_sel.intrinsics, plan.width, plan.height, plan.fps, meta=dict(plan.meta))
    return est, ref
