"""One scene from several photos (GEN3C's cache from several seed images): the pure geometry, arrays in and out.

Owns: registering the photos with pycolmap (`register_photos`: SIFT per photo, exhaustive matching, the
incremental mapper; each photo's own pinhole camera, its focal fixed when EXIF or --fov gives it, refined from
the prior otherwise); each photo's depth brought onto the sparse points it sees by a robust scale and shift
(`fit_scale_shift`); the world and units (`to_scene`: world = the first photo's camera, 1.0 = the subject distance
of the first photo, docs/CONVENTIONS.md); and one fused point cache with each point's source photo
(`fuse_photos`). Fusion is recapture's 4D cache read as a scene: every photo is a frame of a `recapture.Cache4D`
(same flying-pixel rule, same unprojection and footprints), and a later photo adds only the points that the
earlier photos do not already hold, by recapture's depth test (`recapture.accept_points`).

It refuses, in one line, photos that SfM could not place (naming them, with what to try): two photos of no
shared content are refused, not fused. It does not read files, run depth models or touch a workspace (the
build-3d-cache stage does). The COLMAP plumbing (options, scratch images, log level) is `evaluate.sfm`'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith.camera import invert_rigid
from shotsmith.errors import InputError

#: Smallest triangulation angle of the mapper's first pair (COLMAP's default, 16, refuses short baselines).
INIT_MIN_TRI_ANGLE_DEG = 2.0
#: Photos are matched at up to this many pixels on their longer side (more than the cache keeps when it is small:
#: SIFT finds too few features in a 700-pixel frame of a real shot), then the result is rescaled to the cache.
SFM_MAX_SIDE = 1600
#: Fewest sparse points a photo must see for its depth to be fitted with a scale and a shift.
MIN_FIT_POINTS = 8
#: A sparse point agrees with a fitted depth when their relative difference is below this (RANSAC inlier band).
FIT_INLIER_BAND = 0.1


@dataclass
class PhotoRegistration:
    """What SfM made of the photos (SfM units, world = the first registered photo's camera)."""

    names: list[str]
    """The photos' names as the user gave them (for messages)."""
    registered: np.ndarray
    """(N,) bool: photos with a pose."""
    world_from_camera: np.ndarray
    """(N, 4, 4) camera-to-world poses (OpenCV axes, SfM scale) relative to the first photo; NaN unregistered."""
    intrinsics: np.ndarray
    """(N, 4) (fx, fy, cx, cy) in pixels of each photo (refined by the mapper where no focal was known)."""
    observations: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    """Per photo: (K, 2) pixel coordinates (u, v; pixel centres at +0.5) of its keypoints that have a 3D point,
    and (K, 3) those points in the world."""
    reprojection_error_px: float | None = None
    """Mean reprojection error of the reconstruction (pixels)."""
    num_points3d: int = 0
    """Triangulated points."""
    seconds: float = 0.0
    """Features, matching and mapping wall time."""
    error: str = ""
    """Why the mapper failed, when it did."""
    model: str = "sfm"
    """"sfm" (the mapper's reconstruction) or "rotation-only" (photos taken turning in place: homographies
    between them, translation 0, no sparse points; depths are then aligned densely, `to_scene`)."""
    model_reason: str = ""
    """Why the rotation-only model was used (`evaluate.rotation`'s line)."""

    def rescaled(self, factors: list[tuple[float, float]]) -> PhotoRegistration:
        """The registration of the same photos resized by (x, y) `factors` each (pixel centres kept at +0.5):
        intrinsics and keypoints scale, poses and 3D points do not."""
        intr = self.intrinsics.copy()
        obs = []
        for i, (sx, sy) in enumerate(factors):
            intr[i] *= (sx, sy, sx, sy)
            uv, xyz = (
                self.observations[i] if i < len(self.observations) else (np.zeros((0, 2)), np.zeros((0, 3)))
            )
            obs.append((uv * (sx, sy), xyz))
        return replace(self, intrinsics=intr, observations=obs)

    def check(self) -> None:
        """InputError naming the photos that did not register (the first among them included), and what to try."""
        missing = [n for n, r in zip(self.names, self.registered, strict=True) if not r]
        if not missing and self.registered.size >= 2:
            return
        why = f": {self.error}" if self.error else ""
        placed = int(self.registered.sum())
        raise InputError(
            f"{', '.join(missing)}: pycolmap could not place {'this photo' if len(missing) == 1 else 'these photos'} "
            f"with the others ({placed} of {len(self.names)} registered{why}); give photos of the same scene with more "
            "overlap (each sharing much of its view with another), or fewer photos (leave these out)"
        )


def _write_camera_priors(pycolmap, database: Path, names: list[str], intrinsics: np.ndarray) -> None:
    """Give each photo's COLMAP camera our pinhole prior (SIMPLE_PINHOLE f, cx, cy)."""
    db = pycolmap.Database.open(str(database))
    try:
        index = {name: i for i, name in enumerate(names)}
        for image in db.read_all_images():
            fx, fy, cx, cy = intrinsics[index[image.name]]
            cam = db.read_camera(image.camera_id)
            cam.params = [float((fx + fy) / 2.0), float(cx), float(cy)]
            cam.has_prior_focal_length = True
            db.update_camera(cam)
    finally:
        db.close()


def register_photos(
    photos: list[np.ndarray],
    intrinsics: np.ndarray,
    folder: str | Path,
    names: list[str] | None = None,
    max_image_size: int = 1024,
    max_num_features: int = 8192,
    seed: int = 0,
    refine_focal: bool = False,
) -> PhotoRegistration:
    """Poses of `photos` ((H_i, W_i, 3) uint8 each) by pycolmap, in a scratch `folder` (`_sfm_registration`).

    When the mapper cannot place every photo with enough sparse points, and the photos share one camera, the
    rotation-only model of `evaluate.rotation` is tried on the same matches (photos taken turning in place have
    no parallax for SfM); it is used when it explains them. Otherwise the mapper's result stands (`check` then
    names the photos it could not place)."""
    reg = _sfm_registration(
        photos, intrinsics, folder, names, max_image_size, max_num_features, seed, refine_focal
    )
    if reg.registered.all() and reg.num_points3d >= MIN_FIT_POINTS:
        return reg
    rotation = _rotation_registration(reg, [p.shape[:2] for p in photos], Path(folder), max_image_size)
    if rotation is not None:
        return rotation
    if reg.registered.any() and reg.num_points3d < MIN_FIT_POINTS:
        n = len(reg.registered)
        return replace(
            reg,
            registered=np.zeros(n, bool),
            error=f"a degenerate model ({reg.num_points3d} sparse point(s)): too little parallax, or the matches "
            "are on something that moves",
        )
    return reg


def _rotation_registration(
    reg: PhotoRegistration, shapes: list[tuple[int, ...]], folder: Path, max_image_size: int
) -> PhotoRegistration | None:
    """The rotation-only registration of the photos in `folder`'s database, or None (different cameras, or a
    rotation does not explain them)."""
    from shotsmith.evaluate.rotation import rotation_from_database
    from shotsmith.evaluate.sfm import FeatureDatabase, SfmOptions

    intr = reg.intrinsics
    if len(set(shapes)) != 1 or np.abs(intr - intr[0]).max() > 1e-6 * max(1.0, float(intr[0, 0])):
        return None
    database = folder / "database.db"
    if not database.exists():
        return None
    files = sorted(p.name for p in (folder / "images").iterdir())
    features = FeatureDatabase(folder, database, folder / "images", files, 0.0, 0.0)
    fit = rotation_from_database(features, intr, SfmOptions(max_image_size=max_image_size))
    if not (fit.ok and fit.registered.all()):
        return None
    n = len(reg.names)
    empty = [(np.zeros((0, 2)), np.zeros((0, 3))) for _ in range(n)]
    return replace(
        reg,
        registered=np.ones(n, bool),
        world_from_camera=np.asarray(fit.world_from_camera, np.float64),
        observations=empty,
        num_points3d=0,
        reprojection_error_px=None,
        error="",
        model="rotation-only",
        model_reason=fit.reason,
    )


def _sfm_registration(
    photos: list[np.ndarray],
    intrinsics: np.ndarray,
    folder: str | Path,
    names: list[str] | None = None,
    max_image_size: int = 1024,
    max_num_features: int = 8192,
    seed: int = 0,
    refine_focal: bool = False,
) -> PhotoRegistration:
    """The mapper's poses of `photos`, in a scratch `folder`.

    `intrinsics` (N, 4) is each photo's pinhole camera (EXIF, --fov, the depth model's or the 60-degree default),
    kept fixed unless `refine_focal`: with a handful of photos the focal is ill-conditioned (three frames of a
    real telephoto shot went from 1109 to 5931 px and kept no 3D point). A failed reconstruction is a registration with nothing registered, not an exception."""
    from shotsmith.evaluate.sfm import colmap_log_level, require_pycolmap

    pycolmap = require_pycolmap()
    from PIL import Image

    n = len(photos)
    names = list(names or [f"photo {i}" for i in range(n)])
    intr = np.asarray(intrinsics, dtype=np.float64).reshape(n, 4)
    folder = Path(folder)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    files = [f"{i:03d}.png" for i in range(n)]
    for name, photo in zip(files, photos, strict=True):
        Image.fromarray(np.asarray(photo, np.uint8)).save(images / name, compress_level=1)
    database = folder / "database.db"
    nan = np.full((n, 4, 4), np.nan)
    t0 = time.perf_counter()
    with colmap_log_level(pycolmap):
        reader = pycolmap.ImageReaderOptions()
        reader.camera_model = "SIMPLE_PINHOLE"
        extraction = pycolmap.FeatureExtractionOptions()
        extraction.max_image_size = max_image_size
        extraction.sift.max_num_features = max_num_features
        extraction.sift.estimate_affine_shape = True
        extraction.sift.domain_size_pooling = True
        pycolmap.extract_features(
            database,
            images,
            image_names=files,
            camera_mode=pycolmap.CameraMode.PER_IMAGE,
            reader_options=reader,
            extraction_options=extraction,
            device=pycolmap.Device.cpu,
        )
        _write_camera_priors(pycolmap, database, files, intr)
        matching = pycolmap.FeatureMatchingOptions()
        matching.guided_matching = True
        pycolmap.match_exhaustive(database, matching_options=matching, device=pycolmap.Device.cpu)
        opts = pycolmap.IncrementalPipelineOptions()
        opts.random_seed = seed
        refine = refine_focal
        opts.ba_refine_focal_length = refine
        opts.ba_refine_principal_point = False
        opts.ba_refine_extra_params = False
        opts.mapper.abs_pose_refine_focal_length = refine
        opts.mapper.abs_pose_refine_extra_params = False
        # A handful of photos: keep a model of two, and let a short baseline (a tracking shot) start one.
        opts.min_model_size = 2
        opts.mapper.init_min_tri_angle = INIT_MIN_TRI_ANGLE_DEG
        pycolmap.set_random_seed(seed)
        out = folder / "sparse"
        out.mkdir(exist_ok=True)
        try:
            recs = pycolmap.incremental_mapping(database, images, out, options=opts)
        except Exception as exc:  # noqa: BLE001 - COLMAP raises plain RuntimeErrors; a failure is a result
            return PhotoRegistration(names, np.zeros(n, bool), nan, intr, error=f"mapper error: {exc}")
    seconds = time.perf_counter() - t0
    if not recs:
        return PhotoRegistration(
            names,
            np.zeros(n, bool),
            nan,
            intr,
            seconds=seconds,
            error="no reconstruction: too few shared features, or too little parallax between the photos",
        )
    rec = max(recs.values(), key=lambda r: r.num_reg_images())
    index = {name: i for i, name in enumerate(files)}
    poses, reg, out_intr = nan.copy(), np.zeros(n, bool), intr.copy()
    obs: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros((0, 2)), np.zeros((0, 3))) for _ in range(n)]
    for image in rec.images.values():
        if not image.has_pose or image.name not in index:
            continue
        i = index[image.name]
        cam_from_world = np.eye(4)
        cam_from_world[:3, :] = image.cam_from_world().matrix()
        poses[i] = invert_rigid(cam_from_world)
        reg[i] = True
        f, cx, cy = (float(x) for x in rec.cameras[image.camera_id].params[:3])
        out_intr[i] = (f, f, cx, cy)
        pts = [p for p in image.points2D if p.has_point3D()]
        if pts:
            uv = np.array([p.xy for p in pts], dtype=np.float64)
            xyz = np.array([rec.points3D[p.point3D_id].xyz for p in pts], dtype=np.float64)
            obs[i] = (uv, xyz)
    first = int(np.argmax(reg)) if reg.any() else 0
    if reg.any():
        to_first = invert_rigid(poses[first])
        poses[reg] = to_first @ poses[reg]
        poses[first] = np.eye(4)  # exactly, not up to round-off
        obs = [(uv, xyz @ to_first[:3, :3].T + to_first[:3, 3]) for uv, xyz in obs]
    error = "" if reg.sum() >= 2 else "fewer than 2 photos registered"
    return PhotoRegistration(
        names,
        reg,
        poses,
        out_intr,
        obs,
        reprojection_error_px=float(rec.compute_mean_reprojection_error()),
        num_points3d=int(rec.num_points3D()),
        seconds=seconds,
        error=error,
    )


