"""The rotation-only model: a camera turning about its centre, measured from homographies between frames.

A pan, tilt or roll has no parallax, so SfM cannot reconstruct it (or returns translations that are noise).
Frames are then related by homographies H_{j<-i} = K R_{j<-i} K^-1 with R_{j<-i} = camera_from_world_j @
world_from_camera_i (rotations only). This module fits that model on the SfM scratch database's matches, decides
whether the video fits a pure rotation (the module constants), replaces SfM trials where it should
(`apply_rotation_model`) and says what translation measures mean beside such an estimate
(`rotation_only_metrics`). COLMAP itself is `shotsmith.evaluate.sfm`'s.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from shotsmith.camera import invert_rigid, make_pose, orthonormalize
from shotsmith.evaluate.metrics import (
    MIN_EXTENT,
    PoseMetrics,
    path_extent,
    pose_metrics,
    relative_to_frame,
    rotation_angles,
)
from shotsmith.evaluate.sfm import FeatureDatabase, SfmOptions, SfmTrial, require_pycolmap, single_focal

#: Inlier tolerance (pixels at the analysed resolution, scaled to full size like the keypoints) of the
#: homography RANSAC and of the rotation model's transfer error.
ROTATION_TOL_PX = 2.0
#: A pair is usable for chaining with at least this many matches and this share of them explained by the
#: rotation (transfer error under ROTATION_TOL_PX).
ROTATION_MIN_MATCHES = 30
ROTATION_MIN_INLIER_RATIO = 0.5
#: The video fits a pure rotation when, over its WIDEST matched pairs (frame spans at least half the longest
#: span matched; COLMAP's sequential pairs reach i+1, i+2, i+4, ... i+2^k), the median of the per-pair median
#: transfer errors of K R K^-1 (on the homography's inliers) is at most ROTATION_MAX_ERROR_PX (scaled like
#: ROTATION_TOL_PX) and the rotation explains at least ROTATION_MIN_EXPLAINED of what the 8-parameter
#: homography explains. Parallax grows with the baseline, so the widest pairs decide: on the room, a truck of
#: 0.5 + pan 45 over 12 frames gives 0.26 px at span 1 but 4.9 px at span 4 and 10.9 px at span 8.
ROTATION_MAX_ERROR_PX = 1.0
ROTATION_MIN_EXPLAINED = 0.9
#: The rotation model replaces a SUCCESSFUL SfM run only when the video shows no measurable parallax: on the
#: widest pairs the rotation (3 parameters) fits about as well as the homography (8): median rotation error
#: <= PARALLAX_RATIO x median homography error + PARALLAX_SLACK_PX (scaled). A pure pan on the room: 0.08 vs
#: 0.08 px; a slow truck 0.15 + dolly 0.075 over 24 frames (which SfM measures): 0.76 vs 0.09 px.
PARALLAX_RATIO = 2.0
PARALLAX_SLACK_PX = 0.1
#: SfM trials registering fewer than this share of frames fall back to the rotation model (when it fits).
SFM_MIN_REGISTERED = 0.5
#: With a rotation-only estimate, a plan whose camera moves less than this (in subject distances, the plan's
#: units) is treated as a pure rotation: its translations count as zero for TransErr / CamMC. A plan that
#: moves more has translation measures "not measurable" (None) beside the rotation-only estimate.
PURE_ROTATION_PLAN_EXTENT = 0.01


@dataclass
class PairRotation:
    """The rotation between frames i < j from their matches (a homography, then the nearest rotation)."""

    i: int
    j: int
    matches: int
    """Raw SIFT matches of the pair."""
    h_inliers: int
    """Matches within the tolerance of the RANSAC homography."""
    h_error_px: float
    """Median transfer error of the homography over its inliers (pixels)."""
    rot_inliers: int
    """Matches within the tolerance of the rotation-induced homography K R K^-1."""
    rot_error_px: float
    """Median transfer error of K R K^-1 over the homography's inliers: does a rotation explain the pair?"""
    sv_spread: float
    """max/min singular value of K^-1 H K minus 1 (0 for a pure rotation)."""
    rotation: np.ndarray
    """(3, 3) R_{j<-i}: camera_from_world_j @ world_from_camera_i."""

    @property
    def usable(self) -> bool:
        return (
            self.rot_inliers >= ROTATION_MIN_MATCHES
            and self.rot_inliers >= ROTATION_MIN_INLIER_RATIO * self.matches
        )


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R minimising sum |b_k - R a_k|^2 for (M, 3) unit vectors."""
    return orthonormalize(b.T @ a)


def _transfer_error(h: np.ndarray, pts_i: np.ndarray, pts_j: np.ndarray) -> np.ndarray:
    x = np.c_[pts_i, np.ones(len(pts_i))] @ h.T
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.linalg.norm(x[:, :2] / x[:, 2:] - pts_j, axis=1)
    return np.where(np.isfinite(err), err, np.inf)


def pair_rotation(
    pts_i: np.ndarray,
    pts_j: np.ndarray,
    k: np.ndarray,
    tol_px: float = ROTATION_TOL_PX,
    i: int = 0,
    j: int = 1,
) -> PairRotation | None:
    """R_{j<-i} from matched pixel positions (M, 2) in frames i and j with the intrinsics `k` (3, 3).

    cv2.findHomography (RANSAC at `tol_px`), R = nearest rotation to K^-1 H K (scaled to det 1), refined by
    least squares (Kabsch) on the unit rays of the matches the rotation explains. None without enough matches.
    """
    import cv2

    pts_i = np.asarray(pts_i, np.float64).reshape(-1, 2)
    pts_j = np.asarray(pts_j, np.float64).reshape(-1, 2)
    if len(pts_i) < ROTATION_MIN_MATCHES:
        return None
    h, mask = cv2.findHomography(pts_i, pts_j, cv2.RANSAC, tol_px, maxIters=2000, confidence=0.999)
    if h is None or mask is None or not np.isfinite(h).all():
        return None
    inl = mask.ravel().astype(bool)
    h_err = _transfer_error(h, pts_i, pts_j)
    k_inv = np.linalg.inv(k)
    m = k_inv @ h @ k
    det = np.linalg.det(m)
    if abs(det) < 1e-12:
        return None
    m = m / np.cbrt(det)
    sv = np.linalg.svd(m, compute_uv=False)
    rot = orthonormalize(m)

    def rays(p):
        r = np.c_[p, np.ones(len(p))] @ k_inv.T
        return r / np.linalg.norm(r, axis=1, keepdims=True)

    ri, rj = rays(pts_i), rays(pts_j)
    for _ in range(3):
        err = _transfer_error(k @ rot @ k_inv, pts_i, pts_j)
        sel = err < tol_px
        if sel.sum() < 3:
            break
        rot = _kabsch(ri[sel], rj[sel])
    err = _transfer_error(k @ rot @ k_inv, pts_i, pts_j)
    return PairRotation(
        i=i,
        j=j,
        matches=len(pts_i),
        h_inliers=int(inl.sum()),
        h_error_px=float(np.median(h_err[inl])) if inl.any() else math.inf,
        rot_inliers=int((err < tol_px).sum()),
        rot_error_px=float(np.median(err[inl])) if inl.any() else math.inf,
        sv_spread=float(sv[0] / sv[-1] - 1.0),
        rotation=rot,
    )


@dataclass
class RotationFit:
    """The video's camera path as a pure rotation, and whether a pure rotation explains the video."""

    ok: bool
    """True when the video fits a pure rotation (module constants ROTATION_*) over at least half the frames."""
    no_parallax: bool
    """ok, and the rotation fits as well as a homography (PARALLAX_*): it may then replace a successful SfM."""
    registered: np.ndarray
    """(N,) bool, frames reached by chaining usable pairs from the first one."""
    world_from_camera: np.ndarray
    """(N, 4, 4) rotations relative to the first chained frame, translation 0; NaN where not chained."""
    reason: str
    """One line: why it fits or why not, with the numbers."""
    tol_px: float = ROTATION_TOL_PX
    pairs: int = 0
    """Matched pairs with at least ROTATION_MIN_MATCHES matches."""
    usable_pairs: int = 0
    widest_span: int = 0
    """Longest frame span among the pairs."""
    wide_pairs: int = 0
    """Pairs at least widest_span / 2 apart: the medians below are over these (p90 over all pairs)."""
    median_h_error_px: float | None = None
    median_rot_error_px: float | None = None
    p90_rot_error_px: float | None = None
    median_inlier_ratio: float | None = None
    """Median over pairs of rotation inliers / matches."""
    median_explained: float | None = None
    """Median over pairs of rotation inliers / homography inliers."""
    median_sv_spread: float | None = None
    loop_error_deg: float | None = None
    """Median angle between the usable pairs not used for chaining and the chained rotations (consistency)."""
    seconds: float = 0.0

    def summary(self) -> dict:
        def r(v, d=4):
            return None if v is None else round(float(v), d)

        return {
            "fits": self.ok,
            "no_measurable_parallax": self.no_parallax,
            "reason": self.reason,
            "tolerance_px": r(self.tol_px, 3),
            "pairs": self.pairs,
            "usable_pairs": self.usable_pairs,
            "widest_span": self.widest_span,
            "wide_pairs": self.wide_pairs,
            "chained_frames": int(self.registered.sum()),
            "median_homography_error_px": r(self.median_h_error_px),
            "median_rotation_error_px": r(self.median_rot_error_px),
            "p90_rotation_error_px": r(self.p90_rot_error_px),
            "median_inlier_ratio": r(self.median_inlier_ratio),
            "median_explained_by_rotation": r(self.median_explained),
            "median_singular_value_spread": r(self.median_sv_spread),
            "loop_error_deg": r(self.loop_error_deg),
            "seconds": r(self.seconds, 3),
        }


