"""Measuring a shot's camera: poses from video frames with pycolmap, CamI2V's metrics and aligned errors.

Owns the evaluation protocol (docs/EVALUATION.md, REFERENCE.md section 3): frames -> SIFT (affine shape,
domain-size pooling) -> sequential guided matching -> a mapper with the intrinsics fixed to the plan's
(one SIMPLE_PINHOLE camera) -> camera-to-world poses relative to the first registered frame; then RotErr,
TransErr and CamMC exactly as CamI2V sums them, plus Sim(3)-aligned (Umeyama) absolute trajectory error and
relative pose error, which do not depend on the frame count. Pure functions on arrays and `CameraPath`s; it
knows nothing of workspaces, files other than its own scratch folder, or CLIP (`shotsmith.backends.clip`).
pycolmap is imported inside the functions that need it. A synthetic textured room (`render_box_room`) is
here too: the known-answer scene on which tests and the benchmark check the measurement itself.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith.camera import CameraPath, invert_rigid, make_pose
from shotsmith.errors import BackendUnavailable, InputError

Mapper = Literal["global", "incremental"]
MAPPERS: tuple[str, ...] = ("global", "incremental")

#: CamI2V's normaliser guard: translations are divided by (max norm + EPS).
EPS = 1e-9
#: Below this extent (largest translation from frame 0, in the plan's units) a path counts as pure rotation:
#: translation-based measures are reported as undefined rather than divided by ~0.
MIN_EXTENT = 1e-6
INSTALL_HINT = "pip install 'shotsmith[eval]'  (pycolmap==4.2.1)"


# ---------------------------------------------------------------------------------------------------------------
# Options and results


@dataclass(frozen=True)
class SfmOptions:
    """How poses are estimated from frames (docs/EVALUATION.md explains each choice)."""

    mapper: Mapper = "global"
    """"global": COLMAP 4's global mapper (GLOMAP, CamI2V's choice); "incremental": COLMAP's incremental one."""
    max_image_size: int = 640
    """Frames are analysed at most this many pixels on their longer side (COLMAP rescales the keypoints back
    to full resolution, so the intrinsics stay the plan's). -1 keeps the full size."""
    max_num_features: int = 4096
    """SIFT features kept per frame (COLMAP's default is 8192; 4096 keeps 81 frames under the time target)."""
    overlap: int = 10
    """Sequential matching: each frame is matched with this many following frames (plus quadratic overlap)."""
    max_num_matches: int = 65536
    """Matches per pair, as CamI2V sets it."""
    affine_shape: bool = True
    """SiftExtraction.estimate_affine_shape (CamI2V: on)."""
    domain_size_pooling: bool = True
    """SiftExtraction.domain_size_pooling (CamI2V: on)."""
    num_threads: int = -1
    """Threads for COLMAP (-1 = all cores)."""


@dataclass
class SfmTrial:
    """One run of the mapper on a video's features."""

    seed: int
    """Random seed of this trial's mapper."""
    ok: bool
    """True when at least two frames were registered."""
    registered: np.ndarray
    """(N,) bool, frames with an estimated pose."""
    world_from_camera: np.ndarray
    """(N, 4, 4) estimated camera-to-world poses (OpenCV axes, arbitrary SfM scale), relative to the first
    registered frame; NaN for unregistered frames."""
    reprojection_error_px: float | None = None
    """Mean reprojection error of the reconstruction's 3D points in its registered frames (pixels)."""
    num_points3d: int = 0
    """Triangulated points of the reconstruction."""
    num_models: int = 0
    """Reconstructions the mapper returned (the largest is used; frames in the others count as unregistered)."""
    seconds: float = 0.0
    """Mapper wall time."""
    error: str = ""
    """Why the trial failed, when it did."""
    model: str = "sfm"
    """"sfm" (the mapper's reconstruction) or "rotation-only" (homographies between frames, translation 0)."""
    model_reason: str = ""
    """Why this model was used (always set for "rotation-only")."""
    sfm: dict | None = None
    """For a rotation-only trial: what the mapper produced with this seed (ok, registered frames, error)."""
    rotation_fit: dict | None = None
    """The rotation model's checks (`RotationFit.summary`) when it was computed."""

    @property
    def registered_fraction(self) -> float:
        return float(np.mean(self.registered)) if len(self.registered) else 0.0


