"""Trajectory -> English caption, text -> motion tags, and the F1 of a path against a text.

The motion-tag vocabulary (GenDoP's 189 labels, the per-step classifier on GenDoP's clock, the smoothing and
the weighted F1) lives in `shotsmith.motion_tags`, shared with the text planner; its public names are
re-exported here, so `describe.frame_labels`, `describe.label_name`, `describe.trajectory_f1` ... keep working.
This module adds GenDoP-style "Movement" captions of labelled segments (`describe`, `segments`) and the labels
of what a text asks for (`text_labels`, through `shotsmith.textplan.parse_text`), with `text_f1`.
Captions see motion `CAPTION_SENSITIVITY` times more readily than the metric does (docs/TEXT.md).
It knows nothing of files (`shotsmith.formats`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from shotsmith.camera import CameraPath, resample
from shotsmith.errors import InputError
from shotsmith.motion import Plan, build_path
from shotsmith.motion_tags import (
    GENDOP_FPS,
    GENDOP_POSES,
    LABEL_OF_NAME,
    NUM_CLASSES,
    TRANS_NAMES,
    LabelledSegment,
    count_segments,
    frame_labels,
    label_name,
    label_of,
    label_segments,
    motion_tag_f1,
    rotation_classes,
    smooth_labels,
    spread_labels,
    static_move_per_shot,
    static_turn_per_shot_deg,
    step_velocities,
    trajectory_f1,
    translation_classes,
)
from shotsmith.textplan import parse_text

__all__ = [
    # re-exported from shotsmith.motion_tags
    "GENDOP_FPS",
    "GENDOP_POSES",
    "LABEL_OF_NAME",
    "NUM_CLASSES",
    "TRANS_NAMES",
    "LabelledSegment",
    "count_segments",
    "frame_labels",
    "label_name",
    "label_of",
    "label_segments",
    "motion_tag_f1",
    "rotation_classes",
    "smooth_labels",
    "spread_labels",
    "static_move_per_shot",
    "static_turn_per_shot_deg",
    "step_velocities",
    "trajectory_f1",
    "translation_classes",
    # this module
    "CAPTION_SENSITIVITY",
    "caption_from_segments",
    "describe",
    "on_gendop_clock",
    "segment_label",
    "segments",
    "text_f1",
    "text_labels",
]

#: Captions (`describe`, `segments`, caption.json) see motion this many times slower than GenDoP's metric
#: thresholds do: GenDoP calls any whole-shot turn under ~34 degrees "static", which would caption our default
#: 20-degree pan as a static shot. Metrics (`trajectory_f1`, `text_f1`) keep GenDoP's thresholds exactly.
CAPTION_SENSITIVITY = 4.0


_ROT_VERB = {"pitch": ("pitches", "pitching"), "yaw": ("yaws", "yawing"), "roll": ("rolls", "rolling")}


def _phrase(seg: LabelledSegment, prev: LabelledSegment | None, gerund: bool) -> str:
    """Verb phrase of a segment in GenDoP's "Movement" wording (third person or gerund)."""
    tn, rn = seg.translation, seg.rotation
    if tn == "static" and rn == "static":
        return "remaining static" if gerund else "remains static"
    parts = []
    if tn != "static":
        where = tn.removeprefix("move ")
        if prev is not None and prev.translation == tn and not gerund:
            parts.append(f"continues moving {where}")
        else:
            parts.append(f"{'moving' if gerund else 'moves'} {where}")
    if rn != "static":
        kind, direction = rn.split()
        continuing = prev is not None and prev.rotation == rn
        if parts:
            parts.append(f"while {'continuing to ' + kind if continuing else _ROT_VERB[kind][1]} {direction}")
        elif continuing and not gerund:
            parts.append(f"continues {_ROT_VERB[kind][1]} {direction}")
        else:
            parts.append(f"{_ROT_VERB[kind][1 if gerund else 0]} {direction}")
    return " ".join(parts)


def caption_from_segments(segs: list[LabelledSegment]) -> str:
    """English caption: "The camera A, then B, followed by C-ing, and finally D-ing." (GenDoP's style)."""
    if not segs:
        return "The camera remains static."
    phrases = []
    for i, seg in enumerate(segs):
        prev = segs[i - 1] if i else None
        if i == 0:
            phrases.append(_phrase(seg, None, gerund=False))
        elif i == 1:
            phrases.append("then " + _phrase(seg, prev, gerund=False))
        elif i == len(segs) - 1:
            phrases.append("and finally " + _phrase(seg, prev, gerund=True))
        else:
            phrases.append("followed by " + _phrase(seg, prev, gerund=True))
    return "The camera " + ", ".join(phrases) + "."


