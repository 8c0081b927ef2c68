"""Camera file formats: shotsmith's trajectory.json and adapters for other tools' camera files.

Public API: `read_trajectory` / `write_trajectory` (our trajectory.json), `opengl_from_opencv` /
`opencv_from_opengl` (the only axis conversion of the code base), `read_camera_file` / `read_camera_rig` /
`write_camera_file` for every format of `FORMATS`, `detect_format` (from content) and `guess_output_format`
(from a file name). Each format lives in its own module; docs/FORMATS.md describes them. This package knows
nothing of workspaces and writes only the path it is given (atomic replacement is the caller's job).
"""

from __future__ import annotations

from pathlib import Path

from shotsmith.camera import CameraPath, relative_to_first
from shotsmith.errors import FormatError
from shotsmith.formats import camera_path as _camera_path
from shotsmith.formats import colmap as _colmap
from shotsmith.formats import gen3c as _gen3c
from shotsmith.formats import gen3c_gui as _gen3c_gui
from shotsmith.formats import re10k as _re10k
from shotsmith.formats import transforms as _transforms
from shotsmith.formats import ue as _ue
from shotsmith.formats._io import DEFAULT_FPS, DEFAULT_SIZE, check_exists, fail, load_json
from shotsmith.formats.axes import opencv_from_opengl, opengl_from_opencv
from shotsmith.formats.imported import declared_units
from shotsmith.formats.transforms import read_trajectory, write_trajectory
from shotsmith.formats.ue import opencv_from_ue, ue_from_opencv

#: Format name -> what it is. Names are what `--from` / `--to` accept (plus `ALIASES`).
FORMATS: dict[str, str] = {
    "transforms": "nerfstudio / instant-ngp transforms.json: shotsmith trajectory.json, GenDoP (OpenGL c2w)",
    "camera_path": "nerfstudio camera_path.json (viewer export, ns-render; OpenGL c2w, vertical fov)",
    "re10k": "RealEstate10K / CameraCtrl / CamI2V text (URL line, normalised K, w2c 3x4)",
    "gen3c": "GEN3C camera.npz (w2c, K in pixels); reads ViPE pose npz too",
    "gen3c_path": "GEN3C GUI camera path cam.json (keyframes R xyzw, T, vertical fov; GEN3C's spline)",
    "gen3c_cameras": "GEN3C GUI Export-cameras cam_export.json (3x4 c2w per frame, resolution, fps)",
    "ue": "ReCamMaster / SynCamMaster Unreal-Engine JSON (row-vector strings, cm, left-handed)",
    "colmap": "COLMAP sparse model folder (cameras/images .bin or .txt, via pycolmap)",
}
#: Other names accepted for a format, with the options they imply.
ALIASES: dict[str, tuple[str, dict]] = {
    "trajectory": ("transforms", {}),
    "nerfstudio": ("transforms", {}),
    "gendop": ("transforms", {}),
    "realestate10k": ("re10k", {}),
    "cameractrl": ("re10k", {}),
    "cami2v": ("re10k", {}),
    "vipe": ("gen3c", {}),
    "gen3c_gui": ("gen3c_path", {}),
    "cam_export": ("gen3c_cameras", {}),
    "recammaster": ("ue", {"ue_scale": _ue.UE_SCALES["recammaster"]}),
    "syncammaster": ("ue", {"ue_scale": _ue.UE_SCALES["syncammaster"]}),
}

__all__ = [
    "ALIASES",
    "DEFAULT_FPS",
    "DEFAULT_SIZE",
    "FORMATS",
    "detect_format",
    "file_units",
    "guess_output_format",
    "opencv_from_opengl",
    "opencv_from_ue",
    "opengl_from_opencv",
    "read_camera_file",
    "read_camera_rig",
    "read_trajectory",
    "resolve_format",
    "ue_from_opencv",
    "write_camera_file",
    "write_trajectory",
]

_READERS = {
    "transforms": _transforms.read_trajectory,
    "camera_path": _camera_path.read_camera_path,
    "re10k": _re10k.read_re10k,
    "gen3c": _gen3c.read_gen3c,
    "gen3c_path": _gen3c_gui.read_gen3c_path,
    "gen3c_cameras": _gen3c_gui.read_gen3c_cameras,
    "colmap": _colmap.read_colmap,
}
_WRITERS = {
    "transforms": _transforms.write_trajectory,
    "camera_path": _camera_path.write_camera_path,
    "re10k": _re10k.write_re10k,
    "gen3c": _gen3c.write_gen3c,
    "gen3c_path": _gen3c_gui.write_gen3c_path,
    "gen3c_cameras": _gen3c_gui.write_gen3c_cameras,
    "colmap": _colmap.write_colmap,
}


