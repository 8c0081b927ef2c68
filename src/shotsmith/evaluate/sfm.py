"""COLMAP's side of pose estimation (pycolmap): options, scratch database, features, matches and the mapper.

Frames -> plain SIFT -> sequential matching -> a mapper (global or
incremental) with the intrinsics fixed to the plan's (one SIMPLE_PINHOLE camera) -> camera-to-world poses
relative to the first registered frame, one `SfmTrial` per mapper seed (docs/EVALUATION.md explains each
choice). pycolmap is imported inside the functions that need it, through `require_pycolmap`. The whole
estimate, with the rotation-only fallback, is `shotsmith.evaluate.poses.estimate_poses`.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from shotsmith.camera import invert_rigid
from shotsmith.errors import BackendUnavailable, InputError

Mapper = Literal["global", "incremental"]
MAPPERS: tuple[str, ...] = ("global", "incremental")
INSTALL_HINT = "pip install 'shotsmith[eval]'  (pycolmap==4.2.1)"


@dataclass(frozen=True)
class SfmOptions:
    """How poses are estimated from frames (docs/EVALUATION.md explains each choice)."""

    mapper: Mapper = "global"
    """"global": COLMAP 4's global mapper (GLOMAP, CamI2V's choice); "incremental": COLMAP's incremental one."""
    max_image_size: int = 560
    """Frames are analysed at most this many pixels on their longer side (COLMAP rescales the keypoints back
    to full resolution, so the intrinsics stay the plan's). -1 keeps the full size. 560 rather than 640 cuts
    bench_evaluate's move path from 26.2 to 22.1 CPU s with no worse RotErr; 480 would cut more but the
    rotation-only check's RotErr on the pan path grows past issue 19's +10 % (docs/EVALUATION.md)."""
    max_num_features: int = 4096
    """SIFT features kept per frame (COLMAP's default is 8192; 4096 keeps 81 frames under the time target)."""
    overlap: int = 7
    """Sequential matching: each frame is matched with this many following frames, plus (quadratic overlap)
    the frames 2^k on for k < overlap. CamI2V's 10 cost more matching for no better RotErr on
    bench/bench_evaluate.py's room; 7 still reaches 64 frames on, so the rotation-only check keeps its widest
    pairs on 81 frames (5 stopped at 16); 3 lost the moving path's reconstruction."""
    quadratic_overlap: bool = True
    """Sequential matching also pairs each frame with the ones 2, 4, 8 ... frames on (COLMAP's default on)."""
    guided_matching: bool = False
    """Re-match each pair under its verified epipolar geometry (CamI2V: on). Off: matching took ~1.3x as long
    with it and RotErr was no better (0.00108 with, 0.00098 rad per frame without, moving room)."""
    max_num_matches: int = 65536
    """Matches per pair, as CamI2V sets it."""
    ransac_min_trials: int = 10
    """Geometric verification: the fewest RANSAC trials of each pair's E, F and H fits (COLMAP's default 100).
    The trial count still grows to reach COLMAP's 0.999 confidence for the pair's inlier ratio (about 650
    trials for E at half inliers), so the floor only binds above ~96 % inliers, where 10 trials already reach
    that confidence. Sequential pairs of a video are mostly inliers: the floor of 100 made verification ~60 %
    of matching's time (bench/bench_evaluate.py move path: matching 7.6 -> 4.3 CPU s, RotErr per frame
    0.00104 both). The rotation-only check reads the raw matches, so it is not affected."""
    affine_shape: bool = False
    """SiftExtraction.estimate_affine_shape. CamI2V turns it on; off here: it and domain-size pooling force
    COLMAP's slower covariant SIFT (extraction took ~1.7x as long) and, on bench/bench_evaluate.py's room, the
    plain detector gave a lower RotErr (0.00120 vs 0.00164 rad per frame moving, 0.00009 vs 0.00011 panning)."""
    domain_size_pooling: bool = False
    """SiftExtraction.domain_size_pooling (CamI2V: on; off here for the same reason as `affine_shape`)."""
    first_octave: int = 0
    """SiftExtraction.first_octave. COLMAP's default -1 upsamples each (already downscaled) frame 2x before the
    first octave: extraction took ~4x as long and found finer features than the matching needs (RotErr 0.00122
    with -1, 0.00131 rad per frame with 0, moving room, before the other changes)."""
    ba_num_iterations: int = 1
    """Global mapper: rounds of bundle adjustment and track filtering (COLMAP's default 3; on the room the
    second round stopped at once: fewer than 0.1 % tracks filtered)."""
    retriangulation: bool = False
    """Global mapper: retriangulate and refine after bundle adjustment (COLMAP's default on; ~30 % of the
    mapper's time, and RotErr was no better with it on the bench's room)."""
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
    points3d: np.ndarray | None = None
    """(P, 3) the reconstruction's sparse points in the world of `world_from_camera` (SfM scale)."""

    @property
    def registered_fraction(self) -> float:
        return float(np.mean(self.registered)) if len(self.registered) else 0.0


