"""GEN3C's interactive GUI (an instant-ngp fork): its camera-path JSON ("Save"/"Load") and its "Export cameras" file.

**Path JSON** (instant-ngp `CameraPath::save`, GEN3C's default name `cam.json`): `{"loop": bool, "time": float,
"path": [{"R": [x, y, z, w], "T": [x, y, z], "fov": degrees, "timestamp": seconds}], "duration_seconds",
"spline_order"}`. `R` is the quaternion (scalar last, tiny-cuda-nn's JSON order) of the keyframe's
camera-to-world rotation, `T` the camera centre; camera axes are OpenCV (x right, y down, z forward, the GUI's
`m_camera` columns) and for a single seeding image the world is the source camera, as ours. `fov` is the
**vertical** field of view (the GUI's `fov_axis` is 1). The path between keyframes is GEN3C's own spline, evaluated
here exactly as `CameraPath::eval_camera_path` does: order 3 a uniform cubic B-spline over the keyframes
(smooth, it does not pass through interior keyframes), 2 quadratic, 1 linear, 0 nearest; quaternions are summed
with the sign of the running sum (`CameraKeyframe::operator+`) and normalised. Keyframe k is reached at
timestamp[k-1] (0 for the first) over a play time of timestamp[-2] (timestamp[-1] when looping); invalid
(non-increasing) timestamps are spread evenly, as the GUI's `sanitize_keyframes` does. The file has no frame
rate nor image size: reading samples round(duration_seconds * fps) frames (at least 2) at evenly spaced play
times from 0 to 1 inclusive; fps and size are the caller's, else the extra keys we write, else 16 fps and
832x480. Writing stores every frame as a keyframe with `spline_order` 1 (linear), so GEN3C replays exactly our
frames, plus `fps` and `resolution` keys that GEN3C ignores.

**Export cameras** (the GUI's "Export cameras" button, default `cam_export.json`): `{"cameras": [{"start": M,
"end": M}], "resolution": [w, h], "duration_seconds", "fps", "spp", "quality", "shutter_fraction"}` where each M
is a 3x4 matrix as three rows: camera-to-world (OpenCV axes), or world-to-camera when the GUI's "W2C" box was
ticked, which the file does not record: we read camera-to-world unless a `"w2c": true` key says otherwise (we
write one). `start` is the frame's camera (`end` the camera a shutter fraction later; not read). The file has no
field of view: the GUI's default vertical 50.625 degrees is used unless a camera carries a `fov` key (we write
one). Units are the GEN3C scene's, kept as they are (metres for its MoGe depth), like `formats.gen3c`.
This module owns both layouts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shotsmith.camera import CameraPath, fov_from_focal, invert_rigid, make_pose
from shotsmith.formats._io import (
    DEFAULT_FPS,
    as_matrix,
    as_number,
    dump_json,
    fail,
    get_key,
    load_json,
    make_camera_path,
    pose_from_3x4,
    resolve_size,
)

#: The GEN3C GUI's default vertical field of view (`Testbed::reset_camera`), used when a file has none.
GEN3C_DEFAULT_VFOV = 50.625
#: What the GUI does with paths whose timestamps are invalid (`CameraPath::default_duration_seconds`).
GEN3C_DEFAULT_DURATION = 3.0
SPLINE_ORDERS = (0, 1, 2, 3)


def looks_like_path(data) -> bool:
    """A GEN3C GUI path JSON: a `path` list of keyframes with `R` and `T`."""
    if not isinstance(data, dict) or not isinstance(data.get("path"), list):
        return False
    first = data["path"][0] if data["path"] else {}
    return not data["path"] or (isinstance(first, dict) and "R" in first and "T" in first)


def looks_like_cameras(data) -> bool:
    """A GEN3C GUI "Export cameras" file: a `cameras` list of `{start, end}`."""
    if not isinstance(data, dict) or not isinstance(data.get("cameras"), list):
        return False
    first = data["cameras"][0] if data["cameras"] else {}
    return isinstance(first, dict) and "start" in first


# ---------------------------------------------------------------------------------------------------------------
# GEN3C's keyframe spline (instant-ngp camera_path.cu), on arrays: R (4,) xyzw, T (3,), fov, as one (8,) vector


def _combine(terms: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """sum_i w_i * k_i with GEN3C's quaternion sign rule, left to right (`operator*`, `operator+`), normalised."""
    acc = terms[0][0] * terms[0][1]
    for k, w in terms[1:]:
        rhs = k * w
        if float(np.dot(rhs[:4], acc[:4])) < 0.0:
            rhs = rhs.copy()
            rhs[:4] = -rhs[:4]
        acc = acc + rhs
    out = acc.copy()
    norm = np.linalg.norm(out[:4])
    out[:4] = out[:4] / norm if norm > 0 else np.array([0.0, 0.0, 0.0, 1.0])
    return out