def chain_rotations(n: int, pairs: list[PairRotation]) -> tuple[np.ndarray, np.ndarray, list[PairRotation]]:
    """Rotations of n frames from usable pairs: fewest hops from the first frame of the largest connected
    group (so long pairs act as keyframes and drift stays small). Returns (registered, (n, 4, 4) poses with
    translation 0 and NaN where not reached, pairs used)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra

    poses = np.full((n, 4, 4), np.nan)
    reg = np.zeros(n, bool)
    good = [p for p in pairs if p.usable]
    if not good:
        return reg, poses, []
    # hop cost 1, ties broken toward the better-fitting pair
    w = np.array([1.0 + 1e-3 * min(p.rot_error_px, 10.0) for p in good])
    rows = np.array([p.i for p in good])
    cols = np.array([p.j for p in good])
    graph = coo_matrix((w, (rows, cols)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    source = int(np.flatnonzero(labels == int(np.argmax(sizes)))[0])
    _, pred = dijkstra(graph, directed=False, indices=source, return_predecessors=True)
    by_edge = {(p.i, p.j): p for p in good}
    poses[source] = np.eye(4)
    reg[source] = True
    used: list[PairRotation] = []

    def solve(f: int) -> None:
        chain = []
        while not reg[f]:
            chain.append(f)
            f = int(pred[f])
        for g in reversed(chain):
            a = int(pred[g])
            if (a, g) in by_edge:  # R_{g<-a}: world_from_g = world_from_a @ R^T
                p = by_edge[(a, g)]
                rot = poses[a, :3, :3] @ p.rotation.T
            else:  # R_{a<-g}: world_from_g = world_from_a @ R
                p = by_edge[(g, a)]
                rot = poses[a, :3, :3] @ p.rotation
            poses[g] = make_pose(rot, np.zeros(3))
            reg[g] = True
            used.append(p)

    for f in range(n):
        if not reg[f] and pred[f] >= 0:
            solve(f)
    return reg, poses, used


def fit_rotation(pairs: list[PairRotation], n: int, scale: float = 1.0, seconds: float = 0.0) -> RotationFit:
    """Chain the pairs and decide whether the video fits a pure rotation (see the ROTATION_* constants)."""
    tol = ROTATION_TOL_PX * scale
    reg, poses, used = chain_rotations(n, pairs)
    fit = RotationFit(
        False, False, reg, poses, "", tol, len(pairs), sum(p.usable for p in pairs), seconds=seconds
    )
    if not pairs:
        fit.reason = f"no frame pair has {ROTATION_MIN_MATCHES} matches"
        return fit
    max_span = max(p.j - p.i for p in pairs)
    wide = [p for p in pairs if p.j - p.i >= max_span / 2]
    fit.widest_span = max_span
    fit.wide_pairs = len(wide)
    fit.median_h_error_px = float(np.median([p.h_error_px for p in wide]))
    fit.median_rot_error_px = float(np.median([p.rot_error_px for p in wide]))
    fit.p90_rot_error_px = float(np.percentile([p.rot_error_px for p in pairs], 90))
    fit.median_inlier_ratio = float(np.median([p.rot_inliers / p.matches for p in wide]))
    fit.median_explained = float(np.median([p.rot_inliers / max(p.h_inliers, 1) for p in wide]))
    fit.median_sv_spread = float(np.median([p.sv_spread for p in wide]))
    used_ids = {id(p) for p in used}
    loops = [
        math.degrees(
            rotation_angles(p.rotation[None], (invert_rigid(poses[p.j]) @ poses[p.i])[None, :3, :3])[0]
        )
        for p in pairs
        if p.usable and id(p) not in used_ids and reg[p.i] and reg[p.j]
    ]
    fit.loop_error_deg = float(np.median(loops)) if loops else None
    numbers = (
        f"median homography error {fit.median_h_error_px:.2f} px, rotation error {fit.median_rot_error_px:.2f} px "
        f"(tolerance {ROTATION_MAX_ERROR_PX * scale:.2f}), {fit.median_inlier_ratio:.0%} inliers, "
        f"{fit.median_explained:.0%} of the homography's inliers explained by the rotation, over the "
        f"{len(wide)} widest pairs ({math.ceil(max_span / 2)}-{max_span} frames apart)"
    )
    if (
        fit.median_rot_error_px > ROTATION_MAX_ERROR_PX * scale
        or fit.median_explained < ROTATION_MIN_EXPLAINED
    ):
        fit.reason = f"the video does not fit a pure rotation (parallax): {numbers}"
    elif reg.sum() < max(2, math.ceil(SFM_MIN_REGISTERED * n)):
        fit.reason = f"a pure rotation chains only {int(reg.sum())}/{n} frames: {numbers}"
    else:
        fit.ok = True
        fit.reason = f"the video fits a pure rotation: {numbers}"
        limit = PARALLAX_RATIO * fit.median_h_error_px + PARALLAX_SLACK_PX * scale
        fit.no_parallax = fit.median_rot_error_px <= limit
    return fit


def rotation_from_database(
    features: FeatureDatabase, intrinsics: np.ndarray, options: SfmOptions
) -> RotationFit:
    """The rotation model from the SIFT keypoints and raw matches already in the SfM scratch database."""
    pycolmap = require_pycolmap()
    t0 = time.perf_counter()
    f, cx, cy, _ = single_focal(intrinsics)
    k = np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]])
    index = {name: i for i, name in enumerate(features.names)}
    db = pycolmap.Database.open(features.database)
    try:
        frame_of = {im.image_id: index[im.name] for im in db.read_all_images() if im.name in index}
        keypoints = {iid: np.asarray(db.read_keypoints(iid))[:, :2] for iid in frame_of}
        pair_ids, all_matches = db.read_all_matches()
        cameras = db.read_all_cameras()
    finally:
        db.close()
    # the frames' longer side (the camera's size; cx, cy at the centre when the database has none)
    longest = max(max(c.width, c.height) for c in cameras) if cameras else 2.0 * max(cx, cy)
    scale = max(1.0, longest / options.max_image_size) if options.max_image_size > 0 else 1.0
    pairs = []
    for pid, m in zip(pair_ids, all_matches, strict=True):
        a, b = pycolmap.pair_id_to_image_pair(pid)
        if a not in frame_of or b not in frame_of or len(m) < ROTATION_MIN_MATCHES:
            continue
        m = np.asarray(m, np.int64)
        (ia, ib), (ma, mb) = (frame_of[a], frame_of[b]), (m[:, 0], m[:, 1])
        if ia > ib:
            (ia, ib), (ma, mb) = (ib, ia), (mb, ma)
            a, b = b, a
        pr = pair_rotation(keypoints[a][ma], keypoints[b][mb], k, ROTATION_TOL_PX * scale, ia, ib)
        if pr is not None:
            pairs.append(pr)
    pairs.sort(key=lambda p: (p.i, p.j))
    return fit_rotation(pairs, len(features.names), scale, time.perf_counter() - t0)


def rotation_trial(trial: SfmTrial, fit: RotationFit, why: str) -> SfmTrial:
    """`trial` replaced by the rotation model's estimate (the mapper's outcome kept in `sfm`)."""
    return SfmTrial(
        seed=trial.seed,
        ok=True,
        registered=fit.registered.copy(),
        world_from_camera=fit.world_from_camera.copy(),
        reprojection_error_px=fit.median_rot_error_px,
        seconds=trial.seconds,
        model="rotation-only",
        model_reason=f"{why}; {fit.reason}",
        sfm={
            "ok": trial.ok,
            "registered_frames": int(trial.registered.sum()),
            "error": trial.error,
            "reprojection_error_px": trial.reprojection_error_px,
            "num_models": trial.num_models,
        },
        rotation_fit=fit.summary(),
    )


def apply_rotation_model(trials: list[SfmTrial], fit: RotationFit) -> list[SfmTrial]:
    """The rotation model replaces a trial when SfM registered fewer than SFM_MIN_REGISTERED of the frames and
    the video fits a pure rotation, or, over a successful SfM run, when the video shows no measurable parallax
    (`RotationFit.no_parallax`: SfM's translations would be noise). Otherwise the SfM trial stays, with the
    rotation checks attached."""
    out = []
    for t in trials:
        n = len(t.registered)
        got = f"mapper registered {int(t.registered.sum())}/{n} frames"
        if fit.ok and t.registered_fraction < SFM_MIN_REGISTERED:
            out.append(rotation_trial(t, fit, got))
            continue
        if fit.no_parallax:
            why = f"{got}, but a rotation fits the matches as well as a homography (no measurable parallax)"
            out.append(rotation_trial(t, fit, why))
            continue
        t.rotation_fit = fit.summary()
        if t.registered_fraction < SFM_MIN_REGISTERED:
            why = f"{got}; rotation-only fallback not used: {fit.reason}"
            if t.ok:
                t.model_reason = why
            else:
                t.error = f"{t.error}; {why}" if t.error else why
        out.append(t)
    return out


def rotation_only_metrics(plan: np.ndarray, trial: SfmTrial) -> tuple[PoseMetrics, str]:
    """Pose metrics of a rotation-only estimate (translation 0) and what its translation measures mean.

    A plan that moves at most PURE_ROTATION_PLAN_EXTENT (subject distances) counts as a pure rotation: its
    translations are taken as zero and TransErr / CamMC compare zeros (exactly the usual numbers for a pan, tilt
    or roll preset). A plan that moves more cannot be checked against an estimate that has no translation: the
    translation measures are None ("not measurable"); RotErr stands, and the motion-tag F1 sees the missing move.
    """
    plan = np.asarray(plan, dtype=np.float64)
    idx = np.flatnonzero(trial.registered)
    extent = path_extent(relative_to_frame(plan[idx]))
    if extent <= PURE_ROTATION_PLAN_EXTENT:
        still = plan.copy()
        still[:, :3, 3] = 0.0
        m = pose_metrics(still, trial.world_from_camera, trial.registered)
        how = (
            "the plan does not move the camera"
            if extent <= MIN_EXTENT
            else f"the plan moves the camera {extent:.3g} subject distances (<= {PURE_ROTATION_PLAN_EXTENT}), "
            "taken as zero"
        )
        return m, f"compared with zero translation (rotation-only model): {how}"
    m = pose_metrics(plan, trial.world_from_camera, trial.registered).translation_not_measurable()
    return m, (
        f"not measurable (rotation-only model): the plan moves the camera {extent:.3g} subject distances but "
        "the video fits a pure rotation; RotErr stands and the motion-tag F1 counts the missing move"
    )
