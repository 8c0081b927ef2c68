"""Pose measures of an estimated camera path against a plan: CamI2V's sums and the aligned errors.

Owns RotErr, TransErr and CamMC exactly as CamI2V sums them (REFERENCE.md 3.2), the Sim(3) alignment of an
estimate onto the plan (Umeyama on the camera centres, or orientations first for a straight move) and the
errors that do not depend on the frame count: ATE and RPE. Pure functions on (N, 4, 4) camera-to-world arrays
(OpenCV axes); nothing here runs COLMAP (`shotsmith.evaluate.sfm`) or knows of trials and reports
(`shotsmith.evaluate.report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from shotsmith.camera import invert_rigid, make_pose, orthonormalize
from shotsmith.errors import InputError

#: CamI2V's normaliser guard: translations are divided by (max norm + EPS).
EPS = 1e-9
#: Below this extent (largest translation from frame 0, in the plan's units) a path counts as pure rotation:
#: translation-based measures are reported as undefined rather than divided by ~0.
MIN_EXTENT = 1e-6


#: The `PoseMetrics` fields that need the estimate's translations (None beside a rotation-only estimate).
TRANSLATION_MEASURES = (
    "trans_err",
    "cam_mc",
    "trans_err_per_frame",
    "cam_mc_per_frame",
    "ate",
    "rpe_trans",
    "sim3_scale",
)


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
        return replace(self, **dict.fromkeys(TRANSLATION_MEASURES))


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
    return orthonormalize(np.einsum("nij,nkj->ik", plan[:, :3, :3], estimate[:, :3, :3]))


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