def _spline(order: int, t: float, ks: list[np.ndarray]) -> np.ndarray:
    if order == 0:
        return ks[1] if t < 0.5 else ks[2]  # get_keyframe(i + round(t)); round half away from zero
    if order == 1:
        return _combine([(ks[1], 1.0 - t), (ks[2], t)])
    if order == 2:
        tt = t * t
        return _combine(
            [(ks[0], (1 - t) ** 2 * 0.5), (ks[1], (-2 * tt + 2 * t + 1) * 0.5), (ks[2], tt * 0.5)]
        )
    tt, ttt = t * t, t * t * t
    a = (1 - t) ** 3 / 6.0
    b = (3 * ttt - 6 * tt + 4) / 6.0
    c = (-3 * ttt + 3 * tt + 3 * t + 1) / 6.0
    d = ttt / 6.0
    return _combine([(ks[0], a), (ks[1], b), (ks[2], c), (ks[3], d)])


def equidistant_timestamps(n: int, duration: float) -> np.ndarray:
    """GEN3C's `make_keyframe_timestamps_equidistant`: keyframe i at duration * (i + 1) / n."""
    d = duration if duration > 0 else GEN3C_DEFAULT_DURATION
    return d * (np.arange(n) + 1) / n


def evaluate_path(
    keys: np.ndarray, timestamps: np.ndarray, play_times: np.ndarray, order: int = 3, loop: bool = False
) -> np.ndarray:
    """GEN3C's `eval_camera_path` at each play time in [0, 1]: (T, 8) rows of R (xyzw), T (xyz), fov.

    `keys` (K, 8) keyframes as R (xyzw), T, fov; `timestamps` (K,) strictly increasing seconds."""
    n = len(keys)
    out = np.empty((len(play_times), 8))
    if n == 1:
        out[:] = keys[0]
        return out

    def key(i: int) -> np.ndarray:
        return keys[(i + n) % n] if loop else keys[min(max(i, 0), n - 1)]

    duration = timestamps[-1] if loop else timestamps[-2]
    for j, play in enumerate(play_times):
        p = float(play) * duration
        i = int(np.searchsorted(timestamps, p, side="right"))  # std::upper_bound
        i = min(max(i, 0), n - (1 if loop else 2))
        prev = 0.0 if i == 0 else timestamps[i - 1]
        t = (p - prev) / (timestamps[i] - prev)
        out[j] = _spline(order, t, [key(i - 1), key(i), key(i + 1), key(i + 2)])
    return out


# ---------------------------------------------------------------------------------------------------------------
# Path JSON


def _keyframes(path: Path, data: dict) -> tuple[np.ndarray, np.ndarray]:
    frames = get_key(path, data, "path")
    if not isinstance(frames, list) or not frames:
        raise fail(path, "path", "expected a non-empty list of keyframes {R, T, fov, timestamp}")
    keys = np.empty((len(frames), 8))
    stamps = np.zeros(len(frames))
    for i, kf in enumerate(frames):
        where = f"path[{i}]"
        q = as_matrix(path, get_key(path, kf, "R", where), f"{where}.R", shapes=((4,),))
        if np.linalg.norm(q) < 1e-12:
            raise fail(path, f"{where}.R", "is a zero quaternion; expected [x, y, z, w] of a rotation")
        keys[i, :4] = q / np.linalg.norm(q)
        keys[i, 4:7] = as_matrix(path, get_key(path, kf, "T", where), f"{where}.T", shapes=((3,),))
        fov = as_number(path, get_key(path, kf, "fov", where), f"{where}.fov", positive=True)
        if fov >= 180:
            raise fail(
                path, f"{where}.fov", f"expected a vertical field of view below 180 degrees, got {fov}"
            )
        keys[i, 7] = fov
        if "timestamp" in kf:
            stamps[i] = as_number(path, kf["timestamp"], f"{where}.timestamp")
    return keys, stamps


def read_gen3c_path(path, *, width=None, height=None, fps=None) -> CameraPath:
    """Read a GEN3C GUI camera-path JSON as a `CameraPath`, sampling GEN3C's own spline (module docstring)."""
    from scipy.spatial.transform import Rotation

    path = Path(path)
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("path"), list):
        raise fail(
            path, "path", "expected a GEN3C GUI camera path with a 'path' list of {R, T, fov} keyframes"
        )
    keys, stamps = _keyframes(path, data)
    loop = bool(data.get("loop", False))
    order = data.get("spline_order", 3)
    if isinstance(order, bool) or order not in SPLINE_ORDERS:
        raise fail(path, "spline_order", f"expected 0, 1, 2 or 3, got {order!r}")
    duration = data.get("duration_seconds")
    duration = float(stamps[-1]) if duration is None else as_number(path, duration, "duration_seconds")
    if not (np.diff(stamps) > 0).all() or stamps[0] <= 0:
        stamps = equidistant_timestamps(len(keys), GEN3C_DEFAULT_DURATION)  # the GUI's sanitize_keyframes
        duration = GEN3C_DEFAULT_DURATION
    if fps is None:
        fps = as_number(path, data["fps"], "fps", positive=True) if "fps" in data else DEFAULT_FPS
    file_size = None
    if "resolution" in data:
        res = as_matrix(path, data["resolution"], "resolution", shapes=((2,),))
        file_size = (int(res[0]), int(res[1]))
    w, h = resolve_size(width, height, file_size)
    n = 1 if len(keys) == 1 else max(2, int(round(duration * fps)))
    rows = evaluate_path(keys, stamps, np.linspace(0.0, 1.0, n), int(order), loop)
    rot = Rotation.from_quat(rows[:, :4]).as_matrix()
    focal = 0.5 * h / np.tan(np.radians(rows[:, 7]) / 2.0)
    intr = np.stack([focal, focal, np.full(n, w / 2.0), np.full(n, h / 2.0)], axis=1)
    meta = {"format": "gen3c_path", "file": path.name, "keyframes": len(keys), "spline_order": int(order)}
    return make_camera_path(path, make_pose(rot, rows[:, 4:7]), intr, w, h, fps, meta)


