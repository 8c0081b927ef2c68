"""The whole measurement of one video against its plan: trials, metrics, summary, notes and the protocol.

`evaluate_video` estimates the poses (`shotsmith.evaluate.poses`), measures every successful trial
(`shotsmith.evaluate.metrics`, or `rotation_only_metrics` for a rotation-only trial), adds the motion-tag F1s
(`shotsmith.evaluate.tags`) and summarises over trials into an `EvalReport`; `protocol` gives the protocol as
data, written beside the numbers. No files: the evaluate stage writes metrics.json and the plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from shotsmith.camera import CameraPath
from shotsmith.errors import InputError
from shotsmith.evaluate.metrics import pose_metrics
from shotsmith.evaluate.poses import estimate_poses
from shotsmith.evaluate.rotation import (
    PARALLAX_RATIO,
    PARALLAX_SLACK_PX,
    PURE_ROTATION_PLAN_EXTENT,
    ROTATION_MAX_ERROR_PX,
    ROTATION_MIN_EXPLAINED,
    ROTATION_MIN_INLIER_RATIO,
    ROTATION_MIN_MATCHES,
    ROTATION_TOL_PX,
    SFM_MIN_REGISTERED,
    rotation_only_metrics,
)
from shotsmith.evaluate.sfm import SfmOptions, SfmTrial, single_focal
from shotsmith.evaluate.tags import motion_f1s


@dataclass
class EvalReport:
    """Everything measured on one video (no files: the stage writes metrics.json and the plot)."""

    frames: int
    """Frames of the video (after any resampling of the plan to match)."""
    trials: list[dict]
    """Per trial: seed, ok, error, registered fraction and frames, metrics, motion-tag F1s, reprojection."""
    summary: dict
    """Metric name -> {"median", "min", "max", "q1", "q3", "n"} over successful trials."""
    ok_trials: int
    """Trials that registered at least two frames."""
    timings: dict
    notes: list[str] = field(default_factory=list)
    representative: SfmTrial | None = None
    """The successful trial with the median RotErr (plotted), or None when every trial failed."""


SUMMARY_KEYS: tuple[str, ...] = (
    "rot_err",
    "trans_err",
    "cam_mc",
    "rot_err_per_frame",
    "trans_err_per_frame",
    "cam_mc_per_frame",
    "ate",
    "rpe_rot_deg",
    "rpe_trans",
    "registered_fraction",
    "reprojection_error_px",
    "motion_tag_f1_vs_plan",
    "motion_tag_f1_vs_text",
)


def summarize(values: list[float | None]) -> dict:
    """Median and spread of a metric over trials: {"median", "min", "max", "q1", "q3", "n"} (None skipped)."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if len(v) == 0:
        return {"median": None, "min": None, "max": None, "q1": None, "q3": None, "n": 0}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {
        "median": float(med),
        "min": float(v.min()),
        "max": float(v.max()),
        "q1": float(q1),
        "q3": float(q3),
        "n": len(v),
    }