def resolve_format(fmt: str) -> tuple[str, dict]:
    """(format name, implied options) for a name of `FORMATS` or `ALIASES` (case-insensitive, '-' = '_')."""
    key = fmt.strip().lower().replace("-", "_")
    if key in FORMATS:
        return key, {}
    if key in ALIASES:
        return ALIASES[key]
    raise FormatError(f"unknown camera format {fmt!r}; choose one of {', '.join([*FORMATS, *ALIASES])}")


def detect_format(path) -> str:
    """The format of the file or folder at `path`, told from its content (not its extension)."""
    path = Path(path)
    check_exists(path)
    if path.is_dir() or path.name in ("cameras.bin", "images.bin", "cameras.txt", "images.txt"):
        if _colmap.model_folder(path) is not None:
            return "colmap"
        raise fail(
            path, "", "is a folder without a COLMAP model (cameras.bin/images.bin or .txt, or sparse/0)"
        )
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head.strip():
        raise fail(path, "", "the file is empty; give a camera file (trajectory.json, RealEstate10K txt...)")
    if head.startswith(b"PK"):
        keys = _gen3c.npz_keys(path)
        if _gen3c.looks_like(keys):
            return "gen3c"
        raise fail(
            path,
            "",
            f"an archive without GEN3C keys 'w2c'/'intrinsics' or ViPE 'inds'/'data' (has {sorted(keys or [])})",
        )
    text = head.decode("utf-8", errors="replace")
    if text.lstrip().startswith(("{", "[")):
        data = load_json(path)
        for name, module in (("transforms", _transforms), ("camera_path", _camera_path), ("ue", _ue)):
            if module.looks_like(data):
                return name
        if _gen3c_gui.looks_like_path(data):
            return "gen3c_path"
        if _gen3c_gui.looks_like_cameras(data):
            return "gen3c_cameras"
        if isinstance(data, dict) and "frames" in data:
            return "transforms"  # a broken transforms file: its reader names the bad frame or key
        keys = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
        raise fail(
            path,
            "",
            f"a JSON file of no known camera layout (top-level keys {keys}); expected "
            "'frames' (transforms), 'camera_path' (nerfstudio) or 'frame0' (Unreal)",
        )
    if _re10k.looks_like(text):
        return "re10k"
    raise fail(
        path,
        "",
        f"cannot tell the camera format from the content; expected one of {', '.join(FORMATS)} "
        "(name it with --from)",
    )


