"""Re-shooting a video (ReCamMaster's job) with a 4D cache: the pure geometry, arrays in and arrays out.

Owns: per-frame depth made consistent over time (each frame's depth scale aligned to its already aligned
neighbours and to frame 0 on the pixels they share, by a robust median, so a static wall does not breathe);
the source cameras (static, a camera file whose declared units are used as given, or up-to-scale poses whose
scale is measured: SfM's own sparse points against frame 0's depth, else a photometric search, each with a
confidence, refused when flat; poses that do not fit the frames are refused with the measured error); the 4D
point sets (one coloured point set per source frame, in world = source camera at frame 0, 1.0 = median depth of
frame 0) and which of their points are static (`static_evidence`: reprojection into other frames agrees in depth
and colour, DIS optical flow agrees with the camera's); the target path relative to the source camera
(ReCamMaster: relative to the source's first frame); and rendering target frame t from source frame t's points,
filled where frame t does not see from the other frames' static points that a depth test accepts (REFERENCE 5.3
Cache4D, plus the fill): moving things live at their own moment only.

Also: per-frame depth of a decoded clip from a depth backend or a user's depth file fitted to the shot
(`depth_for_frames`, `load_depth_video`) and the source cameras of a clip (`source_cameras`).
Speed (issue 19): a thread-safe CPU depth backend (the prior) and the flying-pixel filter run two frames at a
time on threads (their heavy calls release the GIL); the 4D render unprojects each source frame once
(`FramePoints`, kept over the fill window), tests same-camera pixels in one compiled pass (`recapture_fast`) and
gathers frame t+1's points on a thread while frame t splats. Outputs are the same as frame-by-frame.
It does not decode video (`shotsmith.video`), run depth models itself (`shotsmith.backends.depth`), splat
(`shotsmith.render`), fill holes (the generators) or touch a workspace (the build-3d-cache stage does).
Conventions: docs/CONVENTIONS.md; the method: docs/RECAPTURE.md.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith.camera import CameraPath, invert_rigid
from shotsmith.errors import InputError, check_numpy_file, check_shape

SourceCameraMode = Literal["static", "estimate", "file"]
TargetMode = Literal["first", "follow"]
AlignMode = Literal["median", "none"]


# ---------------------------------------------------------------------------------------------------------------
# Small projection helpers (float64 for the poses, float32 for the pixels)


def _unproject_pixels(depth: np.ndarray, rows: np.ndarray, cols: np.ndarray, intrinsics) -> np.ndarray:
    """(P, 3) float64 camera points of pixels (rows, cols) of a z-depth map (pixel centres at +0.5)."""
    fx, fy, cx, cy = (float(x) for x in np.asarray(intrinsics).reshape(4))
    z = depth[rows, cols].astype(np.float64)
    return np.stack([(cols + 0.5 - cx) / fx * z, (rows + 0.5 - cy) / fy * z, z], axis=1)


def _project(points: np.ndarray, intrinsics) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P,) int pixel columns, (P,) int rows and (P,) z of (P, 3) camera points (floor of u, v)."""
    fx, fy, cx, cy = (float(x) for x in np.asarray(intrinsics).reshape(4))
    z = points[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = fx * points[:, 0] / z + cx
        v = fy * points[:, 1] / z + cy
    u = np.where(np.isfinite(u), u, -1e9)
    v = np.where(np.isfinite(v), v, -1e9)
    return np.floor(u).astype(np.int64), np.floor(v).astype(np.int64), z


def _transform(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def _is_identity(matrix: np.ndarray, tol: float = 1e-9) -> bool:
    return bool(np.abs(np.asarray(matrix) - np.eye(4)).max() <= tol)


def _bilinear(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(N,) bilinear samples of a (H, W) image at index coordinates (u, v) inside [0, W-1] x [0, H-1]."""
    h, w = image.shape
    u0 = np.clip(np.floor(u).astype(np.int64), 0, w - 2)
    v0 = np.clip(np.floor(v).astype(np.int64), 0, h - 2)
    a, b = u - u0, v - v0
    top = image[v0, u0] * (1 - a) + image[v0, u0 + 1] * a
    bottom = image[v0 + 1, u0] * (1 - a) + image[v0 + 1, u0 + 1] * a
    return top * (1 - b) + bottom * b


def _box5(image: np.ndarray) -> np.ndarray:
    """The 5x5 mean of an image (same dtype), OpenCV's box filter."""
    import cv2

    return cv2.blur(image, (5, 5))


def _channel_max(x: np.ndarray) -> np.ndarray:
    """The largest of the 3 channels along the last axis (numpy's 3-wide `max(axis=-1)` is several times slower)."""
    return np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2])


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Depth made consistent over time


@dataclass
class AlignOptions:
    """How per-frame depth scales are tied together over time."""

    mode: AlignMode = "median"
    """"median": each frame's scale is the robust median of the ratios to its references on shared static
    pixels; "none": every frame is normalised on its own (median depth 1.0, for comparison)."""
    references: int = 3
    """Previous (already aligned) frames each frame is compared with, besides frame 0."""
    colour_threshold: float = 20.0
    """Grey-level difference (0-255) above which a shared pixel counts as moving and is left out."""
    samples: int = 20000
    """Pixels sampled per frame for the fit."""
    iterations: int = 4
    """Fixed-point iterations when the source camera moves (the correspondences depend on the scale)."""
    seed: int = 0
    """Seed of the pixel sampling."""


@dataclass
class AlignReport:
    """What the alignment found."""

    scales: list[float] = field(default_factory=list)
    """Per frame: scene depth = scale x backend depth."""
    shared_fraction: list[float] = field(default_factory=list)
    """Per frame: fraction of the sampled pixels that found a static partner in a reference."""


def _scale_against(
    depth_t: np.ndarray,
    grey_t: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    refs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    intrinsics: np.ndarray,
    init: float,
    opts: AlignOptions,
) -> tuple[float, float]:
    """(scale, shared fraction) of one frame's raw depth against references (aligned depth, grey, ref_from_t)."""
    h, w = depth_t.shape
    cam = _unproject_pixels(depth_t, rows, cols, intrinsics)
    g = grey_t[rows, cols]
    moving = any(not _is_identity(m) for _, _, m in refs)
    scale = init
    shared = 0.0
    for _ in range(opts.iterations if moving else 1):
        ratios = []
        n_ok = 0
        for ref_depth, ref_grey, ref_from_t in refs:
            rot, t = ref_from_t[:3, :3], ref_from_t[:3, 3]
            rp = cam @ rot.T  # rotated, unscaled
            p = rp * scale + t
            u, v, z = _project(p, intrinsics)
            ok = (z > 1e-6) & (u >= 0) & (u < w) & (v >= 0) & (v < h) & (rp[:, 2] > 1e-9)
            uu, vv = u[ok], v[ok]
            d_ref = ref_depth[vv, uu]
            same = (d_ref > 0) & (np.abs(ref_grey[vv, uu] - g[ok]) <= opts.colour_threshold)
            if not same.any():
                continue
            s_i = (d_ref[same] - t[2]) / rp[ok][same, 2]
            s_i = s_i[s_i > 0]
            ratios.append(s_i)
            n_ok += len(s_i)
        if not ratios or sum(len(r) for r in ratios) < 16:
            return scale, 0.0
        all_r = np.concatenate(ratios)
        # Robust: the median of the log ratios, then once more over the ratios within 10% of it.
        med = float(np.exp(np.median(np.log(all_r))))
        close = all_r[np.abs(np.log(all_r / med)) < 0.1]
        scale = float(np.exp(np.median(np.log(close)))) if len(close) >= 16 else med
        shared = n_ok / max(1, len(rows) * len(refs))
    return scale, shared


def align_depths(
    depths: np.ndarray,
    frames: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    options: AlignOptions | None = None,
    valid: np.ndarray | None = None,
    inplace: bool = False,
) -> tuple[np.ndarray, AlignReport]:
    """(T, H, W) float32 depths in scene units, consistent over time, and the report.

    `depths` (T, H, W) raw backend depths (0 = invalid), `frames` (T, H, W, 3) uint8, `world_from_camera`
    (T, 4, 4) source poses already in scene units (frame 0 = identity; translations are taken to be in the units
    where frame 0's median depth is 1.0), `intrinsics` (4,), `valid` (H, W) bool content mask. Frame 0 is
    scaled to median 1.0; each later frame t gets the scale that makes its static pixels agree with frames
    0, t-1, ..., t-`references` (robust median over the pixels whose colour also agrees). `inplace` (a float32
    `depths` only) writes the result over `depths` and returns it: frame t's raw depth is read before it is
    overwritten and only earlier (aligned) frames are referenced, so the result is the same, without a second
    video-sized buffer.
    """
    opts = options or AlignOptions()
    if inplace and (not isinstance(depths, np.ndarray) or depths.dtype != np.float32):
        raise ValueError("align_depths(inplace=True) needs a float32 numpy array")
    depths = np.asarray(depths, dtype=np.float32)
    t_, h, w = depths.shape
    check_shape("frames", frames, (t_, h, w, 3))
    check_shape("world_from_camera", world_from_camera, (t_, 4, 4))
    from shotsmith.geometry import subject_depth

    content = np.ones((h, w), bool) if valid is None else np.asarray(valid, bool)
    out = depths if inplace else np.zeros_like(depths)
    report = AlignReport()
    greys: dict[
        int, np.ndarray
    ] = {}  # frame 0 and the last `references` frames: not a grey copy of the video

    def grey(t: int) -> np.ndarray:
        if t not in greys:
            greys[t] = _grey(frames[t])
        return greys[t]

    rng = np.random.default_rng(opts.seed)
    camera_from_world = invert_rigid(world_from_camera)
    for t in range(t_):
        d = np.where(content, depths[t], 0).astype(np.float32)
        if not (d > 0).any():
            raise InputError(f"frame {t}: the depth backend found no valid depth; try another --depth")
        if t == 0 or opts.mode == "none":
            scale = 1.0 / subject_depth(d)
            shared = 1.0 if t == 0 else 0.0
        else:
            rows, cols = np.nonzero(d > 0)
            if len(rows) > opts.samples:
                pick = rng.choice(len(rows), opts.samples, replace=False)
                rows, cols = rows[pick], cols[pick]
            ref_ids = sorted({0, *range(max(0, t - opts.references), t)})
            refs = [(out[r], grey(r), camera_from_world[r] @ world_from_camera[t]) for r in ref_ids]
            init = report.scales[t - 1]
            scale, shared = _scale_against(d, grey(t), rows, cols, refs, intrinsics, init, opts)
            for old in [k for k in greys if 0 < k <= t - opts.references]:
                del greys[old]
        out[t] = d * np.float32(scale)
        report.scales.append(float(scale))
        report.shared_fraction.append(round(float(shared), 4))
    return out, report


# ---------------------------------------------------------------------------------------------------------------
# Source cameras


def static_cameras(num_frames: int) -> np.ndarray:
    """(T, 4, 4) identity poses: a tripod shot."""
    return np.tile(np.eye(4), (num_frames, 1, 1))


def hold_unregistered(world_from_camera: np.ndarray, registered: np.ndarray) -> np.ndarray:
    """(T, 4, 4) poses where each unregistered frame takes the nearest registered frame's pose, re-expressed
    relative to frame 0."""
    m = np.asarray(world_from_camera, dtype=np.float64).copy()
    reg = np.flatnonzero(registered)
    if len(reg) == 0:
        raise InputError("pose estimation registered no frame; use --source-camera static or a camera file")
    for i in np.flatnonzero(~np.asarray(registered, bool)):
        m[i] = m[reg[np.argmin(np.abs(reg - i))]]
    return invert_rigid(m[0]) @ m


def photometric_cost(
    scale: float,
    grey0: np.ndarray,
    depth0: np.ndarray,
    greys: list[np.ndarray],
    camera_from_world: list[np.ndarray],
    intrinsics: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    cap: float = 40.0,
) -> float:
    """Mean capped grey difference between frame 0's sampled pixels and where they land in the other frames
    when the poses' translations are multiplied by `scale` (frame 0 depth in scene units)."""
    h, w = depth0.shape
    x0 = _unproject_pixels(depth0, rows, cols, intrinsics)
    g0 = grey0[rows, cols]
    fx, fy, cx, cy = (float(x) for x in intrinsics)
    total, count = 0.0, 0
    for grey, m in zip(greys, camera_from_world, strict=True):
        p = x0 @ m[:3, :3].T + scale * m[:3, 3]
        z = p[:, 2]
        ok = z > 1e-6
        u = (fx * p[ok, 0] / z[ok] + cx - 0.5).astype(np.float32)
        v = (fy * p[ok, 1] / z[ok] + cy - 0.5).astype(np.float32)
        inside = (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
        if inside.sum() < 16:
            total += cap * len(rows)
            count += len(rows)
            continue
        sampled = _bilinear(grey, u[inside], v[inside])
        diff = np.minimum(np.abs(sampled - g0[ok][inside]), cap)
        total += float(diff.sum()) + cap * float(len(rows) - inside.sum())
        count += len(rows)
    return total / max(1, count)


@dataclass
class PoseScale:
    """How up-to-scale source poses were brought to scene units (recorded in cache.json and printed)."""

    scale: float
    """Multiply the poses' translations by this to get scene units (1.0 = subject distance of frame 0)."""
    method: str
    """"declared" (the file says its units), "given" (--source-scale), "sparse points" (SfM's own points
    against frame 0's depth), "photometric" (warps of frame 0 matched to other frames) or "no translation"."""
    confidence: float
    """0..1: how sure the measure is (1.0 for declared or given scales); see the functions that set it."""
    detail: str = ""
    """One human line: what was measured."""

    def facts(self) -> dict:
        return {
            "pose_scale": float(self.scale),
            "pose_scale_method": self.method,
            "pose_scale_confidence": round(float(self.confidence), 4),
            "pose_scale_detail": self.detail,
        }


#: Below this confidence a measured scale is refused (the objective is flat: no scale explains the frames
#: clearly better than the others); the user then gives one with --source-scale.
MIN_SCALE_CONFIDENCE = 0.15


def _far_frames(m: np.ndarray, max_frames: int) -> list[int]:
    dist = np.linalg.norm(m[:, :3, 3], axis=1)
    extent = float(dist.max())
    return [int(i) for i in np.argsort(-dist)[:max_frames] if dist[i] > 0.05 * extent]


def _sample_pixels(depth0: np.ndarray, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(depth0 > 0)
    rng = np.random.default_rng(seed)
    if len(rows) > samples:
        pick = rng.choice(len(rows), samples, replace=False)
        rows, cols = rows[pick], cols[pick]
    return rows, cols


def photometric_scale(
    frames: np.ndarray,
    depth0: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    samples: int = 4000,
    max_frames: int = 6,
    seed: int = 0,
) -> PoseScale:
    """The factor that brings an up-to-scale pose estimate (T, 4, 4) (frame 0 = identity) into the scene units of
    frame 0's depth (H, W): the scale whose warps of frame 0 into the frames farthest from it match their colours
    best (a log grid of baselines from 0.2 % to 300 % of the subject distance, then a finer one).

    Confidence: how far the best cost lies below the costs of scales a factor of 2 away on either side, relative
    to the spread of the whole grid (0 = flat: a factor of 2 changes nothing; 1 = a sharp, isolated minimum). A
    minimum at the grid's smallest baseline (the motion collapsed to nothing) has confidence 0."""
    import cv2

    m = np.asarray(world_from_camera, dtype=np.float64)
    extent = float(np.linalg.norm(m[:, :3, 3], axis=1).max())
    if extent < 1e-9:
        return PoseScale(1.0, "no translation", 1.0, "the cameras do not translate")
    order = _far_frames(m, max_frames)
    blur = [cv2.GaussianBlur(_grey(frames[i]), (0, 0), 1.0) for i in [0, *order]]
    cfw = [invert_rigid(m[i]) for i in order]
    rows, cols = _sample_pixels(depth0, samples, seed)

    def cost(s: float) -> float:
        return photometric_cost(s, blur[0], depth0, blur[1:], cfw, intrinsics, rows, cols)

    grid = np.geomspace(0.002, 3.0, 48) / extent
    costs = np.array([cost(float(s)) for s in grid])
    best = int(np.argmin(costs))
    lo, hi = grid[max(0, best - 1)], grid[min(len(grid) - 1, best + 1)]
    fine = np.geomspace(lo, hi, 21)
    fine_costs = [cost(float(s)) for s in fine]
    k = int(np.argmin(fine_costs))
    scale, c_best = float(fine[k]), float(fine_costs[k])
    spread = float(costs.max() - c_best)
    side = [cost(scale / 2.0), cost(scale * 2.0)]
    rise = min(side) - c_best
    confidence = 0.0 if spread <= 1e-9 or best == 0 else float(np.clip(rise / spread, 0.0, 1.0))
    detail = (
        f"photometric match over {len(order)} frames: grey error {c_best:.1f} at the best scale, "
        f"{min(side):.1f} at half or double it, {float(costs.max()):.1f} at worst"
    )
    return PoseScale(scale, "photometric", confidence, detail)


def sparse_point_scale(
    points_world: np.ndarray, depth0: np.ndarray, intrinsics: np.ndarray, min_points: int = 30
) -> PoseScale | None:
    """The scale of an SfM reconstruction from its own sparse points: each (P, 3) point (world of the poses,
    frame 0 = identity) seen in frame 0's view votes depth0(pixel) / z_sfm; the scale is the median of the log
    votes, refined over the votes within 10 % of it. Confidence: the fraction of votes within 10 % of the
    scale, times min(1, votes / 200). None when fewer than `min_points` points land on valid depth."""
    pts = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(axis=1) & (pts[:, 2] > 1e-9)]
    if len(pts) < min_points:
        return None
    h, w = depth0.shape
    u, v, z = _project(pts, intrinsics)
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    d = np.zeros(len(pts))
    d[inside] = depth0[v[inside], u[inside]]
    ok = inside & (d > 0)
    if ok.sum() < min_points:
        return None
    votes = d[ok] / z[ok]
    med = float(np.exp(np.median(np.log(votes))))
    close = votes[np.abs(np.log(votes / med)) < 0.1]
    scale = float(np.exp(np.median(np.log(close)))) if len(close) >= min_points else med
    frac = float(np.mean(np.abs(np.log(votes / scale)) < 0.1))
    confidence = frac * min(1.0, len(votes) / 200.0)
    detail = f"{len(votes)} SfM points on frame 0's depth, {100 * frac:.0f} % within 10 % of the scale"
    return PoseScale(scale, "sparse points", confidence, detail)


def pose_consistency(
    frames: np.ndarray,
    depth0: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    samples: int = 4000,
    max_frames: int = 6,
    seed: int = 1,
) -> tuple[float, float]:
    """(error with the poses, error of a camera that does not move): the mean capped grey error (0-40) of frame 0
    warped with its depth (H, W, scene units) into the frames farthest from it by the (T, 4, 4) poses in scene
    units, and of the same frames compared in place. Poses that fit the video make the first much lower."""
    import cv2

    m = np.asarray(world_from_camera, dtype=np.float64)
    order = _far_frames(m, max_frames) if np.abs(m[:, :3, 3]).max() > 1e-9 else []
    if not order:
        rot = [float(np.abs(x[:3, :3] - np.eye(3)).max()) for x in m]
        order = [int(i) for i in np.argsort(rot)[::-1][:max_frames] if rot[i] > 1e-6]
    if not order:
        return 0.0, 0.0
    blur = [cv2.GaussianBlur(_grey(frames[i]), (0, 0), 1.0) for i in [0, *order]]
    rows, cols = _sample_pixels(depth0, samples, seed)
    with_poses = photometric_cost(
        1.0, blur[0], depth0, blur[1:], [invert_rigid(m[i]) for i in order], intrinsics, rows, cols
    )
    still = photometric_cost(1.0, blur[0], depth0, blur[1:], [np.eye(4)] * len(order), intrinsics, rows, cols)
    return with_poses, still


def estimate_cameras(
    frames: np.ndarray, intrinsics: np.ndarray
) -> tuple[np.ndarray, dict, np.ndarray | None]:
    """(T, 4, 4) up-to-scale source poses relative to frame 0, estimated by pycolmap (through
    `shotsmith.evaluate.estimate_poses`), facts for the record, and the reconstruction's (P, 3) sparse points in
    the same world (None when the trial has none). Unregistered frames hold the nearest pose."""
    from shotsmith.evaluate import estimate_poses

    trials, timings = estimate_poses(frames, np.asarray(intrinsics, dtype=np.float64))
    trial = trials[0]
    if not trial.ok:
        raise InputError(
            f"pycolmap could not estimate the source camera ({trial.error or 'too few frames registered'}); "
            "use --source-camera static for a tripod shot, or give a camera file"
        )
    raw = np.nan_to_num(trial.world_from_camera)
    poses = hold_unregistered(raw, trial.registered)
    points = getattr(trial, "points3d", None)
    if points is not None and len(points):
        # hold_unregistered re-expresses the poses relative to frame 0 (held from the first registered frame)
        first = int(np.flatnonzero(trial.registered)[0])
        points = _transform(invert_rigid(raw[first]), np.asarray(points, np.float64))
    else:
        points = None
    facts = {
        "registered_fraction": round(trial.registered_fraction, 4),
        "reprojection_error_px": trial.reprojection_error_px,
        "sfm_model": getattr(trial, "model", "sfm"),
        **timings,
    }
    return poses, facts, points


# ---------------------------------------------------------------------------------------------------------------
# The target path


def target_path(
    plan: CameraPath, source_world_from_camera: np.ndarray, mode: TargetMode = "first"
) -> CameraPath:
    """The target cameras in the world (= source camera at frame 0).

    `plan` is the planned path (frame 0 at the identity). "first" (ReCamMaster): target frame i is the plan's
    pose i relative to the source's first frame, so `world_from_target_i = world_from_source_0 @ plan_i`;
    "follow": the plan's offset rides along with the moving source camera, `world_from_source_i @ plan_i`.
    """
    src = np.asarray(source_world_from_camera, dtype=np.float64)
    rel = invert_rigid(plan.world_from_camera[0]) @ plan.world_from_camera
    if mode == "first":
        mats = src[0] @ rel
    elif mode == "follow":
        if len(src) != len(plan):
            raise InputError(f"target follow mode: {len(src)} source poses for {len(plan)} target frames")
        mats = src @ rel
    else:
        raise InputError(f"target mode {mode!r}: choose 'first' or 'follow'")
    out = plan.copy()
    out.world_from_camera = mats
    return out


# ---------------------------------------------------------------------------------------------------------------
# Per-frame depth and source cameras of a decoded clip


def load_depth_video(path: str | Path, clip) -> np.ndarray:
    """(T, H, W) float32 raw depth of the shot's frames from a .npz ("depth" key, else the first array) or .npy
    holding one map per frame of the video at the shot's frame rate, from its start: (N >= available, h, w) with
    the source's aspect (fitted like the pixels) or the shot's size (used as is). A single (h, w) map is used for
    every frame (a static scene)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--depth {path}: no such file; give a .npz or .npy with (T, H, W) depth per frame")
    check_numpy_file(path)
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                keys = list(data.keys())
                if not keys:
                    raise InputError(f"--depth {path}: the .npz holds no array; store it under 'depth'")
                arr = data["depth" if "depth" in keys else keys[0]]
        else:
            arr = data
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"--depth {path}: not a readable numpy file ({exc})") from exc
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(f"--depth {path}: expected (T, H, W) depth per frame, got shape {arr.shape}")
    t_, w_, h_ = len(clip.frames), *clip.fit.target_size
    need = int(clip.source_index.max()) + 1
    if len(arr) == 1:
        idx = np.zeros(t_, int)
    elif len(arr) >= need:
        idx = clip.source_index
    else:
        raise InputError(
            f"--depth {path}: {len(arr)} depth maps for a shot that uses {need} frames of the video; give one map "
            "per frame at the shot's frame rate"
        )
    out = np.zeros((t_, h_, w_), np.float32)
    sw, sh = clip.fit.source_size
    for k, i in enumerate(idx):
        d = np.where(np.isfinite(arr[i]) & (arr[i] > 0), arr[i], 0).astype(np.float32)
        if d.shape == (h_, w_):
            out[k] = d
            continue
        if abs(d.shape[1] / d.shape[0] - sw / sh) > 0.01 * sw / sh + 1.0 / d.shape[0]:
            raise InputError(
                f"--depth {path}: maps of {d.shape[1]}x{d.shape[0]} match neither the video ({sw}x{sh}) nor the "
                f"shot ({w_}x{h_})"
            )
        out[k] = clip.fit.apply_to_depth(d)
    return out


def depth_for_frames(
    frames: np.ndarray, backend, kinds: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """(T, H, W) float32 raw depth of each frame from a depth backend, the median of the intrinsics it estimated
    ((4,) or None) and its notes; `kinds`, when given, receives each frame's depth kind ("metric"...)."""
    from shotsmith.backends.depth import depth_of_frames
    from shotsmith.console import track

    backend.load()
    t_, h, w = frames.shape[:3]
    out = np.zeros((t_, h, w), np.float32)
    intr, notes = [], []
    # in frame order; a backend that says `frame_threads` (the prior) runs frames on a small pool, others (a
    # neural model) stay on the caller's thread
    results = depth_of_frames(backend, frames, threads=_cpu_threads(t_))
    for t, res in zip(track(range(t_), f"depth ({backend.name})", total=t_), results, strict=False):
        _take_depth(res, t, out, backend.name, kinds, intr, notes)
    return out, (np.median(np.stack(intr), axis=0) if intr else None), notes


def _cpu_threads(tasks: int = 2) -> int:
    """Threads for per-frame CPU work: 2 (more barely helps: memory-bound numpy), at most the CPUs and the tasks."""
    import os

    return max(1, min(2, os.cpu_count() or 1, tasks))


def _take_depth(res, t: int, out: np.ndarray, name: str, kinds, intr: list, notes: list) -> None:
    """Store one frame's depth result (checked) in `out[t]` and collect its kind, intrinsics and notes: NaN,
    +-inf, values <= 0 (`geometry.sanitize_depth`) and pixels outside its mask become 0, in place (no
    frame-sized float temporaries: this runs beside the backend's threads)."""
    h, w = out.shape[1:]
    d = np.asarray(res.depth)
    if d.shape != (h, w):
        raise InputError(f"depth backend {name!r} returned {d.shape} for a {h}x{w} frame")
    o = out[t]
    np.copyto(o, d, casting="unsafe")
    bad = ~np.isfinite(o)
    bad |= o <= 0
    if res.mask is not None:
        bad |= ~np.asarray(res.mask, bool)
    if bad.any():
        o[bad] = 0
    if kinds is not None:
        kinds.append(str(res.kind))
    if res.intrinsics is not None:
        intr.append(np.asarray(res.intrinsics, np.float64).reshape(4))
    for n in res.notes:
        if n not in notes:
            notes.append(n)


#: Poses are refused when frame 0 warped with them fits the other frames worse than a camera that does not move
#: and the grey error (blurred, capped at 40) is above this.
MAX_POSE_ERROR = 6.0


def declared_pose_scale(declared: str | None, depth_units: str, depth_scale: float) -> PoseScale | None:
    """The scale of a camera file that says its units (`formats.file_units`: "scene", "metres" or None), for depth
    in `depth_units` ("metres": a metric model; "file": the user's depth file; "relative") of which 1.0 scene unit
    is `depth_scale` (frame 0's subject depth in the depth's units). None: measure it."""
    if declared == "scene":
        return PoseScale(1.0, "declared", 1.0, "the file says its units are the subject distance")
    if declared == "metres" and depth_units in ("metres", "file"):
        whose = (
            "the depth model's metres"
            if depth_units == "metres"
            else "the depth file's units (taken as metres)"
        )
        return PoseScale(1.0 / depth_scale, "declared", 1.0, f"the file says metres, used as {whose}")
    return None


def measure_pose_scale(
    frames: np.ndarray,
    depth0: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    points: np.ndarray | None = None,
) -> PoseScale:
    """The scale of up-to-scale poses: SfM's own sparse points against frame 0's depth when there are enough
    that agree (`sparse_point_scale`), else the photometric match (`photometric_scale`)."""
    if points is not None:
        sparse = sparse_point_scale(points, depth0, intrinsics)
        if sparse is not None and sparse.confidence >= MIN_SCALE_CONFIDENCE:
            return sparse
    return photometric_scale(frames, depth0, world_from_camera, intrinsics)


def match_poses_to_frames(num_poses: int, clip) -> tuple[np.ndarray | None, str]:
    """Which pose of a camera file each shot frame takes: (indices, "") when the file has a pose per video frame
    used (pose i = video frame i at the shot's frame rate), else (None, how they are matched: resampled)."""
    t_ = len(clip.frames)
    need = int(clip.source_index.max()) + 1
    if num_poses >= need:
        return np.asarray(clip.source_index, int), ""
    return None, (
        f"{num_poses} poses for the {need} video frames the shot uses: matched by time over the whole shot "
        f"(its first pose at frame 0, its last at frame {t_ - 1}, interpolated between); give one pose per frame "
        "at the shot's frame rate to match them one to one"
    )


def source_cameras(
    source_camera: str,
    clip,
    depth0: np.ndarray,
    intrinsics,
    notes: list[str],
    *,
    scale: float | None = None,
    depth_units: str = "relative",
    depth_scale: float = 1.0,
) -> tuple[np.ndarray, dict]:
    """(T, 4, 4) source poses in scene units (frame 0 = identity) and facts: `source_camera` is "static", "estimate"
    (pycolmap) or a camera file. A file that says its units is used as it says (`declared_pose_scale`); `scale`
    (the user's) is used as given; otherwise the scale is measured (`measure_pose_scale`) and refused when the
    measure is flat. A camera file whose poses fit the frames worse than a still camera is refused with the
    measured error (for pycolmap's own poses it is the depth that does not fit: a note)."""
    from shotsmith.camera import relative_to_first, resample

    t_ = len(clip.frames)
    if source_camera == "static":
        return static_cameras(t_), {"source_camera": "static"}
    points = None
    declared = None
    if source_camera == "estimate":
        raw, facts, points = estimate_cameras(clip.frames, intrinsics)
        facts = {"source_camera": "estimate", **facts}
    else:
        from shotsmith.formats import file_units, read_camera_file

        cam = relative_to_first(read_camera_file(source_camera))
        declared = file_units(source_camera)
        idx, how = match_poses_to_frames(len(cam), clip)
        if idx is not None:
            raw = cam.world_from_camera[idx]
        else:
            notes.append(f"--source-camera {source_camera}: {how}")
            raw = resample(cam, t_).world_from_camera
        raw = invert_rigid(raw[0]) @ raw
        facts = {"source_camera": "file", "file": source_camera, "declared_units": declared or "none"}
    if scale is not None:
        chosen = PoseScale(float(scale), "given", 1.0, "--source-scale")
    else:
        chosen = declared_pose_scale(declared, depth_units, depth_scale) or measure_pose_scale(
            clip.frames, depth0, raw, intrinsics, points
        )
        if declared == "metres" and chosen.method != "declared":
            notes.append(
                f"--source-camera {source_camera}: the file is in metres but the depth is relative; its scale "
                "was measured instead"
            )
        if chosen.method in ("photometric", "sparse points") and chosen.confidence < MIN_SCALE_CONFIDENCE:
            raise InputError(
                f"--source-camera {source_camera}: the scale of its poses cannot be measured ({chosen.detail}; "
                f"confidence {chosen.confidence:.2f}, best guess {chosen.scale:.4g}); give it with --source-scale S "
                "(translations x S = scene units, 1.0 = frame 0's subject distance)"
            )
    poses = raw.copy()
    poses[:, :3, 3] *= chosen.scale
    facts.update(chosen.facts())
    fit, still = pose_consistency(clip.frames, depth0, poses, intrinsics)
    facts["pose_fit_error"], facts["still_fit_error"] = round(fit, 3), round(still, 3)
    if fit > MAX_POSE_ERROR and fit > still and source_camera == "estimate":
        notes.append(
            f"the depth does not fit pycolmap's poses: frame 0 warped into the other frames with them leaves a grey "
            f"error of {fit:.1f} (of 40), {still:.1f} for a camera that does not move; expect seams where frames "
            "lend to each other (a neural --depth backend fits better)"
        )
    elif fit > MAX_POSE_ERROR and fit > still:
        raise InputError(
            f"--source-camera {source_camera}: its poses do not fit the video: frame 0 warped into the other "
            f"frames with them (scale {chosen.scale:.4g}, {chosen.method}) leaves a grey error of {fit:.1f} "
            f"(of 40), {still:.1f} for a camera that does not move; check that the file belongs to this clip "
            "(and its frame rate), or give the scale with --source-scale"
        )
    return poses, facts


# ---------------------------------------------------------------------------------------------------------------
# The 4D cache


@dataclass
class Cache4D:
    """One coloured point set per source frame, as per-pixel maps (GEN3C's Cache4D, REFERENCE 5.3)."""

    depth: np.ndarray
    """(T, H, W) float32 z-depth in scene units; 0 = no point (invalid, off the content, or a flying pixel)."""
    rgb: np.ndarray
    """(T, H, W, 3) uint8 colours."""
    world_from_camera: np.ndarray
    """(T, 4, 4) float64 source camera poses (frame 0 = identity)."""
    intrinsics: np.ndarray
    """(4,) float64 (fx, fy, cx, cy) of the source frames in pixels."""
    seen: np.ndarray | None = None
    """(T, H, W) float32 what each frame sees: the aligned depth before the flying-pixel filter (0 = invalid or
    off the content); the depth test of the fill uses it. None = `depth`."""
    static: np.ndarray | None = None
    """(T, H, W) bool: the points with evidence that they are static (`static_evidence`); only these lend
    themselves to other frames. None = computed when first needed (`static_mask`)."""

    def __post_init__(self) -> None:
        t_, h, w = self.depth.shape
        check_shape("rgb", self.rgb, (t_, h, w, 3))
        check_shape("world_from_camera", self.world_from_camera, (t_, 4, 4))
        self.intrinsics = np.asarray(self.intrinsics, dtype=np.float64).reshape(4)
        if self.seen is None:
            self.seen = self.depth
        check_shape("seen", self.seen, (t_, h, w))
        if self.static is not None:
            check_shape("static", self.static, (t_, h, w))
            self.static = np.asarray(self.static, bool)

    def static_mask(self) -> np.ndarray:
        """(T, H, W) bool `static`, computed (`static_evidence`, default options) and kept on first use."""
        if self.static is None:
            self.static = static_evidence(self)
        return self.static

    def __len__(self) -> int:
        return len(self.depth)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.depth.shape[2], self.depth.shape[1]

    def points(self, t: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame t's (P, 3) float32 world points, (P, 3) uint8 colours and (P,) float32 footprint radii
        (`shotsmith.render.point_radius`'s rule), of the pixels with depth > 0 (and in `mask`)."""
        from shotsmith.geometry import unproject_depth
        from shotsmith.render import DEFAULT_RADIUS_FACTOR

        keep = self.depth[t] > 0
        if mask is not None:
            keep &= mask
        cam = unproject_depth(self.depth[t], self.intrinsics)[keep]
        m = self.world_from_camera[t]
        world = cam if _is_identity(m) else _transform(m, cam).astype(np.float32)
        radius = cam[:, 2] * np.float32(DEFAULT_RADIUS_FACTOR / self.intrinsics[0])
        return world, self.rgb[t][keep], radius


@dataclass
class StaticOptions:
    """How the cache decides which points are static (and may lend themselves to other frames)."""

    references: int = 6
    """Other frames each frame's points are checked against (spread evenly over the clip)."""
    depth_tolerance: float = 0.05
    """Relative depth band within which a point agrees with another frame's depth."""
    colour_tolerance: float = 30.0
    """Grey-level difference (0-255, on lightly blurred frames) within which a point agrees in colour."""
    stride: int = 1
    """Evidence is gathered on every stride-th pixel of each axis (or coarser: `max_width`) and spread to its
    neighbours."""
    max_width: int = 320
    """At most this many points a row: wider frames are sampled more sparsely (and their flow computed smaller)."""
    flow: bool = True
    """Also compare the optical flow to the next frame (OpenCV DIS) with the flow the camera motion and the depth
    predict: where they differ by more than `flow_tolerance`, the point moved."""
    flow_tolerance: float = 2.0
    """Pixels (plus 15 % of the predicted flow) by which the measured flow may differ from the predicted one."""
    grow: int = 2
    """Pixels by which the moving regions are grown (their mixed edge pixels do not lend either)."""
    need_agreement: bool = True
    """A point inside another frame's view lends only when at least one other frame agrees with it (one hidden
    wherever it is in view says nothing for it); False: also then. A point out of every other frame's view
    lends (nothing can say it moved)."""


def _evidence_votes(
    cam_points: np.ndarray,
    grey_s: np.ndarray,
    world_from_s: np.ndarray,
    world_from_r: np.ndarray,
    seen_r: np.ndarray,
    grey_r: np.ndarray,
    intrinsics: np.ndarray,
    opts: StaticOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(agree, disagree, in view) bool per point of frame s (camera points (P, 3), grey (P,)) against frame r: agree when
    frame r sees the same depth and colour there; disagree when frame r sees farther (it sees through where the
    point was) or the same depth in another colour. Hidden or unseen points give no evidence."""
    h, w = seen_r.shape
    m = invert_rigid(world_from_r) @ world_from_s
    p = cam_points @ m[:3, :3].T.astype(np.float32) + m[:3, 3].astype(np.float32)
    u, v, z = _project(p, intrinsics)
    inside = (z > 1e-6) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    agree = np.zeros(len(p), bool)
    disagree = np.zeros(len(p), bool)
    iu, iv, iz = u[inside], v[inside], z[inside]
    d = seen_r[iv, iu]
    tol = opts.depth_tolerance * iz
    same_depth = (d > 0) & (np.abs(d - iz) <= tol)
    same_colour = np.abs(grey_r[iv, iu] - grey_s[inside]) <= opts.colour_tolerance
    agree[inside] = same_depth & same_colour
    disagree[inside] = ((d > 0) & (d > iz + tol)) | (same_depth & ~same_colour)
    return agree, disagree, inside


def _flow_disagrees(
    cam_points: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    small_s: np.ndarray,
    small_r: np.ndarray,
    step: int,
    world_from_s: np.ndarray,
    world_from_r: np.ndarray,
    intrinsics: np.ndarray,
    opts: StaticOptions,
) -> np.ndarray:
    """(P,) bool per point of frame s (camera points (P, 3) at full-resolution pixels (rows, cols)): where OpenCV's
    DIS optical flow from frame s to frame r, computed on the `step`-times smaller grey images `small_s`,
    `small_r`, differs from the flow that the camera motion and the depth predict for a static point."""
    import cv2

    gh, gw = small_s.shape
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    flow = dis.calc(small_s, small_r, None)
    m = invert_rigid(world_from_r) @ world_from_s
    p = cam_points @ m[:3, :3].T.astype(np.float32) + m[:3, 3].astype(np.float32)
    fx, fy, cx, cy = (float(x) for x in intrinsics)
    with np.errstate(divide="ignore", invalid="ignore"):
        du = fx * p[:, 0] / p[:, 2] + cx - (cols + 0.5)
        dv = fy * p[:, 1] / p[:, 2] + cy - (rows + 0.5)
    gr, gc = np.minimum(rows // step, gh - 1), np.minimum(cols // step, gw - 1)
    measured = flow[gr, gc] * np.float32(step)
    err = np.hypot(measured[:, 0] - du, measured[:, 1] - dv)
    limit = opts.flow_tolerance + 0.15 * np.hypot(du, dv)
    return (p[:, 2] > 1e-6) & np.isfinite(err) & (err > limit)


def static_evidence(cache: Cache4D, options: StaticOptions | None = None) -> np.ndarray:
    """(T, H, W) bool: which points of each frame are static, so that they may stand in for the scene at other
    moments.

    Each frame's points (on a grid of every `stride`-th pixel, at most `max_width` points a row) are reprojected
    into `references` other frames spread over the clip: a frame that sees the same depth and colour there
    agrees; one that sees farther (through where the point was) or the same depth in another colour disagrees; a
    frame where it is hidden or out of view says nothing. A point is static when some frame agrees and no more
    than half as many disagree (`need_agreement`; a point out of every other view counts as static), and (with `flow`) DIS optical flow to the next frame matches
    the flow the camera and the depth predict. The moving regions are cleaned of single grid points and grown by
    `grow` pixels."""
    import cv2

    opts = options or StaticOptions()
    t_, h, w = cache.depth.shape
    if t_ < 2:
        return cache.depth > 0
    step = max(1, int(opts.stride), int(math.ceil(w / max(1, opts.max_width))))
    gh, gw = -(-h // step), -(-w // step)
    workers = _cpu_threads(t_)

    def blurred(f: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(_grey(f), (0, 0), 1.0)

    def shrunk(g: np.ndarray) -> np.ndarray:
        return cv2.resize(g, (gw, gh), interpolation=cv2.INTER_AREA).clip(0, 255).astype(np.uint8)

    # the blurred greys of the frames others are checked against (12 of 81 frames with 6 references) are kept;
    # each frame's own is made again where it is checked (not a float32 grey copy of the whole video)
    refs = sorted({r for s in range(t_) for r in fill_frames(s, t_, opts.references)})
    with ThreadPoolExecutor(max_workers=workers) as pool:
        greys = dict(zip(refs, pool.map(blurred, [cache.rgb[r] for r in refs]), strict=True))
        if opts.flow:
            small = list(
                pool.map(lambda i: shrunk(greys[i] if i in greys else blurred(cache.rgb[i])), range(t_))
            )
        else:
            small = []
    rows, cols = np.mgrid[0:h:step, 0:w:step]
    rows, cols = rows.ravel(), cols.ravel()
    out = np.zeros((t_, h, w), bool)
    grow = max(1, int(math.ceil(opts.grow / step))) if opts.grow > 0 else 0

    def frame(s: int) -> None:
        have = cache.depth[s][rows, cols] > 0
        r_, c_ = rows[have], cols[have]
        cam = _unproject_pixels(cache.depth[s], r_, c_, cache.intrinsics).astype(np.float32)
        g = (greys[s] if s in greys else blurred(cache.rgb[s]))[r_, c_]
        agree = np.zeros(len(r_), np.int32)
        disagree = np.zeros(len(r_), np.int32)
        in_view = np.zeros(len(r_), bool)
        for r in fill_frames(s, t_, opts.references):
            a, b, v = _evidence_votes(
                cam,
                g,
                cache.world_from_camera[s],
                cache.world_from_camera[r],
                cache.seen[r],
                greys[r],
                cache.intrinsics,
                opts,
            )
            agree += a
            disagree += b
            in_view |= v
        moving_pts = 2 * disagree > agree
        if opts.need_agreement:
            moving_pts |= (agree == 0) & in_view
        if opts.flow:
            r = s + 1 if s + 1 < t_ else s - 1
            moving_pts |= _flow_disagrees(
                cam,
                r_,
                c_,
                small[s],
                small[r],
                step,
                cache.world_from_camera[s],
                cache.world_from_camera[r],
                cache.intrinsics,
                opts,
            )
        grid = np.zeros((gh, gw), np.uint8)
        grid[r_ // step, c_ // step] = moving_pts
        if grow:
            grid = cv2.morphologyEx(grid, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
            grid = cv2.dilate(grid, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        moving = np.repeat(np.repeat(grid, step, axis=0), step, axis=1)[:h, :w] > 0
        out[s] = (cache.depth[s] > 0) & ~moving

    # frame by frame on up to 2 threads (OpenCV's flow and numpy's large loops release the GIL); each frame
    # writes only its own slice, so the result is the loop's
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(frame, range(t_)):
            pass
    return out


def build_cache4d(
    depths: np.ndarray,
    frames: np.ndarray,
    world_from_camera: np.ndarray,
    intrinsics: np.ndarray,
    filter_threshold: float,
    valid: np.ndarray | None = None,
    filter_mode: Literal["edges", "range"] = "edges",
    static: StaticOptions | bool = True,
) -> Cache4D:
    """The 4D cache of aligned (T, H, W) depths: flying pixels and pixels off the (H, W) `valid` content mask get
    depth 0. `filter_mode` "edges" keeps both sides of a depth step and snaps the pixels between them onto the
    side whose colour they continue (`geometry.snap_flying_pixels`, as for a photo); "range" is GEN3C's rule
    (`geometry.flying_pixel_mask`). `static`: the options of `static_evidence` (True: its defaults; False: leave
    it to be computed when first needed)."""
    from shotsmith.geometry import flying_pixel_mask, snap_flying_pixels

    depths = np.asarray(depths, dtype=np.float32)
    seen = depths if valid is None else _within(depths, np.asarray(valid, bool))
    out = np.zeros_like(seen)

    def filtered(t: int) -> np.ndarray:
        if filter_mode == "edges":
            depth, keep = snap_flying_pixels(seen[t], np.asarray(frames[t], np.uint8), filter_threshold)
        else:
            depth, keep = seen[t], flying_pixel_mask(seen[t], filter_threshold)
        return np.where(keep, depth, 0)

    # frame by frame on up to 2 threads (OpenCV and numpy release the GIL); each frame is its own, so the same
    with ThreadPoolExecutor(max_workers=_cpu_threads(len(seen))) as pool:
        for t, d in enumerate(pool.map(filtered, range(len(seen)))):
            out[t] = d
    cache = Cache4D(
        out, np.asarray(frames, np.uint8), np.asarray(world_from_camera, np.float64), intrinsics, seen=seen
    )
    if static is not False:
        cache.static = static_evidence(cache, static if isinstance(static, StaticOptions) else None)
    return cache


def _within(depths: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(T, H, W) `depths` with 0 outside the (H, W) `valid` mask: `depths` itself when it already is (aligned
    depth is), else a copy made frame by frame (no whole-video temporaries)."""
    outside = ~valid
    if not outside.any() or not any(depths[t][outside].any() for t in range(len(depths))):
        return depths
    out = np.empty_like(depths)
    for t in range(len(depths)):
        np.copyto(out[t], depths[t])
        out[t][outside] = 0
    return out


# ---------------------------------------------------------------------------------------------------------------
# Rendering a target frame: frame t's points, plus the other frames' static points a depth test accepts


@dataclass
class FillOptions:
    """How the other source frames fill what frame t does not see."""

    other_frames: int = 8
    """Other source frames tried per target frame (spread evenly over the clip); 0 renders frame t alone."""
    depth_tolerance: float = 0.03
    """Relative depth band within which a point of frame s lies on frame t's own surface (then it is redundant
    and skipped); a point farther than frame t's depth by more than this is occluded at t (accepted), nearer by
    more than this means frame t sees through where it was (rejected: it moved)."""
    static_only: bool = True
    """Only points with evidence that they are static lend themselves to other frames (`static_evidence`);
    False lends every point that passes the depth test (the moving ones too: ghosts)."""
    surface_band: float = 1.0
    """Relative depth band (behind frame t's surface) within which a point of frame s that has the colour frame t
    sees there is taken as frame t's own surface, and skipped: per-frame depth that disagrees would otherwise
    leave a copy behind the surface that peeks out under parallax (a double). 0 turns the colour test off.
    (With the same camera, a point behind frame t's static surface is skipped whatever its colour.)"""
    colour_tolerance: float = 6.0
    """Largest difference of any colour channel (0-255, on 5x5 means with the same camera) within which a point has
    the colour frame t sees."""


def _accept(
    z: np.ndarray,
    seen: np.ndarray,
    have: np.ndarray,
    tolerance: float,
    same_colour: np.ndarray | None = None,
    surface_band: float = 0.0,
) -> np.ndarray:
    """The depth test on matched samples: point depth `z`, frame t's `seen` depth and its own point's depth
    `have` there (0 = none). Reject when frame t sees farther than the point (it sees through where the point
    was: the point moved); skip when frame t has its own point on the same surface (within `tolerance`, or
    within `surface_band` where `same_colour` says the colours agree); accept the rest (hidden at t, or not
    seen by frame t at all)."""
    sees_through = (seen > 0) & (seen > z * (1.0 + tolerance))
    redundant = (have > 0) & (np.abs(have - z) <= tolerance * z)
    if same_colour is not None and surface_band > 0:
        redundant |= same_colour & (have > 0) & (np.abs(have - z) <= surface_band * z)
    return ~sees_through & ~redundant


def accept_points(
    world_points: np.ndarray,
    seen_t: np.ndarray,
    depth_t: np.ndarray,
    world_from_camera_t: np.ndarray,
    intrinsics: np.ndarray,
    tolerance: float,
    colours: np.ndarray | None = None,
    rgb_t: np.ndarray | None = None,
    surface_band: float = 0.0,
    colour_tolerance: float = 6.0,
    local: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """(P,) bool: which of frame s's (P, 3) world points may fill frame t.

    Each point is projected into source camera t; `seen_t` (H, W) is what frame t sees there (z-depth, 0 =
    invalid) and `depth_t` (H, W) frame t's own points (0 = none). A point outside frame t's view is kept; inside,
    it is kept when frame t's depth is not farther than it (within `tolerance`, relative): hidden at t, so frame t
    cannot say it moved. Where frame t sees farther, it sees through where the point was: the point moved,
    rejected. A point on frame t's own surface is skipped (frame t has it); with the points' (P, 3) `colours`
    and frame t's (H, W, 3) `rgb_t`, one within `surface_band` behind it in frame t's colour is too (and in its
    local colour: `local` = the points' (P, 3) and frame t's (H, W, 3) 5x5 mean colours, when given)."""
    h, w = depth_t.shape
    cam = _transform(invert_rigid(world_from_camera_t), np.asarray(world_points, np.float64))
    u, v, z = _project(cam, intrinsics)
    inside = (z > 1e-6) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    keep = ~inside
    iu, iv = u[inside], v[inside]
    same = None
    if colours is not None and rgb_t is not None and surface_band > 0:
        diff = np.abs(rgb_t[iv, iu].astype(np.int16) - np.asarray(colours)[inside].astype(np.int16))
        same = _channel_max(diff) <= colour_tolerance
        if local is not None:
            near = np.abs(local[1][iv, iu].astype(np.int16) - local[0][inside].astype(np.int16))
            same &= _channel_max(near) <= colour_tolerance
    keep[inside] = _accept(z[inside], seen_t[iv, iu], depth_t[iv, iu], tolerance, same, surface_band)
    return keep


def fill_frames(t: int, num_frames: int, count: int) -> list[int]:
    """Up to `count` other frames than t, spread evenly over the clip (the farthest in time included)."""
    if count <= 0 or num_frames < 2:
        return []
    others = [s for s in range(num_frames) if s != t]
    if len(others) <= count:
        return others
    pick = np.linspace(0, len(others) - 1, count).round().astype(int)
    return sorted({others[i] for i in pick})


class FramePoints:
    """Each source frame's points unprojected once for a whole render (`render_cache4d`): the world-point and
    footprint-radius maps of every pixel, the points that lend themselves to other frames and the 5x5 mean
    colours, kept for the `keep` most recently used frames (a target frame's fill frames are nearly the same
    from one target frame to the next, `fill_frames`). Not thread-safe: one thread uses it."""

    def __init__(self, cache: Cache4D, keep: int = 24) -> None:
        self.cache = cache
        self.keep = max(1, keep)
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._lent: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._box: dict[int, np.ndarray] = {}

    @staticmethod
    def _remember(store: dict, key: int, value, keep: int):
        store.pop(key, None)
        store[key] = value
        while len(store) > keep:
            store.pop(next(iter(store)))
        return value

    def maps(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame t's (H, W, 3) float32 world points and (H, W) float32 footprint radii (`Cache4D.points`)."""
        if t in self._maps:
            return self._remember(self._maps, t, self._maps[t], self.keep)
        from shotsmith.geometry import unproject_depth
        from shotsmith.render import DEFAULT_RADIUS_FACTOR

        c = self.cache
        cam = unproject_depth(c.depth[t], c.intrinsics)
        m = c.world_from_camera[t]
        h, w = c.depth.shape[1:]
        world = (
            cam if _is_identity(m) else _transform(m, cam.reshape(-1, 3)).astype(np.float32).reshape(h, w, 3)
        )
        radius = cam[..., 2] * np.float32(DEFAULT_RADIUS_FACTOR / c.intrinsics[0])
        return self._remember(self._maps, t, (world, radius), self.keep)

    def points(self, t: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What `Cache4D.points(t, mask)` returns, from the kept maps; a frame whose camera is the identity
        (a tripod shot's every frame) has no maps: its points are unprojected where asked, with the same
        per-pixel arithmetic (the same numbers), so a fill frame's few lent points cost no whole-frame maps
        (20 kept frames of maps are ~130 MB of 832x480)."""
        keep = self.cache.depth[t] > 0
        if mask is not None:
            keep &= mask
        index = np.flatnonzero(keep)
        rgb = self.cache.rgb[t].reshape(-1, 3)
        if t not in self._maps and _is_identity(self.cache.world_from_camera[t]):
            world, radius = self._unproject(t, index)
            return world, np.take(rgb, index, axis=0), radius
        world, radius = self.maps(t)
        return _take(index, world.reshape(-1, 3), rgb, radius.ravel())

    def _unproject(self, t: int, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P, 3) float32 camera points and (P,) radii of frame t's flat pixel `index`: `maps`' numbers
        (`geometry.unproject_depth`'s float32 arithmetic, pixel by pixel) without the whole-frame maps."""
        from shotsmith.render import DEFAULT_RADIUS_FACTOR

        c = self.cache
        fx, fy, cx, cy = (float(x) for x in c.intrinsics)
        z = np.take(c.depth[t].reshape(-1), index)
        rows, cols = np.divmod(index, c.depth.shape[2])
        out = np.empty((len(index), 3), np.float32)
        out[:, 0] = (cols.astype(np.float32) + np.float32(0.5) - np.float32(cx)) * np.float32(1.0 / fx) * z
        out[:, 1] = (rows.astype(np.float32) + np.float32(0.5) - np.float32(cy)) * np.float32(1.0 / fy) * z
        out[:, 2] = z
        return out, z * np.float32(DEFAULT_RADIUS_FACTOR / c.intrinsics[0])

    def box5(self, t: int) -> np.ndarray:
        """Frame t's (H, W, 3) uint8 5x5 mean colours."""
        if t in self._box:
            return self._remember(self._box, t, self._box[t], self.keep)
        return self._remember(self._box, t, _box5(self.cache.rgb[t]), self.keep)

    def lent(self, s: int, lend: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Frame s's points in `lend` (the same mask every time for one frame: its static points): (P, 3) world
        points, colours, radii and 5x5 mean colours."""
        if s in self._lent:
            return self._remember(self._lent, s, self._lent[s], self.keep)
        p, c, r = self.cache.points(s, lend)  # once per frame: its maps are not kept as well
        local = _box5(self.cache.rgb[s])[lend & (self.cache.depth[s] > 0)]
        return self._remember(self._lent, s, (p, c, r, local), self.keep)


def _take(index: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows `index` of each array (along its first axis): `a[mask]` for `index = flatnonzero(mask)`, several
    times faster than boolean indexing."""
    return tuple(np.take(a, index, axis=0) for a in arrays)


def _colour_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) uint8 largest per-channel absolute difference of two (H, W, 3) uint8 images."""
    import cv2

    return _channel_max(cv2.absdiff(a, b))


def _same_camera_fill_numpy(
    cache: Cache4D, s: int, t: int, fill: FillOptions, lend: np.ndarray, static: np.ndarray | None
) -> np.ndarray:
    """(H, W) bool: frame s's points that fill frame t from the same camera, in numpy (the rule that
    `recapture_fast.same_camera_fill` compiles; kept as its reference)."""
    same = None
    if fill.surface_band > 0:
        diff = _colour_diff(cache.rgb[s], cache.rgb[t])
        same = _box5(diff.astype(np.float32)) <= fill.colour_tolerance
    mask = lend & _accept(
        cache.depth[s], cache.seen[t], cache.depth[t], fill.depth_tolerance, same, fill.surface_band
    )
    if static is not None:
        behind = (cache.depth[t] > 0) & (cache.depth[s] > cache.depth[t] * (1.0 + fill.depth_tolerance))
        mask &= ~(behind & static[t])
    return mask & (cache.depth[s] > 0)


def frame_points(
    cache: Cache4D, t: int, fill: FillOptions, memo: FramePoints | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Points to render for target frame t: frame t's own plus the accepted points of the other frames.
    Returns (P, 3) float32 world points, (P, 3) uint8 colours, (P,) float32 radii and how many came from
    other frames. `memo` keeps the frames' unprojected points between calls (one is made when None)."""
    memo = memo or FramePoints(cache, keep=1)
    pts, cols, rad = memo.points(t)
    parts = [(pts, cols, rad)]
    borrowed = 0
    others = fill_frames(t, len(cache), fill.other_frames)
    static = cache.static_mask() if others and fill.static_only else None
    for s in others:
        lend = (cache.depth[s] > 0) if static is None else static[s]
        if np.abs(cache.world_from_camera[s] - cache.world_from_camera[t]).max() < 1e-9:
            # The same pixel. Colour: 5x5 patches (a lone pixel can match by chance). With static evidence, a
            # point hidden at t behind a static surface was hidden from frame s too, so it is that surface seen at
            # another depth (per-frame depth disagrees), not what lies behind it: skipped.
            # (`_same_camera_fill_numpy` is the same rule in numpy.)
            from shotsmith.recapture_fast import colour_diff_max, same_camera_fill

            use_same = fill.surface_band > 0
            same = (
                _box5(colour_diff_max(cache.rgb[s], cache.rgb[t]).astype(np.float32)) <= fill.colour_tolerance
                if use_same
                else lend
            )
            mask = same_camera_fill(
                cache.depth[s],
                cache.seen[t],
                cache.depth[t],
                lend,
                same,
                lend if static is None else static[t],
                use_same,
                static is not None,
                float(fill.depth_tolerance),
                float(fill.surface_band),
            )
            if not mask.any():
                continue
            p, c, r = memo.points(s, mask)
        else:
            if not lend.any():
                continue
            p, c, r, local_s = memo.lent(s, lend)
            local = (local_s, memo.box5(t)) if fill.surface_band > 0 else None
            keep = accept_points(
                p,
                cache.seen[t],
                cache.depth[t],
                cache.world_from_camera[t],
                cache.intrinsics,
                fill.depth_tolerance,
                c,
                cache.rgb[t],
                fill.surface_band,
                fill.colour_tolerance,
                local,
            )
            p, c, r = _take(np.flatnonzero(keep), p, c, r)
        if len(p):
            parts.append((p, c, r))
            borrowed += len(p)
    if len(parts) == 1:
        return pts, cols, rad, 0
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        borrowed,
    )


@dataclass
class RenderReport:
    """Facts about a 4D render."""

    borrowed_points: list[int] = field(default_factory=list)
    """Per target frame: points taken from other source frames."""
    coverage: list[float] = field(default_factory=list)
    """Per target frame: covered fraction of the pixels."""


def render_cache4d(
    cache: Cache4D,
    target: CameraPath,
    fill: FillOptions | None = None,
    settings=None,
    progress: str | None = None,
):
    """Render target frame t from source frame t's points plus the accepted points of the other frames.

    `target` has one camera per source frame (T frames). Returns a `shotsmith.render.RenderedVideo` (rgb
    (T, H, W, 3) uint8, mask (T, H, W) bool, depth (T, H, W) float32) and a `RenderReport`."""
    from shotsmith.render import RenderedVideo, render_points

    fill = fill or FillOptions()
    n = len(target)
    if n != len(cache):
        raise InputError(
            f"target path has {n} frames but the 4D cache has {len(cache)}; resample one of them"
        )
    h, w = target.height, target.width
    video = RenderedVideo(
        rgb=np.zeros((n, h, w, 3), np.uint8),
        mask=np.zeros((n, h, w), bool),
        depth=np.zeros((n, h, w), np.float32),
    )
    report = RenderReport()
    frames = range(n)
    if progress:
        from shotsmith.console import track

        frames = track(frames, progress, total=n)
    # Frame t+1's points are gathered on a worker thread (one: the memo is not thread-safe) while frame t is
    # splatted (the compiled splat releases the GIL); the frames are rendered in order, so the output is the same.
    from concurrent.futures import ThreadPoolExecutor

    memo = FramePoints(cache, keep=2 * fill.other_frames + 4)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shotsmith-points") as pool:
        ahead = {0: pool.submit(frame_points, cache, 0, fill, memo)} if n else {}
        for t in frames:
            if t + 1 < n:
                ahead[t + 1] = pool.submit(frame_points, cache, t + 1, fill, memo)
            pts, cols, rad, borrowed = ahead.pop(t).result()
            out = render_points(
                pts,
                cols,
                target.world_from_camera[t],
                target.intrinsics[t],
                w,
                h,
                radius=rad,
                settings=settings,
            )
            video.rgb[t], video.mask[t], video.depth[t] = out.rgb, out.mask, out.depth
            report.borrowed_points.append(int(borrowed))
            report.coverage.append(round(float(out.mask.mean()), 4))
    return video, report


# ---------------------------------------------------------------------------------------------------------------
# Metrics used by tests and the benchmark


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB between uint8 images or videos `a` and `b` (same shape), over `mask` (broadcast over colour)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = (a - b) ** 2
    if mask is not None:
        diff = diff[np.asarray(mask, bool)]
    mse = float(diff.mean()) if diff.size else 0.0
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


__all__ = [
    "AlignOptions",
    "AlignReport",
    "Cache4D",
    "FillOptions",
    "FramePoints",
    "PoseScale",
    "RenderReport",
    "StaticOptions",
    "accept_points",
    "align_depths",
    "build_cache4d",
    "estimate_cameras",
    "fill_frames",
    "frame_points",
    "hold_unregistered",
    "photometric_cost",
    "psnr",
    "render_cache4d",
    "static_cameras",
    "static_evidence",
    "photometric_scale",
    "sparse_point_scale",
    "source_cameras",
    "target_path",
]