def write_gen3c_path(path, cam: CameraPath) -> None:
    """Write `cam` as a GEN3C GUI path JSON: every frame a keyframe, linear spline (GEN3C replays our frames)."""
    from scipy.spatial.transform import Rotation

    n = len(cam)
    quats = Rotation.from_matrix(cam.rotations).as_quat()  # (x, y, z, w), GEN3C's order
    duration = n / cam.fps
    stamps = equidistant_timestamps(n, duration)
    data = {
        "loop": False,
        "time": 0.0,
        "path": [
            {
                "R": quats[i].tolist(),
                "T": cam.centers[i].tolist(),
                "fov": fov_from_focal(float(cam.intrinsics[i, 1]), cam.height),
                "timestamp": float(stamps[i]),
            }
            for i in range(n)
        ],
        "duration_seconds": duration,
        "spline_order": 1,
        "fps": cam.fps,
        "resolution": [cam.width, cam.height],
    }
    dump_json(Path(path), data)


# ---------------------------------------------------------------------------------------------------------------
# Export cameras


def read_gen3c_cameras(path, *, width=None, height=None, fps=None) -> CameraPath:
    """Read a GEN3C GUI "Export cameras" file as a `CameraPath` (each camera's `start` pose)."""
    path = Path(path)
    data = load_json(path)
    if not looks_like_cameras(data):
        raise fail(
            path, "cameras", "expected a GEN3C GUI camera export with a 'cameras' list of {start, end}"
        )
    cams = data["cameras"]
    w2c = bool(data.get("w2c", False))
    mats = np.empty((len(cams), 4, 4))
    vfov = np.full(len(cams), GEN3C_DEFAULT_VFOV)
    for i, c in enumerate(cams):
        where = f"cameras[{i}]"
        m = as_matrix(path, get_key(path, c, "start", where), f"{where}.start", shapes=((3, 4), (4, 4)))
        mats[i] = pose_from_3x4(m)
        if "fov" in c:
            vfov[i] = as_number(path, c["fov"], f"{where}.fov", positive=True)
            if vfov[i] >= 180:
                raise fail(
                    path, f"{where}.fov", f"expected a vertical field of view below 180, got {vfov[i]}"
                )
    if w2c:
        if np.abs(np.linalg.det(mats[:, :3, :3]) - 1).max() > 1e-4:
            raise fail(path, "cameras", "a world-to-camera matrix is not rigid; expected [R | t] rows")
        mats = invert_rigid(mats)
    file_size = None
    if "resolution" in data:
        res = as_matrix(path, data["resolution"], "resolution", shapes=((2,),))
        file_size = (int(res[0]), int(res[1]))
    w, h = resolve_size(width, height, file_size)
    if fps is None:
        fps = as_number(path, data["fps"], "fps", positive=True) if "fps" in data else DEFAULT_FPS
    focal = 0.5 * h / np.tan(np.radians(vfov) / 2.0)
    intr = np.stack([focal, focal, np.full(len(cams), w / 2.0), np.full(len(cams), h / 2.0)], axis=1)
    meta = {"format": "gen3c_cameras", "file": path.name}
    return make_camera_path(path, mats, intr, w, h, fps, meta, frame_label=lambda i: f"cameras[{i}].start")


def write_gen3c_cameras(path, cam: CameraPath) -> None:
    """Write `cam` as a GEN3C GUI "Export cameras" file: camera-to-world 3x4 rows, `end` = `start` (no shutter),
    plus each camera's vertical `fov` and `"w2c": false`, which GEN3C's own file lacks."""
    rows = cam.world_from_camera[:, :3, :]
    data = {
        "cameras": [
            {
                "start": rows[i].tolist(),
                "end": rows[i].tolist(),
                "fov": fov_from_focal(float(cam.intrinsics[i, 1]), cam.height),
            }
            for i in range(len(cam))
        ],
        "resolution": [cam.width, cam.height],
        "duration_seconds": len(cam) / cam.fps,
        "fps": cam.fps,
        "spp": 1,
        "quality": 8,
        "shutter_fraction": 0.0,
        "w2c": False,
    }
    dump_json(Path(path), data)
