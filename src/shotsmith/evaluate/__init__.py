"""Measuring a shot's camera: poses from video frames with pycolmap, CamI2V's metrics and aligned errors.

The evaluation protocol (docs/EVALUATION.md, REFERENCE.md section 3), one module per concern:

- `metrics`: RotErr, TransErr and CamMC as CamI2V sums them, the Sim(3) (Umeyama) alignment, ATE and RPE;
- `sfm`: pycolmap's SIFT features, sequential matching and mapper with the plan's intrinsics fixed;
- `rotation`: the rotation-only model (homographies) for pans, tilts and rolls that SfM cannot reconstruct;
- `poses`: the estimate of a video (SfM plus the rotation fallback) and a camera path from a trial;
- `tags`: the motion-tag F1 of an estimate against the plan and the text;
- `report`: `evaluate_video`, the `EvalReport` over trials and the `protocol` as data;
- `scene`: a synthetic textured room, the known-answer scene that tests and the benchmark measure.

Pure functions on arrays and `CameraPath`s; nothing here knows of workspaces, files other than the SfM scratch
folder, or CLIP (`shotsmith.backends.clip`). pycolmap is imported inside the functions that need it. This
package re-exports the names its callers use, so `from shotsmith.evaluate import evaluate_video` works.
"""

from __future__ import annotations

from shotsmith.evaluate.metrics import (
    PoseMetrics,
    Sim3,
    aligned_estimate,
    cam_mc,
    normalize_translations,
    pose_metrics,
    relative_pose_errors,
    rot_err,
    rotation_angles,
    trans_err,
    umeyama,
)
from shotsmith.evaluate.poses import estimate_path, estimate_poses
from shotsmith.evaluate.report import EvalReport, evaluate_video, protocol, summarize
from shotsmith.evaluate.rotation import (
    RotationFit,
    apply_rotation_model,
    pair_rotation,
    rotation_from_database,
    rotation_only_metrics,
)
from shotsmith.evaluate.scene import BoxRoom, render_box_room
from shotsmith.evaluate.sfm import MAPPERS, SfmOptions, SfmTrial, pycolmap_version, single_focal

__all__ = [
    "MAPPERS",
    "BoxRoom",
    "EvalReport",
    "PoseMetrics",
    "RotationFit",
    "SfmOptions",
    "SfmTrial",
    "Sim3",
    "aligned_estimate",
    "apply_rotation_model",
    "cam_mc",
    "estimate_path",
    "estimate_poses",
    "evaluate_video",
    "normalize_translations",
    "pair_rotation",
    "pose_metrics",
    "protocol",
    "pycolmap_version",
    "relative_pose_errors",
    "render_box_room",
    "rot_err",
    "rotation_angles",
    "rotation_from_database",
    "rotation_only_metrics",
    "single_focal",
    "summarize",
    "trans_err",
    "umeyama",
]