def evaluate_video(
    frames: np.ndarray,
    plan: CameraPath,
    options: SfmOptions = SfmOptions(),
    trials: int = 1,
    text: str = "",
    seed: int = 0,
) -> EvalReport:
    """Estimate the camera of (T, H, W, 3) `frames` and measure it against `plan` (T frames, same size).

    Failed trials are kept in the report with their reason; metrics run over registered frames only.
    """
    if len(plan) != len(frames):
        raise InputError(
            f"the plan has {len(plan)} frames and the video {len(frames)}; resample the plan first"
        )
    _, _, _, notes = single_focal(plan.intrinsics)
    results, timings = estimate_poses(
        frames, plan.intrinsics, options, trials=trials, seed=seed, rotation_fallback=True
    )
    rows: list[dict] = []
    for trial in results:
        row: dict = {
            "seed": trial.seed,
            "ok": trial.ok,
            "error": trial.error,
            "registered_fraction": trial.registered_fraction,
            "registered_frames": int(trial.registered.sum()),
            "unregistered": [int(i) for i in np.flatnonzero(~trial.registered)],
            "reprojection_error_px": trial.reprojection_error_px,
            "num_points3d": trial.num_points3d,
            "num_models": trial.num_models,
            "map_seconds": round(trial.seconds, 3),
            "model": trial.model,
            "model_reason": trial.model_reason,
        }
        if trial.sfm is not None:
            row["sfm"] = trial.sfm
        if trial.rotation_fit is not None:
            row["rotation_model"] = trial.rotation_fit
        if trial.ok:
            if trial.model == "rotation-only":
                metrics, row["translation_metrics"] = rotation_only_metrics(plan.world_from_camera, trial)
            else:
                metrics = pose_metrics(plan.world_from_camera, trial.world_from_camera, trial.registered)
            row["metrics"] = metrics
            f1, f1_notes = motion_f1s(plan, trial, text)
            row.update(f1)
            notes.extend(n for n in f1_notes if n not in notes)
        rows.append(row)
    good = [(t, r) for t, r in zip(results, rows, strict=True) if t.ok]
    summary = {}
    for key in SUMMARY_KEYS:
        values = []
        for _, r in good:
            m = r["metrics"]
            values.append(getattr(m, key) if hasattr(m, key) else r.get(key))
        summary[key] = summarize(values)
    rep = None
    if good:
        order = sorted(good, key=lambda tr: tr[1]["metrics"].rot_err)
        rep = order[(len(order) - 1) // 2][0]
    rot_only = [t for t in results if t.model == "rotation-only"]
    if rot_only:
        notes.append(
            f"rotation-only model in {len(rot_only)} of {len(results)} trials: {rot_only[0].model_reason}"
        )
        why = [r["translation_metrics"] for r in rows if r.get("model") == "rotation-only"][0]
        notes.append(f"translation measures: {why}")
    failed = len(results) - len(good)
    if failed:
        reasons = sorted({t.error for t in results if not t.ok})
        notes.append(f"{failed} of {len(results)} trials failed: {'; '.join(reasons)}")
    return EvalReport(len(frames), rows, summary, len(good), timings, notes, rep)


def protocol(options: SfmOptions, trials: int) -> dict:
    """The protocol as data, written beside the numbers (docs/EVALUATION.md has the prose)."""
    return {
        "reference": "CamI2V evaluation (REFERENCE.md 3): RotErr, TransErr (rel), CamMC (rel), sums over frames",
        "frames": "written as 000.bmp ... (lossless); analysed at max_image_size px (keypoints rescaled to full size)",
        "features": {
            "type": "SIFT",
            "estimate_affine_shape": options.affine_shape,
            "domain_size_pooling": options.domain_size_pooling,
            "max_num_features": options.max_num_features,
            "max_image_size": options.max_image_size,
            "first_octave": options.first_octave,
        },
        "matching": {
            "type": "sequential",
            "overlap": options.overlap,
            "quadratic_overlap": options.quadratic_overlap,
            "guided_matching": options.guided_matching,
            "max_num_matches": options.max_num_matches,
            "ransac_min_trials": options.ransac_min_trials,
        },
        "camera": "one SIMPLE_PINHOLE camera, f = (fx + fy) / 2, cx, cy of the plan's frame 0 in pixels; fixed (no refinement)",
        "mapper": {
            "global": "pycolmap.global_mapping (GLOMAP, merged into COLMAP 4), as CamI2V; relative poses with 4 px RANSAC error",
            "incremental": "pycolmap.incremental_mapping (COLMAP's incremental mapper)",
        }[options.mapper],
        "mapper_options": (
            {"ba_num_iterations": options.ba_num_iterations, "retriangulation": options.retriangulation}
            if options.mapper == "global"
            else {}
        ),
        "poses": "camera-to-world, relative to the first registered frame: c2w_0^-1 c2w_i",
        "metrics": {
            "rot_err": "sum over frames of arccos((tr(R1^T R2) - 1) / 2), radians",
            "trans_err": "sum over frames of |t1 - t2|, each path divided by its own max |t| + 1e-9",
            "cam_mc": "sum over frames of |[R|t]1 - [R|t]2| (12 entries), same normalisation",
            "per_frame": "the sums divided by the frames compared",
            "ate": "camera-centre RMSE after Sim(3) Umeyama alignment, in units of the plan's max |t|",
            "rpe": "consecutive relative motions: rotation error (deg), translation error (plan max |t| units) after the Umeyama scale",
            "motion_tag_f1": "GenDoP caption F1 (shotsmith.describe) of the Sim(3)-aligned estimate vs the plan / the text",
            "reprojection_error_px": "mean reprojection error of the reconstruction's points",
            "registered_fraction": "frames with a pose / frames; metrics run over registered frames only",
        },
        "trials": trials,
        "trial_variation": "features and matches once (deterministic); the mapper reruns with seeds seed..seed+trials-1",
        "summary": "median over successful trials, with min/max and quartiles",
        "rotation_only": {
            "when": f"the mapper registered < {SFM_MIN_REGISTERED:.0%} of the frames and the video fits a pure "
            "rotation, or the video shows no measurable parallax (then the mapper is not run; the rotation fits the "
            f"widest pairs within {PARALLAX_RATIO} x the homography error + {PARALLAX_SLACK_PX} px)",
            "pairs": "the SfM database's SIFT keypoints and raw matches (pairs i, i+1, i+2, i+4, ...); "
            f"cv2.findHomography RANSAC at {ROTATION_TOL_PX} px; R = nearest rotation to K^-1 H K, refined "
            "by least squares on the unit rays; K = the SfM camera (plan's intrinsics, fixed)",
            "fits": f"on the widest pairs (spans >= half the longest): median transfer error of K R K^-1 <= "
            f"{ROTATION_MAX_ERROR_PX} px and >= {ROTATION_MIN_EXPLAINED:.0%} of the homography's inliers "
            f"explained; pixel tolerances scale with full size / max_image_size; >= {SFM_MIN_REGISTERED:.0%} "
            "frames chained",
            "chain": "fewest hops from the first frame over pairs with >= "
            f"{ROTATION_MIN_MATCHES} rotation inliers and >= {ROTATION_MIN_INLIER_RATIO:.0%} of the matches; "
            "translation 0",
            "translation_metrics": f"a plan moving <= {PURE_ROTATION_PLAN_EXTENT} subject distances counts as "
            "a pure rotation (TransErr / CamMC compare zeros); otherwise they, ATE and RPE translation are None "
            "(not measurable)",
            "reprojection_error_px": "for rotation-only trials: median transfer error of K R K^-1 on the widest pairs",
        },
        "not_done": "no *_abs metrics (they need Depth-Anything-V2 metric depth and a GT video) and no FVD",
    }