def guess_output_format(path) -> str:
    """The format to write to `path`, from its name: *camera_path*.json -> camera_path, *camera_extrinsics*.json
    -> ue, other .json -> transforms, .txt -> re10k, .npz -> gen3c, no extension (a folder) -> colmap."""
    path = Path(path)
    name, suffix = path.name.lower(), path.suffix.lower()
    if suffix == ".json":
        if "camera_path" in name:
            return "camera_path"
        if "camera_extrinsics" in name:
            return "ue"
        if "cam_export" in name:
            return "gen3c_cameras"
        if name == "cam.json" or "gen3c_path" in name:
            return "gen3c_path"
        return "transforms"
    by_suffix = {".txt": "re10k", ".npz": "gen3c", "": "colmap"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    raise FormatError(
        f"{path}: cannot tell the output format from the extension {suffix!r}; "
        f"pass --to ({', '.join(FORMATS)})"
    )


def read_camera_file(
    path,
    fmt: str | None = None,
    *,
    camera: str | None = None,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    ue_scale: float | None = None,
    relative: bool | None = None,
) -> CameraPath:
    """Read one camera path from a file of any format in `FORMATS` (detected from content when `fmt` is None).

    `camera` picks one camera of a multi-camera file ("5", "05" or "cam05"); required when there are several.
    `width`/`height`/`fps` override (or stand in for) what the file says. `relative` re-expresses the path in
    its first camera's frame; the default is True for UE files (arbitrary worlds), False otherwise.
    """
    path = Path(path)
    name, options = resolve_format(fmt) if fmt is not None else (detect_format(path), {})
    scale = ue_scale or options.get("ue_scale", _ue.DEFAULT_UE_SCALE)
    if name == "ue":
        return _ue.read_ue_camera(
            path,
            camera,
            scale=scale,
            relative=True if relative is None else relative,
            width=width,
            height=height,
            fps=fps,
        )
    if camera is not None and _ue_camera_number(camera) != 1:
        raise fail(path, "", f"a {name} file holds one camera; --camera {camera!r} does not apply")
    cam = _READERS[name](path, width=width, height=height, fps=fps)
    return relative_to_first(cam) if relative else cam


def file_units(path, fmt: str | None = None, *, ue_scale: float | None = None) -> str | None:
    """The units a camera file says its translations are in: "scene" (shotsmith's trajectory.json, whose
    `shotsmith.units` is "subject_distance"), "metres" (a trajectory.json saying so; ReCamMaster's Unreal JSON,
    centimetres / 100), or None when the file does not say (RealEstate10K, GEN3C, COLMAP, GenDoP...)."""
    path = Path(path)
    name, options = resolve_format(fmt) if fmt is not None else (detect_format(path), {})
    if name == "transforms":
        data = load_json(path)
        block = data.get("shotsmith") if isinstance(data, dict) else None
        return (
            declared_units({"units": block.get("units", _transforms.UNITS)})
            if isinstance(block, dict)
            else None
        )
    if name == "ue":
        scale = ue_scale or options.get("ue_scale", _ue.DEFAULT_UE_SCALE)
        return "metres" if scale == _ue.UE_SCALES["recammaster"] else None
    return None


def read_camera_rig(
    path,
    fmt: str | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    ue_scale: float | None = None,
    relative: bool | None = None,
) -> dict[str, CameraPath]:
    """All cameras of a file, name -> path (a single-camera format gives {"cam01": path}).

    For UE files with `relative` (default) every camera is expressed in the frame of the first camera's first
    frame, so the rig keeps its shape.
    """
    path = Path(path)
    name, options = resolve_format(fmt) if fmt is not None else (detect_format(path), {})
    if name == "ue":
        scale = ue_scale or options.get("ue_scale", _ue.DEFAULT_UE_SCALE)
        return _ue.read_ue_rig(
            path,
            scale=scale,
            relative=True if relative is None else relative,
            width=width,
            height=height,
            fps=fps,
        )
    return {"cam01": read_camera_file(path, name, width=width, height=height, fps=fps, relative=relative)}


def write_camera_file(
    path, cam_or_rig: CameraPath | dict[str, CameraPath], fmt: str, *, ue_scale: float | None = None
) -> None:
    """Write a camera path (or, for "ue", a rig name -> path) to `path` in format `fmt`."""
    path = Path(path)
    name, options = resolve_format(fmt)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_camera_file(path, cam_or_rig, name, options, ue_scale)
    except OSError as exc:
        why = "part of the path is a file, not a folder" if _is_file_in_path(exc) else exc.strerror or exc
        raise fail(path, "", f"cannot write it ({why}); choose another output path") from exc


def _is_file_in_path(exc: OSError) -> bool:
    """True when `exc` says a folder of the path is a file (mkdir's EEXIST, open's ENOTDIR)."""
    return isinstance(exc, FileExistsError | NotADirectoryError)


def _write_camera_file(path: Path, cam_or_rig, name: str, options: dict, ue_scale: float | None) -> None:
    if name == "ue":
        rig = cam_or_rig if isinstance(cam_or_rig, dict) else {"cam01": cam_or_rig}
        _ue.write_ue(path, rig, scale=ue_scale or options.get("ue_scale", _ue.DEFAULT_UE_SCALE))
        return
    cam = cam_or_rig
    if isinstance(cam_or_rig, dict):
        if len(cam_or_rig) != 1:
            raise fail(
                path,
                "",
                f"a {name} file holds one camera, got {len(cam_or_rig)} "
                f"({', '.join(cam_or_rig)}); choose one with --camera",
            )
        cam = next(iter(cam_or_rig.values()))
    _WRITERS[name](path, cam)


def _ue_camera_number(camera: str) -> int | None:
    digits = camera.strip().lower().removeprefix("cam")
    return int(digits) if digits.isdigit() else None