@dataclass
class PoseMetrics:
    """The pose measures of one estimate against a plan, over the registered frames."""

    frames: int
    """Frames compared (registered ones): the CamI2V sums run over these."""
    total_frames: int
    """Frames of the video."""
    registered_fraction: float
    """frames / total_frames."""
    rot_err: float
    """CamI2V RotErr: sum over frames of the geodesic angle between planned and estimated rotations (rad)."""
    trans_err: float | None
    """CamI2V TransErr (rel): sum of |t1 - t2|, each path divided by its own largest translation (+1e-9).
    None when not measurable (a rotation-only estimate of a plan that moves, see `translation_not_measurable`)."""
    cam_mc: float | None
    """CamI2V CamMC (rel): sum of the Frobenius norm of the 3x4 [R|t] differences, same normalisation."""
    rot_err_per_frame: float
    """rot_err / frames (rad): comparable across frame counts."""
    trans_err_per_frame: float | None
    cam_mc_per_frame: float | None
    ate: float | None
    """RMSE of camera centres after a Sim(3) Umeyama alignment of the estimate to the plan, in units of the
    plan's extent (its largest translation from the first frame); None for a pure rotation plan."""
    rpe_rot_deg: float
    """Mean rotation error of consecutive registered frame pairs' relative motions (degrees)."""
    rpe_trans: float | None
    """Mean translation error of consecutive pairs' relative motions after the Umeyama scale, in units of the
    plan's extent; None for a pure rotation plan."""
    sim3_scale: float | None
    """Umeyama scale from the estimate to the plan (None when undefined)."""
    per_frame_rot_err: list[float] = field(default_factory=list)
    """Geodesic angle per compared frame (rad), frame 0 first."""

    def translation_not_measurable(self) -> PoseMetrics:
        """These metrics with every translation-based measure set to None (rotation-only estimate)."""
        from dataclasses import replace

        return replace(
            self,
            trans_err=None,
            cam_mc=None,
            trans_err_per_frame=None,
            cam_mc_per_frame=None,
            ate=None,
            rpe_trans=None,
            sim3_scale=None,
        )


# ---------------------------------------------------------------------------------------------------------------
# CamI2V metrics (REFERENCE.md 3.2): both inputs (N, 4, 4) camera-to-world, relative to frame 0


def relative_to_frame(world_from_camera: np.ndarray, index: int = 0) -> np.ndarray:
    """(N, 4, 4) poses re-expressed in frame `index`'s camera ("left" mode: c2w_index^-1 c2w_i)."""
    m = np.asarray(world_from_camera, dtype=np.float64)
    return invert_rigid(m[index]) @ m


def rotation_angles(rot_a: np.ndarray, rot_b: np.ndarray) -> np.ndarray:
    """(N,) geodesic angles arccos(clamp((tr(Ra^T Rb) - 1) / 2, -1, 1)) in radians."""
    tr = np.einsum("nji,nji->n", np.asarray(rot_a), np.asarray(rot_b))
    return np.arccos(np.clip((tr - 1.0) / 2.0, -1.0, 1.0))


