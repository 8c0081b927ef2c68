"""Motion-tag F1 of an estimated camera path: GenDoP's caption F-score against the plan and against the text.

The labels and the metric are `shotsmith.motion_tags`'; the text's labels come through `shotsmith.describe`.
This module only applies them to an SfM trial (Sim(3)-aligned onto the plan, so translations read in the
plan's units).
"""

from __future__ import annotations

from shotsmith.camera import CameraPath
from shotsmith.describe import describe, text_f1
from shotsmith.evaluate.poses import estimate_path
from shotsmith.evaluate.sfm import SfmTrial
from shotsmith.motion_tags import trajectory_f1


def motion_f1s(plan: CameraPath, trial: SfmTrial, text: str) -> tuple[dict, list[str]]:
    """Motion-tag F1 of the (scale-aligned) estimate against the plan and against `text` (None when skipped)."""
    out: dict = {"motion_tag_f1_vs_plan": None, "motion_tag_f1_vs_text": None}
    notes: list[str] = []
    est, ref = estimate_path(plan, trial)
    out["motion_tag_f1_vs_plan"] = float(trajectory_f1(est, ref))
    out["estimated_movement"] = describe(est)
    if text.strip():
        try:
            out["motion_tag_f1_vs_text"] = float(text_f1(text, est))
        except Exception as exc:  # noqa: BLE001 - a text the planner cannot parse: a note, not a failed evaluation
            notes.append(f"motion-tag F1 against the text skipped: {exc}")
    return out, notes