def _zoom_sentence(cam: CameraPath, tol: float = 0.1) -> str:
    fx = cam.intrinsics[:, 0]
    ratio = float(fx[-1] / fx[0])
    if ratio > 1 + tol:
        return f" The lens zooms in ({ratio:.2g}x)."
    if ratio < 1 / (1 + tol):
        return f" The lens zooms out ({ratio:.2g}x)."
    return ""


def on_gendop_clock(cam: CameraPath) -> CameraPath:
    """The path resampled to GenDoP's 120 poses (its smoothing windows are counted in those poses), so a short
    or long path is captioned like GenDoP's data; a path of 0-1 or already 120 frames is returned as it is."""
    if len(cam) < 2 or len(cam) == GENDOP_POSES:
        return cam
    return resample(cam, GENDOP_POSES)


def segments(
    cam: CameraPath, fps: float = GENDOP_FPS, sensitivity: float = CAPTION_SENSITIVITY
) -> list[dict]:
    """The smoothed labelled segments of a path: label, names, frames, seconds (at the path's fps), phrase."""
    clock = on_gendop_clock(cam)
    to_frame = (len(cam) - 1) / max(len(clock) - 1, 1)
    segs = [
        replace(seg, start_frame=round(seg.start_frame * to_frame), end_frame=round(seg.end_frame * to_frame))
        for seg in label_segments(smooth_labels(frame_labels(clock, fps, sensitivity)))
    ]
    out = []
    for i, seg in enumerate(segs):
        out.append(
            {
                "label": seg.label,
                "name": label_name(seg.label),
                "translation": seg.translation,
                "rotation": seg.rotation,
                "start_frame": seg.start_frame,
                "end_frame": seg.end_frame,
                "start_s": round(seg.start_frame / cam.fps, 4),
                "end_s": round(seg.end_frame / cam.fps, 4),
                "phrase": _phrase(seg, segs[i - 1] if i else None, gerund=False),
            }
        )
    return out


def describe(cam: CameraPath, fps: float = GENDOP_FPS, sensitivity: float = CAPTION_SENSITIVITY) -> str:
    """GenDoP-style "Movement" caption of a camera path, plus a sentence on zoom when the focal length changes.
    `sensitivity=1.0` captions with GenDoP's exact thresholds."""
    segs = label_segments(smooth_labels(frame_labels(on_gendop_clock(cam), fps, sensitivity)))
    return caption_from_segments(segs) + _zoom_sentence(cam)


# ---------------------------------------------------------------------------------------------------------------
# Text labels and the metric


def text_labels(text: str, num_frames: int, *, lenient: bool = False) -> np.ndarray:
    """(num_frames-1,) smoothed GenDoP labels of what a text asks for.

    Each parsed segment gets ONE label: its motion as planned, at constant speed, through the same classifier
    (so amounts, GenDoP's thresholds and its dominant-axis rule apply), then the labels are spread over the
    frames by the segment durations and smoothed like a trajectory's. Not plan -> path -> labels: a reference
    for "against the prompt" must not inherit the planner's easing ramps and boundary frames.
    """
    if num_frames < 2:
        raise InputError(f"text labels need at least 2 frames, got {num_frames}")
    parsed = parse_text(text, lenient=lenient)
    total = sum(ps.weight for ps in parsed.segments)
    labels = [segment_label(Plan(ps.plan_segments), ps.weight / total) for ps in parsed.segments]
    weights = [ps.weight for ps in parsed.segments]
    return smooth_labels(spread_labels(labels, weights, num_frames - 1))


def segment_label(plan, fraction: float, samples: int = 33) -> int:
    """The label of one text segment (a plan of linear sub-segments) lasting `fraction` of the shot: the most
    frequent step label of its path at constant speed on GenDoP's clock."""
    linear = Plan(
        tuple(replace(s, motion=replace(s.motion, ease="linear", handheld=0.0)) for s in plan.segments)
    )
    cam = build_path(linear, num_frames=samples)
    # The segment alone spans `fraction` of the shot: scale the steps to the whole shot's GenDoP clock.
    v, w = step_velocities(cam)
    labels = translation_classes(v / fraction) * 7 + rotation_classes(w / fraction)
    return int(np.argmax(np.bincount(labels, minlength=NUM_CLASSES)))


def text_f1(text: str, cam: CameraPath, fps: float = GENDOP_FPS) -> float:
    """Motion-tag F1 of a path against a text (the text's labels as reference)."""
    ref = text_labels(text, len(cam))
    return motion_tag_f1(smooth_labels(frame_labels(cam, fps)), ref)