# ---------------------------------------------------------------------------------------------------------------
# Depth onto the sparse points


@dataclass
class DepthFit:
    """target depth ~= scale * predicted depth + shift on a photo's sparse points."""

    scale: float
    shift: float
    num_points: int
    """Sparse points the photo sees (in front of it, on valid depth)."""
    num_inliers: int
    """Of those, the ones within `FIT_INLIER_BAND` of the fit."""
    median_error: float
    """Median relative depth error of the fit over the inliers."""


def sparse_depths(
    observations: tuple[np.ndarray, np.ndarray], world_from_camera: np.ndarray, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(predicted depth at each keypoint, SfM z-depth of its 3D point in the photo's camera), of the keypoints that
    land on valid depth in front of the camera."""
    uv, xyz = observations
    h, w = depth.shape
    if len(uv) == 0:
        return np.zeros(0), np.zeros(0)
    cam = (xyz - world_from_camera[:3, 3]) @ world_from_camera[:3, :3]  # camera_from_world applied to xyz
    col = np.clip(np.floor(uv[:, 0]).astype(np.int64), 0, w - 1)
    row = np.clip(np.floor(uv[:, 1]).astype(np.int64), 0, h - 1)
    pred = depth[row, col].astype(np.float64)
    ok = (pred > 0) & (cam[:, 2] > 0)
    return pred[ok], cam[ok, 2]


def fit_scale_shift(
    pred: np.ndarray, target: np.ndarray, band: float = FIT_INLIER_BAND, iterations: int = 200, seed: int = 0
) -> DepthFit:
    """The robust (scale > 0, shift) with target ~= scale * pred + shift: RANSAC over pairs of points (the model
    that agrees with most points within `band`, relative), then least squares on its inliers. With too few points
    or a degenerate spread of depths, the scale alone (the median ratio), shift 0."""
    pred = np.asarray(pred, np.float64)
    target = np.asarray(target, np.float64)
    n = len(pred)
    if n < 2:
        raise InputError(f"{n} sparse point(s): too few to fit a depth scale")

    def inliers(s: float, b: float) -> np.ndarray:
        return np.abs(s * pred + b - target) <= band * target

    def scale_only() -> tuple[float, float]:
        return float(np.median(target / pred)), 0.0

    best = scale_only()
    best_in = inliers(*best)
    if n >= MIN_FIT_POINTS and np.ptp(pred) > 1e-6 * max(float(np.abs(pred).max()), 1e-12):
        rng = np.random.default_rng(seed)
        for _ in range(iterations):
            i, j = rng.choice(n, 2, replace=False)
            if abs(pred[i] - pred[j]) < 1e-9:
                continue
            s = (target[i] - target[j]) / (pred[i] - pred[j])
            if s <= 0:
                continue
            b = target[i] - s * pred[i]
            m = inliers(s, b)
            if m.sum() > best_in.sum():
                best, best_in = (float(s), float(b)), m
        if best_in.sum() >= MIN_FIT_POINTS:
            a = np.stack([pred[best_in], np.ones(int(best_in.sum()))], axis=1)
            (s, b), *_ = np.linalg.lstsq(a, target[best_in], rcond=None)
            if s > 0 and inliers(s, b).sum() >= best_in.sum() * 0.9:
                best, best_in = (float(s), float(b)), inliers(s, b)
    s, b = best
    err = np.abs(s * pred + b - target) / target
    return DepthFit(
        scale=float(s),
        shift=float(b),
        num_points=n,
        num_inliers=int(best_in.sum()),
        median_error=float(np.median(err[best_in])) if best_in.any() else float(np.median(err)),
    )


def apply_fit(depth: np.ndarray, fit: DepthFit) -> np.ndarray:
    """(H, W) float32 depth after the fit; pixels that were invalid, or that the shift puts behind the camera,
    are 0."""
    out = fit.scale * depth.astype(np.float64) + fit.shift
    return np.where((depth > 0) & (out > 0), out, 0).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# The scene


@dataclass
class PhotoScene:
    """The photos' depths and cameras in scene units (world = the first photo's camera, 1.0 = its subject)."""

    depths: list[np.ndarray]
    """Per photo (H_i, W_i) float32 z-depth in scene units (0 = invalid)."""
    world_from_camera: np.ndarray
    """(N, 4, 4) poses; photo 0 is the identity."""
    intrinsics: np.ndarray
    """(N, 4) pixels."""
    fits: list[DepthFit]
    """Per photo: its depth fit (SfM units)."""
    subject_sfm: float
    """The first photo's subject distance in SfM units (scene unit 1.0)."""


#: Rotation-only photos: a photo must share at least this fraction of its sampled pixels with the photos before it
#: (same colour where its rays land in them), or it is refused as showing something else.
MIN_SHARED_FRACTION = 0.05


def _dense_fits(
    raw_depths: list[np.ndarray], photos: list[np.ndarray], reg: PhotoRegistration
) -> list[DepthFit]:
    """Depth scales of rotation-only photos (no sparse points): photo 0 at subject distance 1.0, each later one
    by recapture's robust alignment against the photos before it, on the pixels whose colours agree."""
    from shotsmith.geometry import subject_depth
    from shotsmith.recapture import AlignOptions, _grey, _scale_against

    opts = AlignOptions()
    rng = np.random.default_rng(opts.seed)
    intr = reg.intrinsics[0]
    cam_from_world = invert_rigid(reg.world_from_camera)
    fits = [DepthFit(1.0 / subject_depth(raw_depths[0]), 0.0, 0, 0, 0.0)]
    aligned = [raw_depths[0] * np.float32(fits[0].scale)]
    greys = [_grey(p) for p in photos]
    for i in range(1, len(raw_depths)):
        d = raw_depths[i]
        rows, cols = np.nonzero(d > 0)
        if len(rows) > opts.samples:
            pick = rng.choice(len(rows), opts.samples, replace=False)
            rows, cols = rows[pick], cols[pick]
        refs = [(aligned[r], greys[r], cam_from_world[r] @ reg.world_from_camera[i]) for r in range(i)]
        scale, shared = _scale_against(d, greys[i], rows, cols, refs, intr, 1.0 / subject_depth(d), opts)
        if shared < MIN_SHARED_FRACTION:
            raise InputError(
                f"{reg.names[i]}: shares almost nothing with the photos before it ({shared:.1%} of its pixels); "
                "give photos of the same scene with more overlap, or leave this one out"
            )
        fits.append(DepthFit(float(scale), 0.0, len(rows), int(round(shared * len(rows))), 0.0))
        aligned.append(d * np.float32(scale))
    return fits


def to_scene(
    raw_depths: list[np.ndarray], reg: PhotoRegistration, photos: list[np.ndarray] | None = None
) -> PhotoScene:
    """Each registered photo's raw depth fitted to its sparse points, then everything in scene units.

    The world is the first photo's camera (it must be registered: `reg.check()` first); the unit is the first
    photo's subject distance (`geometry.subject_depth` of its fitted depth). A rotation-only registration has no
    sparse points: its depths are aligned densely (`photos` needed), each a scale only."""
    from shotsmith.geometry import subject_depth

    reg.check()
    if reg.model == "rotation-only":
        if photos is None:
            raise ValueError("a rotation-only registration needs the photos to align their depths")
        fits = _dense_fits(raw_depths, photos, reg)
        depths = [apply_fit(d, f) for d, f in zip(raw_depths, fits, strict=True)]
        return PhotoScene(depths, reg.world_from_camera.copy(), reg.intrinsics.copy(), fits, 1.0)
    fits, fitted = [], []
    for i, depth in enumerate(raw_depths):
        pred, target = sparse_depths(reg.observations[i], reg.world_from_camera[i], depth)
        if len(pred) < MIN_FIT_POINTS:
            raise InputError(
                f"{reg.names[i]}: only {len(pred)} of the scene's sparse points land on its depth (need "
                f"{MIN_FIT_POINTS}); give photos with more overlap, or leave this one out"
            )
        fit = fit_scale_shift(pred, target)
        fits.append(fit)
        fitted.append(apply_fit(depth, fit))
    if not (fitted[0] > 0).any():
        raise InputError(
            f"{reg.names[0]}: no valid depth after fitting it to the sparse points; try another --depth"
        )
    unit = subject_depth(fitted[0])
    poses = reg.world_from_camera.copy()
    poses[:, :3, 3] /= unit
    depths = [(d / np.float32(unit)).astype(np.float32) for d in fitted]
    return PhotoScene(depths, poses, reg.intrinsics.copy(), fits, float(unit))


@dataclass
class FusedCache:
    """One point cache of several photos, in the world of the first."""

    points: np.ndarray
    """(P, 3) float32 world points."""
    colors: np.ndarray
    """(P, 3) uint8."""
    radius: np.ndarray
    """(P,) float32 world-space footprint radii (from each point's own photo)."""
    source: np.ndarray
    """(P,) int16: the photo each point came from (0 = the first)."""
    depths: list[np.ndarray]
    """Per photo (H_i, W_i) float32 depth after the flying-pixel filter (0 = no point)."""
    added: list[int]
    """Per photo: points it added (photo 0: all of its own)."""


def fuse_photos(
    scene: PhotoScene,
    photos: list[np.ndarray],
    filter_threshold: float,
    filter_mode: Literal["edges", "range"] = "edges",
    tolerance: float = FIT_INLIER_BAND,
) -> FusedCache:
    """The fused cache: photo 0's points, then each later photo's points that the photos before it do not hold.

    Each photo is a one-frame `recapture.Cache4D` (flying pixels filtered as for a video frame); a later photo's
    point is dropped when an earlier photo has a point on the same surface there, or sees farther than it
    (it sees through where the point would be: it moved, or its depth disagrees), as `recapture.accept_points`
    decides for a 4D cache's fill. `tolerance` is the relative depth band of "the same surface": by default the
    band within which the depth fits count a sparse point as agreeing (the fits are trusted to no better), so a
    later photo's slightly different depth of the same wall is not kept as a second layer behind it."""
    from shotsmith.recapture import accept_points, build_cache4d

    parts, kept_depths, added = [], [], []
    frames = []
    for i, (depth, rgb) in enumerate(zip(scene.depths, photos, strict=True)):
        frame = build_cache4d(
            depth[None],
            np.asarray(rgb, np.uint8)[None],
            scene.world_from_camera[i][None],
            scene.intrinsics[i],
            filter_threshold,
            filter_mode=filter_mode,
        )
        pts, cols, rad = frame.points(0)
        keep = np.ones(len(pts), bool)
        for prev in frames:
            keep &= accept_points(
                pts, prev.seen[0], prev.depth[0], prev.world_from_camera[0], prev.intrinsics, tolerance
            )
        frames.append(frame)
        kept_depths.append(frame.depth[0])
        parts.append((pts[keep], cols[keep], rad[keep], np.full(int(keep.sum()), i, np.int16)))
        added.append(int(keep.sum()))
    return FusedCache(
        points=np.concatenate([p[0] for p in parts]).astype(np.float32),
        colors=np.concatenate([p[1] for p in parts]).astype(np.uint8),
        radius=np.concatenate([p[2] for p in parts]).astype(np.float32),
        source=np.concatenate([p[3] for p in parts]),
        depths=kept_depths,
        added=added,
    )


def photo_path(world_from_camera: np.ndarray, num_frames: int) -> np.ndarray:
    """(num_frames, 4, 4) poses visiting the photos' cameras in order on a smooth path: positions on a
    centripetal Catmull-Rom spline through the cameras (a C1 curve through each), rotations by a smooth
    spline in quaternion space (scipy's `RotationSpline`), both at the photos' even spacing in time. Frame 0 is the
    first photo's camera and the last frame the last photo's."""
    from scipy.spatial.transform import Rotation, RotationSpline

    m = np.asarray(world_from_camera, dtype=np.float64)
    k = len(m)
    if k < 2:
        raise InputError("a path through the photos needs at least two registered photos")
    if num_frames < 2:
        raise InputError(f"--frames {num_frames}: a path through the photos needs at least 2 frames")
    knots = np.linspace(0.0, 1.0, k)
    t = np.linspace(0.0, 1.0, num_frames)
    rots = RotationSpline(knots, Rotation.from_matrix(m[:, :3, :3]))(t).as_matrix()
    pos = _catmull_rom(m[:, :3, 3], t)
    out = np.tile(np.eye(4), (num_frames, 1, 1))
    out[:, :3, :3] = rots
    out[:, :3, 3] = pos
    out[0], out[-1] = m[0], m[-1]
    return out


def _catmull_rom(points: np.ndarray, t: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Positions at normalised times t on a centripetal Catmull-Rom spline through (K, 3) points at even knots
    (end tangents from reflected end points)."""
    p = np.asarray(points, np.float64)
    k = len(p)
    ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    seg = np.minimum((t * (k - 1)).astype(int), k - 2)
    local = t * (k - 1) - seg
    out = np.empty((len(t), 3))
    for s in np.unique(seg):
        p0, p1, p2, p3 = ext[s], ext[s + 1], ext[s + 2], ext[s + 3]

        def knot(ti: float, a: np.ndarray, b: np.ndarray) -> float:
            return ti + max(float(np.linalg.norm(b - a)) ** alpha, 1e-9)

        t0 = 0.0
        t1 = knot(t0, p0, p1)
        t2 = knot(t1, p1, p2)
        t3 = knot(t2, p2, p3)
        sel = seg == s
        u = (t1 + local[sel] * (t2 - t1))[:, None]
        a1 = (t1 - u) / (t1 - t0) * p0 + (u - t0) / (t1 - t0) * p1
        a2 = (t2 - u) / (t2 - t1) * p1 + (u - t1) / (t2 - t1) * p2
        a3 = (t3 - u) / (t3 - t2) * p2 + (u - t2) / (t3 - t2) * p3
        b1 = (t2 - u) / (t2 - t0) * a1 + (u - t0) / (t2 - t0) * a2
        b2 = (t3 - u) / (t3 - t1) * a2 + (u - t1) / (t3 - t1) * a3
        out[sel] = (t2 - u) / (t2 - t1) * b1 + (u - t1) / (t2 - t1) * b2
    return out
