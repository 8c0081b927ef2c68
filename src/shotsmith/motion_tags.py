"""GenDoP's motion-tag vocabulary: per-step labels of a camera path, their smoothing, and the motion-tag F1.

Labels are GenDoP's caption-metric labels (REFERENCE.md 4.3, 3DTopia/GenDoP evaluate/eval/src/metrics/modules):
per step between consecutive frames, the relative transform `inv(c2w_i) @ c2w_(i+1)` in **OpenGL camera axes**
(x right, y up, z backward) gives a translation velocity `fps * dt` and an angular velocity `rotvec(dR)`.

- translation: 27 classes from the sign pattern of (x, y, z); an axis counts when |v| > 0.02, and of two
  counted axes the weaker is dropped when (|a| - |b|) / max(|a|, |b|) > 0.4 (GenDoP's order of tests kept);
  index = 9 d(x) + 3 d(y) + d(z) with d(0) = 0, d(+) = 1, d(-) = 2 (`itertools.product([0, 1, -1], repeat=3)`).
- rotation: 7 classes, static unless max |w| > 0.005; then only an axis strictly larger than the other two:
  1 pitch up (+x), 2 pitch down, 3 yaw left (+y), 4 yaw right, 5 roll left (+z), 6 roll right.
- label = translation * 7 + rotation, 189 classes; `smooth_labels` is GenDoP's mode filter (window 15) plus
  short-chunk merging (10), both growing by 5 until at most 4 segments remain.

GenDoP's names against our signs (docs/CONVENTIONS.md, OpenCV x right, y down, z forward): "move right" = +x,
"move up" = -y (ours), "move forward" = +z (ours); "pitch up" = our pitch > 0, "yaw right" = our yaw > 0 (pan
right), "roll right" = our roll > 0 (clockwise). Tested in tests/test_describe.py.

Scale and time (docs/TEXT.md): GenDoP labels every clip after resampling it to 120 poses at "30 fps" and does
not normalise the translation scale in this metric. We keep both: steps are rescaled to GenDoP's clock, so the
labels of a path do not depend on its frame count or fps, and translations are read in scene units
(1.0 = subject distance, close to MonST3R's units). A whole-shot constant move is therefore tagged when it
exceeds `static_move_per_shot()` (~0.08 subject distances) and a whole-shot rotation when it exceeds
`static_turn_per_shot_deg()` (~34 degrees); focal length (zoom) is not a GenDoP label.

Both the describer (`shotsmith.describe`: captions, text labels) and the text planner (`shotsmith.textplan`:
detectability floors) build on this module; it knows nothing of text or captions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shotsmith.camera import CameraPath
from shotsmith.errors import InputError

#: GenDoP resamples every clip to this many poses and calls them 30 fps.
GENDOP_POSES = 120
GENDOP_FPS = 30.0
#: Translation speed below which an axis is static (GenDoP units per second at 30 fps).
TRANS_STATIC = 0.02
#: Dominance ratio: (|a| - |b|) / max(|a|, |b|) above this drops the weaker axis.
DOMINANCE = 0.4
#: Rotation per step (radians) below which the camera does not turn.
ROT_STATIC = 0.005
#: Smoothing: mode-filter window and minimum chunk length, grown by SMOOTH_GROW until <= MAX_SEGMENTS remain.
SMOOTH_WINDOW = 15
MIN_CHUNK = 10
SMOOTH_GROW = 5
MAX_SEGMENTS = 4
NUM_CLASSES = 189

TRANS_NAMES: dict[int, str] = {}
"""Translation index -> GenDoP name ("static", "move left and forward", "move right, up, and backward")."""
ROT_NAMES = ("static", "pitch up", "pitch down", "yaw left", "yaw right", "roll left", "roll right")
_DIGIT = {0: 0, 1: 1, -1: 2}
_AXIS_WORDS = (("right", "left"), ("up", "down"), ("backward", "forward"))  # OpenGL +x, +y, +z first


def _trans_name(sx: int, sy: int, sz: int) -> str:
    words = [_AXIS_WORDS[a][0 if s > 0 else 1] for a, s in enumerate((sx, sy, sz)) if s]
    if not words:
        return "static"
    if len(words) == 3:
        return f"move {words[0]}, {words[1]}, and {words[2]}"
    return "move " + " and ".join(words)


for _sx in (0, 1, -1):
    for _sy in (0, 1, -1):
        for _sz in (0, 1, -1):
            TRANS_NAMES[9 * _DIGIT[_sx] + 3 * _DIGIT[_sy] + _DIGIT[_sz]] = _trans_name(_sx, _sy, _sz)
LABEL_OF_NAME: dict[str, int] = {}
"""Label names ("move right", "yaw left", "move forward+yaw right", "static") -> label index."""
for _t, _tn in TRANS_NAMES.items():
    for _r, _rn in enumerate(ROT_NAMES):
        if _tn == "static" and _rn == "static":
            _name = "static"
        elif _rn == "static":
            _name = _tn
        elif _tn == "static":
            _name = _rn
        else:
            _name = f"{_tn}+{_rn}"
        LABEL_OF_NAME[_name] = _t * 7 + _r


def label_name(label: int) -> str:
    """Readable name of a label: "static", "move right", "yaw left", "move forward+yaw right"."""
    t, r = divmod(int(label), 7)
    tn, rn = TRANS_NAMES[t], ROT_NAMES[r]
    if tn == "static":
        return rn
    return tn if rn == "static" else f"{tn}+{rn}"


def label_of(name: str) -> int:
    """Label index of a readable name (inverse of `label_name`; "move left and forward+yaw right")."""
    key = " ".join(name.lower().split())
    if key not in LABEL_OF_NAME:
        raise InputError(
            f"unknown motion label {name!r}; write e.g. 'move left and forward+yaw right' or 'static'"
        )
    return LABEL_OF_NAME[key]


# ---------------------------------------------------------------------------------------------------------------
# Per-step labels


def static_move_per_shot(fps: float = GENDOP_FPS) -> float:
    """Smallest constant whole-shot translation (scene units) that is not labelled static."""
    return TRANS_STATIC / fps * (GENDOP_POSES - 1)


def static_turn_per_shot_deg() -> float:
    """Smallest constant whole-shot rotation (degrees) that is not labelled static."""
    return math.degrees(ROT_STATIC * (GENDOP_POSES - 1))


def step_velocities(cam: CameraPath, fps: float = GENDOP_FPS) -> tuple[np.ndarray, np.ndarray]:
    """Translation velocities (N-1, 3) and angular velocities (N-1, 3), OpenGL camera axes, on GenDoP's clock:
    each step is rescaled as if the whole path were 120 poses at `fps`."""
    from scipy.spatial.transform import Rotation

    gl = cam.world_from_camera * np.array([1.0, -1.0, -1.0, 1.0])  # OpenGL columns: x right, y up, z back
    n = len(gl)
    if n < 2:
        return np.zeros((0, 3)), np.zeros((0, 3))
    rot, pos = gl[:, :3, :3], gl[:, :3, 3]
    d_rot = np.einsum("nji,njk->nik", rot[:-1], rot[1:])  # R_i^T R_(i+1)
    d_pos = np.einsum("nji,nj->ni", rot[:-1], pos[1:] - pos[:-1])  # R_i^T (t_(i+1) - t_i)
    per_gendop_step = (n - 1) / (GENDOP_POSES - 1)
    return fps * d_pos * per_gendop_step, Rotation.from_matrix(d_rot).as_rotvec() * per_gendop_step


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    m = np.maximum(np.abs(a), np.abs(b))
    return np.divide(np.abs(a) - np.abs(b), m, out=np.zeros_like(m), where=m != 0)


#: The axis pairs in GenDoP's order of dominance tests (x-y, x-z, y-z).
_AXIS_PAIRS = ((0, 1), (0, 2), (1, 2))


def translation_classes(v: np.ndarray, static: float = TRANS_STATIC) -> np.ndarray:
    """(M,) translation class 0..26 of velocities (M, 3), GenDoP's rules (static threshold, dominance).

    For every pair of counted axes, in GenDoP's order, the weaker one is dropped when the ratio
    (|a| - |b|) / max(|a|, |b|) passes +-DOMINANCE (ratios of the raw velocities, not of what is left)."""
    v = np.asarray(v, dtype=np.float64).reshape(-1, 3)
    ratios = [_ratio(v[:, a], v[:, b]) for a, b in _AXIS_PAIRS]
    out = np.zeros(len(v), dtype=np.int64)
    for i, vel in enumerate(v):
        counted = np.abs(vel) > static
        p = counted.astype(int)
        for (a, b), ratio in zip(_AXIS_PAIRS, ratios, strict=True):
            if counted[a] and counted[b]:
                if ratio[i] > DOMINANCE:
                    p[b] = 0
                elif ratio[i] < -DOMINANCE:
                    p[a] = 0
        s = (np.sign(vel) * p).astype(int)
        out[i] = 9 * _DIGIT[s[0]] + 3 * _DIGIT[s[1]] + _DIGIT[s[2]]
    return out


def rotation_classes(w: np.ndarray, static: float = ROT_STATIC) -> np.ndarray:
    """(M,) rotation class 0..6 of angular velocities (M, 3): static, or the strictly dominant axis."""
    w = np.asarray(w, dtype=np.float64).reshape(-1, 3)
    a = np.abs(w)
    out = np.zeros(len(w), dtype=np.int64)
    moving = a.max(axis=1) > static if len(w) else np.zeros(0, bool)
    for axis in range(3):
        others = np.delete(a, axis, axis=1).max(axis=1)
        dom = moving & (a[:, axis] > others)
        out[dom] = 1 + 2 * axis + (w[dom, axis] < 0)
    return out


def frame_labels(cam: CameraPath, fps: float = GENDOP_FPS, sensitivity: float = 1.0) -> np.ndarray:
    """(N-1,) raw GenDoP labels 0..188, one per step from frame i to frame i+1 (empty for one frame).
    `sensitivity` > 1 divides GenDoP's static thresholds (1.0 = exactly GenDoP's metric)."""
    v, w = step_velocities(cam, fps)
    return translation_classes(v, TRANS_STATIC / sensitivity) * 7 + rotation_classes(
        w, ROT_STATIC / sensitivity
    )


# ---------------------------------------------------------------------------------------------------------------
# Smoothing (GenDoP's mode filter and short-chunk merging)


def _mode_filter(arr: np.ndarray, window: int) -> np.ndarray:
    n = len(arr)
    if n < window:
        return arr.copy()
    half = window // 2
    out = arr.copy()
    for i in range(n):
        lo, hi = max(0, i - half), min(n, i + half + 1)
        out[i] = np.argmax(
            np.bincount(arr[lo:hi], minlength=NUM_CLASSES)
        )  # smallest label on ties, like scipy
    return out


def _chunks(arr: np.ndarray) -> list[list[int]]:
    """[[label, start, end]] of runs (end inclusive)."""
    if len(arr) == 0:
        return []
    cuts = np.flatnonzero(np.diff(arr)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts - 1, [len(arr) - 1]])
    return [[int(arr[s]), int(s), int(e)] for s, e in zip(starts, ends, strict=True)]


def _merge_short(arr: np.ndarray, min_len: int) -> np.ndarray:
    chunks = _chunks(arr)
    while len(chunks) > 1:
        lengths = [e - s + 1 for _, s, e in chunks]
        k = int(np.argmin(lengths))
        length = lengths[k]
        if length >= min_len:
            break
        if k == 0:
            chunks[1][1] -= length
        elif k == len(chunks) - 1:
            chunks[k - 1][2] += length
        else:
            chunks[k - 1][2] += (length + 1) // 2
            chunks[k + 1][1] -= length // 2
        chunks.pop(k)  # neighbours with the same label stay separate chunks, as in GenDoP
    return (
        np.concatenate([np.full(e - s + 1, lab, dtype=np.int64) for lab, s, e in chunks]) if chunks else arr
    )


def count_segments(labels: np.ndarray) -> int:
    """Number of runs of equal labels."""
    return 0 if len(labels) == 0 else int(np.count_nonzero(np.diff(labels))) + 1


def smooth_labels(labels) -> np.ndarray:
    """GenDoP's smoothing: mode filter then short-chunk merging, windows 15 / 10 growing by 5 until at most
    4 segments remain. Same length as `labels`."""
    arr = np.asarray(labels, dtype=np.int64).ravel()
    if len(arr) == 0:
        return arr
    window, min_len = SMOOTH_WINDOW, MIN_CHUNK
    while True:
        out = _merge_short(_mode_filter(arr, window), min_len)
        if count_segments(out) <= MAX_SEGMENTS:
            return out
        window += SMOOTH_GROW
        min_len += SMOOTH_GROW


# ---------------------------------------------------------------------------------------------------------------
# Segments and captions


@dataclass(frozen=True)
class LabelledSegment:
    """A run of one smoothed label over frames `start_frame`..`end_frame` (inclusive)."""

    label: int
    start_frame: int
    end_frame: int

    @property
    def translation(self) -> str:
        return TRANS_NAMES[self.label // 7]

    @property
    def rotation(self) -> str:
        return ROT_NAMES[self.label % 7]


def label_segments(labels: np.ndarray) -> list[LabelledSegment]:
    """Runs of (smoothed) step labels as segments over frames (step i spans frames i..i+1)."""
    return [LabelledSegment(lab, s, e + 1) for lab, s, e in _chunks(np.asarray(labels, dtype=np.int64))]


def spread_labels(labels: list[int], weights: list[float], num_steps: int) -> np.ndarray:
    """(num_steps,) per-step labels of consecutive segments with relative durations `weights` (step i sits at
    normalised time (i + 0.5) / num_steps)."""
    if num_steps < 1:
        return np.zeros(0, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    bounds = np.cumsum(w) / w.sum()
    t = (np.arange(num_steps) + 0.5) / num_steps
    idx = np.minimum(np.searchsorted(bounds, t, side="right"), len(labels) - 1)
    return np.asarray(labels, dtype=np.int64)[idx]


def _match_length(pred: np.ndarray, n: int) -> np.ndarray:
    if len(pred) == n:
        return pred
    idx = np.minimum(((np.arange(n) + 0.5) / n * len(pred)).astype(int), len(pred) - 1)
    return pred[idx]


def motion_tag_f1(pred_labels, ref_labels) -> float:
    """Weighted F1 over frames (torchmetrics multiclass, average="weighted", zero_division=0): per-class F1
    weighted by the class's support in `ref_labels`. Predictions of another length are resampled in time."""
    ref = np.asarray(ref_labels, dtype=np.int64).ravel()
    pred = np.asarray(pred_labels, dtype=np.int64).ravel()
    if len(ref) == 0 or len(pred) == 0:
        raise InputError("motion-tag F1 needs at least one label on each side (paths of 2 frames or more)")
    pred = _match_length(pred, len(ref))
    classes, support = np.unique(ref, return_counts=True)
    total = 0.0
    for c, n in zip(classes, support, strict=True):
        tp = np.count_nonzero((pred == c) & (ref == c))
        fp = np.count_nonzero((pred == c) & (ref != c))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / n
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        total += f1 * n
    return float(total / len(ref))


def trajectory_f1(cam_pred: CameraPath, cam_ref: CameraPath, fps: float = GENDOP_FPS) -> float:
    """Motion-tag F1 of two paths: smoothed labels of each, as GenDoP's caption F-score."""
    return motion_tag_f1(
        smooth_labels(frame_labels(cam_pred, fps)), smooth_labels(frame_labels(cam_ref, fps))
    )