def normalize_translations(world_from_camera: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """CamI2V's normalize_t: translations divided by max_i |t_ref,i| + 1e-9 (`reference` defaults to itself)."""
    m = np.array(world_from_camera, dtype=np.float64)
    ref = m if reference is None else np.asarray(reference, dtype=np.float64)
    m[:, :3, 3] /= np.linalg.norm(ref[:, :3, 3], axis=1).max() + EPS
    return m


def rot_err(c2w_1: np.ndarray, c2w_2: np.ndarray) -> float:
    """CamI2V RotErr (radians, summed over frames)."""
    return float(rotation_angles(c2w_1[:, :3, :3], c2w_2[:, :3, :3]).sum())


def trans_err(c2w_1: np.ndarray, c2w_2: np.ndarray) -> float:
    """CamI2V TransErr (rel): each path normalised by its own largest translation, summed over frames."""
    a, b = normalize_translations(c2w_1), normalize_translations(c2w_2)
    return float(np.linalg.norm(a[:, :3, 3] - b[:, :3, 3], axis=1).sum())


def cam_mc(c2w_1: np.ndarray, c2w_2: np.ndarray) -> float:
    """CamI2V CamMC (rel): Frobenius norm of the 12 [R|t] entries' difference, normalised as TransErr, summed."""
    a, b = normalize_translations(c2w_1), normalize_translations(c2w_2)
    return float(np.linalg.norm((a[:, :3, :] - b[:, :3, :]).reshape(len(a), 12), axis=1).sum())


# ---------------------------------------------------------------------------------------------------------------
# Aligned errors


@dataclass(frozen=True)
class Sim3:
    """A similarity transform x -> scale * rotation @ x + translation."""

    scale: float
    rotation: np.ndarray
    """(3, 3) proper rotation."""
    translation: np.ndarray
    """(3,)"""

    def apply_points(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) -> (N, 3)."""
        return self.scale * np.asarray(points) @ self.rotation.T + self.translation

    def apply_poses(self, world_from_camera: np.ndarray) -> np.ndarray:
        """(N, 4, 4) camera-to-world poses moved into the target world (rotations turned, centres mapped)."""
        m = np.asarray(world_from_camera, dtype=np.float64)
        return make_pose(self.rotation @ m[:, :3, :3], self.apply_points(m[:, :3, 3]))


def umeyama(source: np.ndarray, target: np.ndarray, with_scale: bool = True) -> Sim3:
    """The least-squares similarity mapping (N, 3) `source` points onto `target` (Umeyama 1991).

    Raises InputError for fewer than 2 points or a source without spread (scale undefined).
    """
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3:
        raise InputError(
            f"umeyama: expected two (N, 3) arrays of the same shape, got {src.shape} and {dst.shape}"
        )
    if len(src) < 2:
        raise InputError(f"umeyama: needs at least 2 points, got {len(src)}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    xs, xd = src - mu_s, dst - mu_d
    var_s = (xs**2).sum() / len(src)
    if var_s < 1e-18:
        raise InputError("umeyama: the source points coincide; no similarity is defined")
    cov = xd.T @ xs / len(src)
    u, d, vt = np.linalg.svd(cov)
    s = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        s[2, 2] = -1.0
    rot = u @ s @ vt
    scale = float(np.trace(np.diag(d) @ s) / var_s) if with_scale else 1.0
    return Sim3(scale, rot, mu_d - scale * rot @ mu_s)


def path_extent(world_from_camera: np.ndarray) -> float:
    """Largest camera-centre distance from the first frame (CamI2V's normaliser without the epsilon)."""
    m = np.asarray(world_from_camera, dtype=np.float64)
    return float(np.linalg.norm(m[:, :3, 3] - m[0, :3, 3], axis=1).max())


def _is_spread(points: np.ndarray) -> bool:
    """True when (N, 3) points span at least a plane (Umeyama's rotation is then unique)."""
    if len(points) < 3:
        return False
    sv = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    return bool(sv[0] > 0 and sv[1] > 1e-3 * sv[0])


def orientation_rotation(plan: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """(3, 3) rotation R minimising sum |R_plan,i - R R_est,i|^2 (chordal mean of R_plan R_est^T)."""
    m = np.einsum("nij,nkj->ik", plan[:, :3, :3], estimate[:, :3, :3])
    u, _, vt = np.linalg.svd(m)
    return u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt


def align_sim3(plan: np.ndarray, estimate: np.ndarray) -> Sim3:
    """The Sim(3) from the estimate's world to the plan's, for (N, 4, 4) camera-to-world paths.

    Umeyama on the camera centres when they span at least a plane (the standard ATE alignment). When they lie
    on a line (a straight move: Umeyama's rotation about the line is then arbitrary) or stay put, the rotation
    comes from the orientations and the scale and translation from the centres by least squares given it
    (scale 1 when either path stays put).
    """
    c_plan, c_est = plan[:, :3, 3], estimate[:, :3, 3]
    if path_extent(plan) > MIN_EXTENT and _is_spread(c_est) and _is_spread(c_plan):
        return umeyama(c_est, c_plan)
    rot = orientation_rotation(plan, estimate)
    xs = (c_est - c_est.mean(axis=0)) @ rot.T
    xd = c_plan - c_plan.mean(axis=0)
    denom = float((xs**2).sum())
    moving = path_extent(plan) > MIN_EXTENT and denom > 1e-18
    scale = float((xs * xd).sum() / denom) if moving else 1.0
    if scale <= 0:  # the estimate moves against the plan: keep the sizes comparable, the error shows it
        scale = path_extent(plan) / max(path_extent(estimate), 1e-18)
    return Sim3(scale, rot, c_plan.mean(axis=0) - scale * rot @ c_est.mean(axis=0))


def ate_rmse(plan: np.ndarray, aligned: np.ndarray) -> float:
    """RMSE of camera centres between the plan and an already aligned estimate, in the plan's units."""
    return float(np.sqrt(np.mean(np.sum((plan[:, :3, 3] - aligned[:, :3, 3]) ** 2, axis=1))))


def relative_pose_errors(
    plan: np.ndarray, estimate: np.ndarray, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per consecutive pair (i, i+1): rotation error (deg) and translation error (plan units) of the relative
    motion inv(P_i) P_i+1 against inv(E_i) E_i+1, the estimate's translations multiplied by `scale`.

    Returns two (N-1,) arrays; world frames need not agree (relative motions do not see them).
    """
    est = np.array(estimate, dtype=np.float64)
    est[:, :3, 3] *= scale
    dp = invert_rigid(plan[:-1]) @ plan[1:]
    de = invert_rigid(est[:-1]) @ est[1:]
    err = invert_rigid(dp) @ de
    rot = np.degrees(rotation_angles(np.tile(np.eye(3), (len(err), 1, 1)), err[:, :3, :3]))
    return rot, np.linalg.norm(err[:, :3, 3], axis=1)


def pose_metrics(plan: np.ndarray, estimate: np.ndarray, registered: np.ndarray | None = None) -> PoseMetrics:
    """All pose measures of `estimate` against `plan`, both (N, 4, 4) camera-to-world, over registered frames.

    Both paths are first re-expressed relative to the first registered frame (frame 0 when it registered).
    Translation-based measures that need the plan to move are None for a pure rotation plan.
    """
    plan = np.asarray(plan, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if plan.shape != estimate.shape or plan.ndim != 3 or plan.shape[1:] != (4, 4):
        raise InputError(
            f"pose_metrics: expected two (N, 4, 4) arrays of one shape, got {plan.shape}, {estimate.shape}"
        )
    total = len(plan)
    reg = np.ones(total, bool) if registered is None else np.asarray(registered, bool)
    idx = np.flatnonzero(reg)
    if len(idx) < 2:
        raise InputError(f"pose_metrics: needs at least 2 registered frames, got {len(idx)}")
    p = relative_to_frame(plan[idx])
    e = relative_to_frame(estimate[idx])
    n = len(idx)
    angles = rotation_angles(p[:, :3, :3], e[:, :3, :3])
    r, t, mc = float(angles.sum()), trans_err(p, e), cam_mc(p, e)
    plan_ext = path_extent(p)
    moving = plan_ext > MIN_EXTENT
    sim = align_sim3(p, e)
    ate = ate_rmse(p, sim.apply_poses(e)) / plan_ext if moving else None
    consecutive = np.diff(idx) == 1  # RPE only over truly consecutive frames
    rpe_r, rpe_t = relative_pose_errors(p, e, sim.scale)
    if consecutive.any():
        rpe_r, rpe_t = rpe_r[consecutive], rpe_t[consecutive]
    return PoseMetrics(
        frames=n,
        total_frames=total,
        registered_fraction=n / total,
        rot_err=r,
        trans_err=t,
        cam_mc=mc,
        rot_err_per_frame=r / n,
        trans_err_per_frame=t / n,
        cam_mc_per_frame=mc / n,
        ate=ate,
        rpe_rot_deg=float(rpe_r.mean()),
        rpe_trans=float(rpe_t.mean() / plan_ext) if moving else None,
        sim3_scale=sim.scale if moving else None,
        per_frame_rot_err=[float(a) for a in angles],
    )


def aligned_estimate(
    plan: np.ndarray, estimate: np.ndarray, registered: np.ndarray
) -> tuple[np.ndarray, Sim3]:
    """The registered frames of `estimate`, relative to the first of them and Sim(3)-aligned onto `plan`
    (which is re-expressed relative to the same frame). Returns ((M, 4, 4) aligned poses, the transform)."""
    idx = np.flatnonzero(np.asarray(registered, bool))
    p = relative_to_frame(np.asarray(plan)[idx])
    e = relative_to_frame(np.asarray(estimate)[idx])
    sim = align_sim3(p, e)
    return sim.apply_poses(e), sim


# ---------------------------------------------------------------------------------------------------------------
# Trials


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


# ---------------------------------------------------------------------------------------------------------------
# Pose estimation with pycolmap


def _pycolmap():
    try:
        import pycolmap
    except ImportError as exc:
        raise BackendUnavailable(
            f"evaluation needs pycolmap, which is not installed ({exc}); install it: {INSTALL_HINT}"
        ) from exc
    return pycolmap


def pycolmap_version() -> str:
    """pycolmap's version, or "" when it is not installed."""
    try:
        import pycolmap
    except ImportError:
        return ""
    return str(getattr(pycolmap, "__version__", ""))


def single_focal(intrinsics: np.ndarray) -> tuple[float, float, float, list[str]]:
    """(f, cx, cy) of a SIMPLE_PINHOLE camera from per-frame (N, 4) intrinsics, and notes when the plan's focal
    differs between axes or frames (the single fixed camera is then an approximation)."""
    intr = np.asarray(intrinsics, dtype=np.float64).reshape(-1, 4)
    fx, fy, cx, cy = intr[0]
    notes = []
    if abs(fx - fy) > 0.01 * fx:
        notes.append(f"fx {fx:.1f} and fy {fy:.1f} differ; SIMPLE_PINHOLE uses their mean")
    if np.abs(intr - intr[0]).max() > 0.01 * fx:
        notes.append("the plan's intrinsics change over time (zoom); the single fixed camera uses frame 0's")
    if fx <= 10:
        raise InputError(
            f"focal length {fx} px is not a pixel focal length (CamI2V asserts fx > 10); check the trajectory"
        )
    return float((fx + fy) / 2.0), float(cx), float(cy), notes


def write_frames(frames: np.ndarray, folder: Path) -> list[str]:
    """Write (T, H, W, 3) uint8 frames as 000.png, 001.png ... (4 digits past 999); returns the names."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    digits = max(3, len(str(len(frames) - 1)))
    names = []
    for i, frame in enumerate(frames):
        name = f"{i:0{digits}d}.png"
        Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(folder / name, compress_level=1)
        names.append(name)
    return names


@dataclass
class FeatureDatabase:
    """A scratch COLMAP database with features and verified matches of one video's frames."""

    folder: Path
    database: Path
    images: Path
    names: list[str]
    extract_seconds: float
    match_seconds: float


def build_database(
    frames: np.ndarray, intrinsics: np.ndarray, folder: Path, options: SfmOptions
) -> FeatureDatabase:
    """Write the frames, extract SIFT with the plan's intrinsics fixed and match them sequentially (guided)."""
    pycolmap = _pycolmap()
    f, cx, cy, _ = single_focal(intrinsics)
    images = folder / "images"
    names = write_frames(frames, images)
    db = folder / "database.db"
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = "SIMPLE_PINHOLE"
    reader.camera_params = f"{f!r},{cx!r},{cy!r}"
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.max_image_size = options.max_image_size
    extraction.num_threads = options.num_threads
    extraction.sift.max_num_features = options.max_num_features
    extraction.sift.estimate_affine_shape = options.affine_shape
    extraction.sift.domain_size_pooling = options.domain_size_pooling
    t0 = time.perf_counter()
    pycolmap.extract_features(
        db,
        images,
        image_names=names,
        camera_mode=pycolmap.CameraMode.SINGLE,
        reader_options=reader,
        extraction_options=extraction,
        device=pycolmap.Device.cpu,
    )
    t1 = time.perf_counter()
    matching = pycolmap.FeatureMatchingOptions()
    matching.guided_matching = True
    matching.max_num_matches = options.max_num_matches
    matching.num_threads = options.num_threads
    pairing = pycolmap.SequentialPairingOptions()
    pairing.overlap = options.overlap
    pycolmap.match_sequential(
        db, matching_options=matching, pairing_options=pairing, device=pycolmap.Device.cpu
    )
    return FeatureDatabase(folder, db, images, names, t1 - t0, time.perf_counter() - t1)


def _mapper_options(pycolmap, options: SfmOptions, seed: int):
    if options.mapper == "global":
        opts = pycolmap.GlobalPipelineOptions()
        opts.random_seed = seed
        opts.num_threads = options.num_threads
        opts.mapper.random_seed = seed
        ba = opts.mapper.bundle_adjustment
        ba.refine_focal_length = False
        ba.refine_principal_point = False
        ba.refine_extra_params = False
        return opts
    opts = pycolmap.IncrementalPipelineOptions()
    opts.random_seed = seed
    opts.num_threads = options.num_threads
    opts.ba_refine_focal_length = False
    opts.ba_refine_principal_point = False
    opts.ba_refine_extra_params = False
    opts.mapper.abs_pose_refine_focal_length = False
    opts.mapper.abs_pose_refine_extra_params = False
    return opts


def run_mapper(features: FeatureDatabase, options: SfmOptions, seed: int) -> SfmTrial:
    """One mapper run on the matched features; a failed reconstruction is a failed trial, not an exception."""
    pycolmap = _pycolmap()
    n = len(features.names)
    nan = np.full((n, 4, 4), np.nan)
    out = features.folder / f"sparse-{seed}"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if options.mapper not in MAPPERS:
        raise InputError(f"unknown mapper {options.mapper!r}; choose one of {', '.join(MAPPERS)}")
    pycolmap.set_random_seed(seed)
    opts = _mapper_options(pycolmap, options, seed)
    try:
        if options.mapper == "global":
            recs = pycolmap.global_mapping(features.database, features.images, out, options=opts)
        else:
            recs = pycolmap.incremental_mapping(features.database, features.images, out, options=opts)
    except Exception as exc:  # noqa: BLE001 - COLMAP raises plain RuntimeErrors; a failed trial is a result
        return SfmTrial(
            seed,
            False,
            np.zeros(n, bool),
            nan,
            seconds=time.perf_counter() - t0,
            error=f"mapper error: {exc}",
        )
    seconds = time.perf_counter() - t0
    if not recs:
        return SfmTrial(
            seed,
            False,
            np.zeros(n, bool),
            nan,
            seconds=seconds,
            error="no reconstruction: too few reliable matches or too little parallax (textureless frames or pure rotation)",
        )
    rec = max(recs.values(), key=lambda r: r.num_reg_images())
    index = {name: i for i, name in enumerate(features.names)}
    poses = nan.copy()
    reg = np.zeros(n, bool)
    for image in rec.images.values():
        if not image.has_pose or image.name not in index:
            continue
        cam_from_world = np.eye(4)
        cam_from_world[:3, :] = image.cam_from_world().matrix()
        poses[index[image.name]] = invert_rigid(cam_from_world)
        reg[index[image.name]] = True
    if reg.sum() < 2:
        return SfmTrial(
            seed,
            False,
            reg,
            nan,
            seconds=seconds,
            num_models=len(recs),
            error="fewer than 2 frames registered",
        )
    first = int(np.argmax(reg))
    poses[reg] = invert_rigid(poses[first]) @ poses[reg]
    return SfmTrial(
        seed=seed,
        ok=True,
        registered=reg,
        world_from_camera=poses,
        reprojection_error_px=float(rec.compute_mean_reprojection_error()),
        num_points3d=int(rec.num_points3D()),
        num_models=len(recs),
        seconds=seconds,
    )


@contextlib.contextmanager
def _colmap_log_level(pycolmap, level: int = 2):
    """COLMAP's glog at `level` (2 = errors only; SHOTSMITH_VERBOSE keeps its progress log)."""
    if os.environ.get("SHOTSMITH_VERBOSE"):
        yield
        return
    old = pycolmap.logging.minloglevel
    pycolmap.logging.minloglevel = level
    try:
        yield
    finally:
        pycolmap.logging.minloglevel = old


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
    pycolmap = _pycolmap()
    with (
        _colmap_log_level(pycolmap),
        tempfile.TemporaryDirectory(prefix="shotsmith-sfm-", dir=workdir) as tmp,
    ):
        features = build_database(frames, intrinsics, Path(tmp), options)
        results = [run_mapper(features, options, seed + k) for k in range(trials)]
        fit = rotation_from_database(features, intrinsics, options) if rotation_fallback else None
    if fit is not None:
        results = apply_rotation_model(results, fit)
    timings = {
        "extract_s": round(features.extract_seconds, 3),
        "match_s": round(features.match_seconds, 3),
        "map_s": round(sum(t.seconds for t in results), 3),
    }
    if fit is not None:
        timings["rotation_s"] = round(fit.seconds, 3)
    return results, timings


# ---------------------------------------------------------------------------------------------------------------
# Rotation-only model: a camera turning about its centre (pan, tilt, roll) has no parallax, so SfM cannot
# reconstruct it (or returns translations that are noise). Frames are then related by homographies
# H_{j<-i} = K R_{j<-i} K^-1 with R_{j<-i} = camera_from_world_j @ world_from_camera_i (rotations only).

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


def nearest_rotation(m: np.ndarray) -> np.ndarray:
    """The proper rotation closest (Frobenius) to a 3x3 matrix: SVD with det +1."""
    u, _, vt = np.linalg.svd(m)
    return u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R minimising sum |b_k - R a_k|^2 for (M, 3) unit vectors."""
    return nearest_rotation(b.T @ a)


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
    rot = nearest_rotation(m)

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
    pycolmap = _pycolmap()
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


# ---------------------------------------------------------------------------------------------------------------
# A camera path from an estimate, for labelling and plotting


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


# ---------------------------------------------------------------------------------------------------------------
# Synthetic check scene


@dataclass(frozen=True)
class BoxRoom:
    """A closed box room with smooth multi-scale random textures on its six walls: a known-answer scene for
    checking pose estimation (plenty of texture at every scale, depth variation, no occlusion)."""

    half_size: tuple[float, float, float] = (2.0, 1.5, 3.0)
    """Half extents (x, y, z) in scene units."""
    center: tuple[float, float, float] = (0.0, 0.0, 1.0)
    """Room centre; the default puts the origin camera 2 units from the front wall."""
    seed: int = 0
    """Texture seed."""
    texture_size: int = 512
    """Texture resolution per wall."""


@functools.lru_cache(maxsize=4)
def _wall_textures(room: BoxRoom) -> np.ndarray:
    from scipy.ndimage import zoom

    rng = np.random.default_rng(room.seed)
    res = room.texture_size
    out = np.zeros((6, res, res, 3), np.float32)
    for face in range(6):
        tex = np.zeros((res, res, 3))
        for cells, weight in ((4, 1.0), (8, 0.8), (16, 0.6), (32, 0.5), (64, 0.4)):
            grid = rng.random((cells, cells, 3))
            tex += (
                weight
                * zoom(grid, (res / cells, res / cells, 1), order=1, mode="grid-wrap", grid_mode=True)[
                    :res, :res
                ]
            )
        tex = (tex - tex.min()) / (tex.max() - tex.min())
        out[face] = tex * 255.0
    out.setflags(write=False)  # cached: shared between calls
    return out


def render_box_room(cam: CameraPath, room: BoxRoom = BoxRoom()) -> np.ndarray:
    """(N, H, W, 3) uint8 frames of `room` seen along `cam` (ray casting; the cameras must be inside the room)."""
    tex = _wall_textures(room)
    half = np.asarray(room.half_size, np.float64)
    centre = np.asarray(room.center, np.float64)
    h, w = cam.height, cam.width
    v, u = np.mgrid[0:h, 0:w] + 0.5
    frames = np.zeros((len(cam), h, w, 3), np.uint8)
    res = room.texture_size
    for k in range(len(cam)):
        fx, fy, cx, cy = cam.intrinsics[k]
        rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], axis=-1)
        d = rays @ cam.world_from_camera[k, :3, :3].T
        o = cam.world_from_camera[k, :3, 3] - centre
        if (np.abs(o) >= half).any():
            raise InputError(f"render_box_room: camera {k} at {o + centre} is outside the room")
        best = np.full((h, w), np.inf)
        face = np.zeros((h, w), np.int64)
        for axis in range(3):
            for side, sign in enumerate((-1.0, 1.0)):
                with np.errstate(divide="ignore", invalid="ignore"):
                    t = (sign * half[axis] - o[axis]) / d[..., axis]
                hit = (t > 0) & (t < best)
                best = np.where(hit, t, best)
                face = np.where(hit, 2 * axis + side, face)
        p = o + d * best[..., None]
        img = np.zeros((h, w, 3), np.float32)
        for f in range(6):
            axis = f // 2
            others = [a for a in range(3) if a != axis]
            m = face == f
            uv = p[m][:, others] / (2.0 * half[others]) + 0.5
            ij = np.clip(uv * (res - 1), 0, res - 1)
            i0 = np.floor(ij).astype(np.int64)
            i1 = np.minimum(i0 + 1, res - 1)
            a = ij - i0
            t00 = tex[f][i0[:, 1], i0[:, 0]]
            t10 = tex[f][i0[:, 1], i1[:, 0]]
            t01 = tex[f][i1[:, 1], i0[:, 0]]
            t11 = tex[f][i1[:, 1], i1[:, 0]]
            ax, ay = a[:, :1], a[:, 1:]
            img[m] = (t00 * (1 - ax) + t10 * ax) * (1 - ay) + (t01 * (1 - ax) + t11 * ax) * ay
        frames[k] = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    return frames


# ---------------------------------------------------------------------------------------------------------------
# The whole measurement of one video against its plan


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


def motion_f1s(plan: CameraPath, trial: SfmTrial, text: str) -> tuple[dict, list[str]]:
    """Motion-tag F1 of the (scale-aligned) estimate against the plan and against `text` (None when skipped)."""
    out: dict = {"motion_tag_f1_vs_plan": None, "motion_tag_f1_vs_text": None}
    notes: list[str] = []
    try:
        from shotsmith import describe
    except ImportError as exc:
        return out, [f"motion-tag F1 skipped: shotsmith.describe is not available ({exc})"]
    est, ref = estimate_path(plan, trial)
    out["motion_tag_f1_vs_plan"] = float(describe.trajectory_f1(est, ref))
    out["estimated_movement"] = describe.describe(est)
    if text.strip():
        try:
            out["motion_tag_f1_vs_text"] = float(describe.text_f1(text, est))
        except Exception as exc:  # noqa: BLE001 - a text the planner cannot parse: a note, not a failed evaluation
            notes.append(f"motion-tag F1 against the text skipped: {exc}")
    return out, notes


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
        "frames": "written as 000.png ...; analysed at max_image_size px (keypoints rescaled to full size)",
        "features": {
            "type": "SIFT",
            "estimate_affine_shape": options.affine_shape,
            "domain_size_pooling": options.domain_size_pooling,
            "max_num_features": options.max_num_features,
            "max_image_size": options.max_image_size,
        },
        "matching": {
            "type": "sequential",
            "overlap": options.overlap,
            "guided_matching": True,
            "max_num_matches": options.max_num_matches,
        },
        "camera": "one SIMPLE_PINHOLE camera, f = (fx + fy) / 2, cx, cy of the plan's frame 0 in pixels; fixed (no refinement)",
        "mapper": {
            "global": "pycolmap.global_mapping (GLOMAP, merged into COLMAP 4), as CamI2V; relative poses with 4 px RANSAC error",
            "incremental": "pycolmap.incremental_mapping (COLMAP's incremental mapper)",
        }[options.mapper],
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
            "rotation, or it registered more but the video shows no measurable parallax (the rotation fits the "
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