def require_pycolmap():
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
    """Write (T, H, W, 3) uint8 frames as 000.bmp, 001.bmp ... (4 digits past 999), grey; returns the names.

    Uncompressed BMP, not PNG: the same pixels (both lossless) without zlib on the way out and back in COLMAP's
    reader (PNG took ~2 CPU-s of 81 frames at 832x480, about 8 % of the whole estimate). Grey, converted by
    COLMAP's own `Bitmap.clone_as_grey` (what its reader does to a colour file before SIFT, checked equal for
    all 2^24 colours): the same features from a third of the bytes written and read."""
    from PIL import Image

    pycolmap = require_pycolmap()
    folder.mkdir(parents=True, exist_ok=True)
    digits = max(3, len(str(len(frames) - 1)))
    names = []
    for i, frame in enumerate(frames):
        name = f"{i:0{digits}d}.bmp"
        rgb = np.ascontiguousarray(frame, dtype=np.uint8)
        grey = pycolmap.Bitmap.from_array(rgb).clone_as_grey().to_array()
        Image.fromarray(np.ascontiguousarray(grey.reshape(rgb.shape[:2]))).save(folder / name)
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
    """Write the frames, extract SIFT with the plan's intrinsics fixed and match them sequentially."""
    pycolmap = require_pycolmap()
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
    extraction.sift.first_octave = options.first_octave
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
    matching.guided_matching = options.guided_matching
    matching.max_num_matches = options.max_num_matches
    matching.num_threads = options.num_threads
    pairing = pycolmap.SequentialPairingOptions()
    pairing.overlap = options.overlap
    pairing.quadratic_overlap = options.quadratic_overlap
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.min_num_trials = options.ransac_min_trials
    pycolmap.match_sequential(
        db,
        matching_options=matching,
        pairing_options=pairing,
        verification_options=verification,
        device=pycolmap.Device.cpu,
    )
    return FeatureDatabase(folder, db, images, names, t1 - t0, time.perf_counter() - t1)


def _mapper_options(pycolmap, options: SfmOptions, seed: int):
    if options.mapper == "global":
        opts = pycolmap.GlobalPipelineOptions()
        opts.random_seed = seed
        opts.num_threads = options.num_threads
        opts.mapper.random_seed = seed
        opts.mapper.ba_num_iterations = options.ba_num_iterations
        opts.mapper.skip_retriangulation = not options.retriangulation
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


def _no_images(features: FeatureDatabase) -> Path:
    """An empty image folder for the global mapper: it then skips reading every frame back for point colours,
    which nothing here uses (~1 s of 81 frames)."""
    folder = features.folder / "no-images"
    folder.mkdir(exist_ok=True)
    return folder


def run_mapper(features: FeatureDatabase, options: SfmOptions, seed: int) -> SfmTrial:
    """One mapper run on the matched features; a failed reconstruction is a failed trial, not an exception."""
    pycolmap = require_pycolmap()
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
            recs = pycolmap.global_mapping(features.database, _no_images(features), out, options=opts)
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
    first_from_world = invert_rigid(poses[first])
    poses[reg] = first_from_world @ poses[reg]
    xyz = np.array([p.xyz for p in rec.points3D.values()], np.float64).reshape(-1, 3)
    return SfmTrial(
        seed=seed,
        ok=True,
        registered=reg,
        world_from_camera=poses,
        reprojection_error_px=float(rec.compute_mean_reprojection_error()),
        num_points3d=int(rec.num_points3D()),
        num_models=len(recs),
        seconds=seconds,
        points3d=xyz @ first_from_world[:3, :3].T + first_from_world[:3, 3],
    )


@contextlib.contextmanager
def colmap_log_level(pycolmap, level: int = 2):
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
