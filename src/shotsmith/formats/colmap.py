"""COLMAP sparse models (a folder with cameras/images .bin or .txt), read and written through pycolmap.

COLMAP stores per image `cam_from_world` (world-to-camera, OpenCV camera axes, quaternion + translation) and per
camera a model with pixel intrinsics whose principal point uses the same pixel-centre convention as ours. We
read the registered images sorted by name and keep the pinhole part of the camera model: distortion parameters
are ignored (noted in `meta["distortion_ignored"]`). Writing makes one PINHOLE camera (one per frame when the
intrinsics vary) and images named 00000.png, 00001.png, ... This module owns that mapping; pycolmap is
imported lazily.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, invert_rigid
from shotsmith.formats._io import DEFAULT_FPS, check_exists, fail, make_camera_path

#: Camera models read as pinholes (their distortion, if any, is ignored).
PINHOLE_MODELS = ("SIMPLE_PINHOLE", "PINHOLE", "SIMPLE_RADIAL", "RADIAL", "OPENCV", "FULL_OPENCV")
_PINHOLE_PARAMS = {
    "SIMPLE_PINHOLE": 3,
    "PINHOLE": 4,
    "SIMPLE_RADIAL": 3,
    "RADIAL": 3,
    "OPENCV": 4,
    "FULL_OPENCV": 4,
}


def model_folder(path: Path) -> Path | None:
    """The folder holding cameras.{bin,txt} and images.{bin,txt} for `path` (itself, sparse/0, 0, or the parent
    of a cameras/images file), or None."""
    candidates = (
        [path.parent] if path.is_file() else [path, path / "sparse" / "0", path / "sparse", path / "0"]
    )
    for folder in candidates:
        for ext in ("bin", "txt"):
            if (folder / f"cameras.{ext}").is_file() and (folder / f"images.{ext}").is_file():
                return folder
    return None


def read_colmap(path, *, width=None, height=None, fps=None) -> CameraPath:
    """Read a COLMAP model as a `CameraPath`: registered images sorted by name, absolute poses as stored."""
    path = Path(path)
    check_exists(path)
    folder = model_folder(path)
    if folder is None:
        raise fail(path, "", "no COLMAP model: expected cameras.bin/images.bin (or .txt) here or in sparse/0")
    pycolmap = _pycolmap()
    try:
        rec = pycolmap.Reconstruction(str(folder))
    except Exception as exc:  # pycolmap raises plain RuntimeError / ValueError on corrupt files
        raise fail(folder, "", f"pycolmap cannot read the model ({exc})") from None
    images = sorted((im for im in rec.images.values() if im.has_pose), key=lambda im: im.name)
    if not images:
        raise fail(folder, "images", "no registered image with a pose")
    mats = np.empty((len(images), 4, 4))
    intr = np.empty((len(images), 4))
    sizes, ignored = set(), set()
    for i, im in enumerate(images):
        cam = rec.cameras[im.camera_id]
        model = cam.model.name
        if model not in PINHOLE_MODELS:
            raise fail(
                folder,
                f"camera {im.camera_id}",
                f"unsupported camera model {model}; expected one of "
                f"{', '.join(PINHOLE_MODELS)} (undistort the images first)",
            )
        if np.any(np.asarray(cam.params)[_PINHOLE_PARAMS[model] :] != 0):
            ignored.add(model)
        mats[i] = np.eye(4)
        mats[i, :3, :] = im.cam_from_world().matrix()
        intr[i] = [cam.focal_length_x, cam.focal_length_y, cam.principal_point_x, cam.principal_point_y]
        sizes.add((cam.width, cam.height))
    if len(sizes) > 1:
        raise fail(folder, "cameras", f"images have different sizes {sorted(sizes)}; expected one size")
    w, h = sizes.pop()
    meta = {"format": "colmap", "file": str(folder), "images": [im.name for im in images]}
    if ignored:
        meta["distortion_ignored"] = sorted(ignored)
    cam_path = make_camera_path(
        folder,
        invert_rigid(mats),
        intr,
        w,
        h,
        DEFAULT_FPS if fps is None else fps,
        meta,
        frame_label=lambda i: f"image {images[i].name!r}",
    )
    if width is not None or height is not None:
        cam_path = cam_path.with_size(width or w, height or h)
    return cam_path


def write_colmap(path, cam: CameraPath) -> None:
    """Write `cam` as a binary COLMAP model in folder `path` (created), PINHOLE cameras, no points."""
    pycolmap = _pycolmap()
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise fail(folder, "", "exists and is not a folder; a COLMAP model is a folder")
    folder.mkdir(parents=True, exist_ok=True)
    rec = pycolmap.Reconstruction()
    constant = bool((cam.intrinsics == cam.intrinsics[0]).all())
    cam_from_world = cam.camera_from_world
    for i in range(len(cam)):
        camera_id = 1 if constant else i + 1
        if i == 0 or not constant:
            camera = pycolmap.Camera(
                model="PINHOLE",
                width=cam.width,
                height=cam.height,
                params=[float(v) for v in cam.intrinsics[i]],
                camera_id=camera_id,
            )
            rec.add_camera_with_trivial_rig(camera)
        image = pycolmap.Image(name=f"{i:05d}.png", camera_id=camera_id, image_id=i + 1)
        rec.add_image_with_trivial_frame(image, pycolmap.Rigid3d(cam_from_world[i, :3, :]))
    rec.write(str(folder))


def _pycolmap():
    try:
        import pycolmap
    except ImportError:
        from shotsmith.errors import BackendUnavailable

        raise BackendUnavailable("COLMAP models need pycolmap: pip install pycolmap") from None
    return pycolmap
