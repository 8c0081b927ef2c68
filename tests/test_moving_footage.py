"""Re-shooting footage whose camera moves (issue 20): declared source cameras, measured scales, and no ghosts.

The scene is a tracking shot ray-cast in numpy: a textured wall and a static card, a red box crossing in front of
them faster than the camera trucks right. Exact colour and z-depth for any camera at any moment, so a re-shot can
be compared with a direct render from the target camera of the scene at the same moment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from shotsmith.camera import CameraPath, static_path
from shotsmith.errors import InputError
from shotsmith.geometry import subject_depth
from shotsmith.recapture import (
    FillOptions,
    align_depths,
    build_cache4d,
    declared_pose_scale,
    photometric_scale,
    psnr,
    render_cache4d,
    sparse_point_scale,
    static_evidence,
)

W, H = 160, 96
N = 16


@dataclass(frozen=True)
class Box:
    """A fronto-parallel rectangle in the plane z = `z` (world); `red` ones are the moving object."""

    z: float
    x0: float = -1e3
    x1: float = 1e3
    y0: float = -1e3
    y1: float = 1e3
    red: bool = False


def _colour(x: np.ndarray, y: np.ndarray, red: bool) -> np.ndarray:
    two_pi = 2 * np.pi
    lum = (
        110
        + 50 * np.sin(two_pi * x / 0.37) * np.cos(two_pi * y / 0.29)
        + 25 * np.sin(two_pi * (x + y) / 0.19)
    )
    if red:  # saturated red with luminance detail: nothing else in the scene has this colour
        return np.stack([150 + 0.6 * lum, 0.15 * lum, 0.15 * lum], axis=-1)
    tint = np.stack(
        [1 + 0.08 * np.sin(two_pi * x / 1.3), 1 + 0.08 * np.cos(two_pi * y), 1 - 0.06 * np.sin(x)], -1
    )
    return lum[..., None] * tint


def raycast(boxes: list[Box], world_from_camera: np.ndarray, intrinsics, w: int = W, h: int = H):
    """(H, W, 3) uint8 colour, (H, W) float32 z-depth and (H, W) bool "the red object" of `boxes`."""
    fx, fy, cx, cy = intrinsics
    v, u = np.mgrid[0:h, 0:w] + 0.5
    d = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], axis=-1) @ world_from_camera[:3, :3].T
    o = world_from_camera[:3, 3]
    best = np.full((h, w), np.inf)
    rgb = np.zeros((h, w, 3))
    red = np.zeros((h, w), bool)
    for box in boxes:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (box.z - o[2]) / d[..., 2]
        p = o + d * t[..., None]
        inside = (t > 0) & (t < best) & (p[..., 0] >= box.x0) & (p[..., 0] <= box.x1)
        inside &= (p[..., 1] >= box.y0) & (p[..., 1] <= box.y1)
        best = np.where(inside, t, best)
        rgb[inside] = _colour(p[inside, 0], p[inside, 1], box.red)
        red = np.where(inside, box.red, red)
    depth = np.where(np.isfinite(best), best, 0).astype(np.float32)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), depth, red


def scene_at(t: int, n: int = N) -> list[Box]:
    """The tracking shot at moment t: the red box crosses from left to right, faster than the camera."""
    x = -0.7 + 1.6 * t / (n - 1)
    return [
        Box(z=3.0),
        Box(z=2.2, x0=-0.9, x1=-0.2, y0=-0.2, y1=0.5),
        Box(z=1.6, x0=x - 0.16, x1=x + 0.16, y0=-0.22, y1=0.18, red=True),
    ]


def tracking_camera(n: int = N, w: int = W, h: int = H, travel: float = 0.5) -> CameraPath:
    cam = static_path(n, w, h)
    cam.world_from_camera[:, 0, 3] = np.linspace(0.0, travel, n)
    return cam


def shoot(cam: CameraPath, n: int = N):
    out = [
        raycast(scene_at(t, n), cam.world_from_camera[t], cam.intrinsics[t], cam.width, cam.height)
        for t in range(n)
    ]
    return tuple(np.stack([o[k] for o in out]) for k in range(3))


def object_coloured(rgb: np.ndarray) -> np.ndarray:
    """(…, H, W) bool: pixels of the red object's colour."""
    c = rgb.astype(np.int16)
    return (c[..., 0] - np.maximum(c[..., 1], c[..., 2])) > 100


def ghost_fraction(rgb: np.ndarray, truth_red: np.ndarray, margin: int = 2) -> float:
    """Fraction of a frame's object-coloured pixels farther than `margin` pixels from where the object is."""
    red = object_coloured(rgb)
    if not red.any():
        return 0.0
    near = cv2.dilate(truth_red.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    return float((red & ~near).sum() / red.sum())


def _scene_units(cam: CameraPath, factor: float) -> CameraPath:
    out = cam.copy()
    out.world_from_camera[:, :3, 3] *= factor
    return out


@pytest.fixture(scope="module")
def tracking_shot():
    cam = tracking_camera()
    frames, depths, red = shoot(cam)
    med = subject_depth(depths[0])
    poses = _scene_units(cam, 1 / med).world_from_camera
    aligned, _ = align_depths(depths, frames, poses, cam.intrinsics[0])
    cache = build_cache4d(aligned, frames, poses, cam.intrinsics[0], 0.05)
    return cam, frames, depths, red, med, cache


# ---------------------------------------------------------------------------------------------------------------
# Static / dynamic


def test_static_evidence_separates_the_moving_object(tracking_shot):
    cam, frames, depths, red, med, cache = tracking_shot
    static = cache.static
    assert static is not None and static.shape == depths.shape
    obj = red & (cache.depth > 0)
    kernel = np.ones((7, 7), np.uint8)
    near = np.stack([cv2.dilate(r.astype(np.uint8), kernel) > 0 for r in red])
    background = ~near & (cache.depth > 0)  # 3 px away from the object
    assert static[obj].mean() < 0.02, static[obj].mean()  # the object is (almost) never called static
    assert static[background].mean() > 0.9, static[background].mean()  # the scene around it is
    # no flow: the depth-and-colour votes alone still find it
    from shotsmith.recapture import StaticOptions

    votes_only = static_evidence(cache, StaticOptions(flow=False))
    assert votes_only[obj].mean() < 0.05
    # no reference frames: DIS optical flow against the flow the camera predicts still flags most of it
    flow_only = static_evidence(cache, StaticOptions(references=0))
    assert flow_only[obj].mean() < 0.4 and flow_only[background].mean() > 0.95
    assert static_evidence(cache, StaticOptions(references=0, flow=False))[obj].all()  # no evidence: static


def test_locked_off_reshoot_has_no_ghosts_and_matches_a_direct_render(tracking_shot):
    cam, frames, depths, red, med, cache = tracking_shot
    target = static_path(N, W, H)  # --cam static: the first source camera for every frame
    video, report = render_cache4d(cache, target, FillOptions(other_frames=8))
    truth = [
        raycast(scene_at(t), _scene_units(target, med).world_from_camera[t], target.intrinsics[t])
        for t in range(N)
    ]
    ghosts = [ghost_fraction(video.rgb[t], truth[t][2]) for t in range(N)]
    assert max(ghosts) < 0.02, ghosts
    # the object is where it is at each moment (the target sees it while it is in the first camera's view)
    for t in (2, 5, 8):
        assert object_coloured(video.rgb[t])[truth[t][2]].mean() > 0.8
    rgb_true = np.stack([tr[0] for tr in truth])
    assert psnr(video.rgb, rgb_true, video.mask) >= 28.0
    assert video.mask.mean() > 0.9  # other frames fill what the moving camera saw and frame t does not
    assert sum(report.borrowed_points) > 0
    # the same render lending every point (moving ones too) pastes the object where it is not: the test can fail
    loose, _ = render_cache4d(cache, target, FillOptions(other_frames=8, static_only=False))
    assert max(ghost_fraction(loose.rgb[t], truth[t][2]) for t in range(N)) > 0.05


# ---------------------------------------------------------------------------------------------------------------
# Scales


def test_declared_units_are_used_as_given():
    assert declared_pose_scale("scene", "relative", 3.0).scale == 1.0
    metres = declared_pose_scale("metres", "metres", 2.5)
    assert metres.scale == pytest.approx(0.4) and metres.method == "declared"
    assert declared_pose_scale("metres", "relative", 2.5) is None  # metres over relative depth: measured
    assert declared_pose_scale(None, "metres", 2.5) is None


def test_sparse_points_give_the_scale_with_its_confidence():
    rng = np.random.default_rng(0)
    k = np.array([100.0, 100.0, W / 2, H / 2])
    depth0 = np.full((H, W), 1.0, np.float32)
    uv = rng.uniform([0, 0], [W, H], (400, 2))
    z_sfm = np.full(400, 1 / 3.7)  # SfM units: the depth there is 1.0 scene unit
    pts = np.stack([(uv[:, 0] - k[2]) / k[0] * z_sfm, (uv[:, 1] - k[3]) / k[1] * z_sfm, z_sfm], axis=1)
    pts[:60] *= rng.uniform(0.3, 3.0, (60, 1))  # outliers
    res = sparse_point_scale(pts, depth0, k)
    assert res is not None and res.scale == pytest.approx(3.7, rel=1e-3)
    assert 0.8 <= res.confidence <= 0.9  # 340 of 400 agree
    assert sparse_point_scale(pts[:10], depth0, k) is None


def test_photometric_scale_is_sure_on_texture_and_flat_on_a_blank_wall():
    cam = tracking_camera(8, travel=0.3)
    frames, depths, _ = shoot(cam, 8)
    med = subject_depth(depths[0])
    res = photometric_scale(
        frames, depths[0] / med, _scene_units(cam, 4.0).world_from_camera, cam.intrinsics[0]
    )
    assert res.scale * 4.0 == pytest.approx(1 / med, rel=0.05)
    assert res.confidence > 0.3, res
    blank = np.full_like(frames, 128)
    flat = photometric_scale(blank, depths[0] / med, cam.world_from_camera, cam.intrinsics[0])
    assert flat.confidence < 0.05, flat


# ---------------------------------------------------------------------------------------------------------------
# The whole command


def _write_clip(tmp_path, units: str | None, n: int = N, travel: float = 0.5, poses: int | None = None):
    """The tracking shot as an mp4, its exact depth (world units) and its cameras as a transforms file."""
    from shotsmith.formats import write_trajectory
    from shotsmith.media import write_video

    cam = tracking_camera(n, travel=travel)
    frames, depths, red = shoot(cam, n)
    video = tmp_path / "track.mp4"
    write_video(video, frames, 12.0, quality=10)
    np.savez(tmp_path / "depth.npz", depth=depths)
    med = subject_depth(depths[0])
    out = cam.copy()
    if units == "subject_distance":
        out = _scene_units(cam, 1 / med)
    out.meta = {"units": units} if units == "metres" else {}
    if poses is not None:
        from shotsmith.camera import resample

        out = resample(out, poses)
    path = tmp_path / "cams.json"
    write_trajectory(path, out)
    data = json.loads(path.read_text())
    if units is None:
        del data["shotsmith"]
    path.write_text(json.dumps(data))
    return video, tmp_path / "depth.npz", path, med


@pytest.mark.parametrize("units", ["subject_distance", pytest.param("metres", marks=pytest.mark.slow)])
def test_recapture_static_of_a_moving_camera_shows_the_first_camera(tmp_path, cli, units):
    from shotsmith.media import read_mask_video, read_video

    video, depth, cams, med = _write_clip(tmp_path, units)
    ws = tmp_path / "ws"
    code, out, err = cli(
        "recapture", video, "--cam", "static", "-w", ws, "--depth", depth, "--size", f"{W}x{H}",
        "--source-camera", cams, "--generator", "inpaint",
    )  # fmt: skip
    assert code == 0, err
    info = json.loads((ws / "cache" / "cache.json").read_text())["video"]
    assert info["pose_scale_method"] == "declared" and info["pose_scale_confidence"] == 1.0
    # scene units as the file says; metres as the depth file's units (1 scene unit = its subject depth)
    assert info["pose_scale"] == pytest.approx(1.0 if units == "subject_distance" else 1 / med, rel=1e-6)
    assert "source camera: scale" in err
    guidance, _ = read_video(ws / "guidance" / "rgb.mp4")
    mask = read_mask_video(ws / "guidance" / "mask.mp4")
    first = static_path(N, W, H)
    truth = [raycast(scene_at(t), first.world_from_camera[t], first.intrinsics[t]) for t in range(N)]
    source, _ = read_video(video)
    assert psnr(guidance, np.stack([tr[0] for tr in truth]), mask) >= 26.0
    # the first camera's view, not the source frames unchanged (the camera moved 0.5 by the end)
    assert psnr(guidance[-1], source[-1], mask[-1]) < psnr(guidance[-1], truth[-1][0], mask[-1]) - 6
    ghosts = [ghost_fraction(np.where(mask[t][..., None], guidance[t], 0), truth[t][2]) for t in range(N)]
    assert max(ghosts) < 0.02, ghosts


def test_camera_file_without_units_on_a_blank_clip_is_refused_with_the_option(tmp_path, cli):
    from shotsmith.formats import write_trajectory
    from shotsmith.media import write_video

    write_video(tmp_path / "blank.mp4", np.full((8, H, W, 3), 128, np.uint8), 12.0)
    cam = tracking_camera(8, travel=0.3)
    write_trajectory(tmp_path / "cams.json", cam)
    data = json.loads((tmp_path / "cams.json").read_text())
    del data["shotsmith"]
    (tmp_path / "cams.json").write_text(json.dumps(data))
    np.savez(tmp_path / "depth.npz", depth=np.full((8, H, W), 2.0, np.float32))
    args = ("recapture", tmp_path / "blank.mp4", "--cam", "static", "--depth", tmp_path / "depth.npz", "--size",
            f"{W}x{H}", "--source-camera", tmp_path / "cams.json", "--generator", "inpaint")  # fmt: skip
    code, _, err = cli(*args, "-w", tmp_path / "ws")
    assert code == 1 and "--source-scale" in err and "confidence" in err
    assert len([ln for ln in err.strip().splitlines() if ln.startswith("error:")]) == 1
    assert not (tmp_path / "ws" / "cache" / "frames.npz").exists()
    code, _, err = cli(*args, "-w", tmp_path / "ws2", "--source-scale", "0.5")
    assert code == 0, err
    info = json.loads((tmp_path / "ws2" / "cache" / "cache.json").read_text())["video"]
    assert info["pose_scale"] == 0.5 and info["pose_scale_method"] == "given"


def test_unitless_file_is_measured_and_fewer_poses_say_how_they_are_matched(tmp_path):
    from shotsmith.recapture import source_cameras
    from shotsmith.video import DecodeOptions, decode_video

    video, depth, cams, med = _write_clip(tmp_path, None, travel=0.4, poses=6)
    clip = decode_video(video, DecodeOptions(width=W, height=H))
    depths = np.load(depth)["depth"]
    notes: list[str] = []
    poses, facts = source_cameras(str(cams), clip, depths[0] / med, tracking_camera().intrinsics[0], notes)
    assert facts["pose_scale_method"] == "photometric" and facts["pose_scale_confidence"] > 0.3
    assert poses[-1, 0, 3] == pytest.approx(0.4 / med, rel=0.05)
    assert any("6 poses for the 16 video frames" in n and "matched by time" in n for n in notes), notes


def test_poses_that_do_not_fit_the_video_are_refused_with_the_error(tmp_path):
    from shotsmith.recapture import source_cameras
    from shotsmith.video import DecodeOptions, decode_video

    video, depth, cams, med = _write_clip(tmp_path, "subject_distance")
    data = json.loads(cams.read_text())
    for f in data["frames"]:  # the camera said to rise instead of trucking right
        m = np.array(f["transform_matrix"])
        m[1, 3], m[0, 3] = m[0, 3], 0.0
        f["transform_matrix"] = m.tolist()
    cams.write_text(json.dumps(data))
    clip = decode_video(video, DecodeOptions(width=W, height=H))
    depths = np.load(depth)["depth"]
    with pytest.raises(InputError, match=r"do not fit the video: .* grey error of [0-9.]+ \(of 40\)"):
        source_cameras(str(cams), clip, depths[0] / med, tracking_camera().intrinsics[0], [])


def test_per_frame_depth_that_disagrees_leaves_no_double_on_a_tripod():
    """A still red box whose per-frame depth says 40 % farther in every other frame (monocular depth does that):
    seen from a camera moved to the side, the farther copies would stand apart from the box as a double."""
    n = 8
    src = static_path(n, W, H)
    still = [Box(z=3.0), Box(z=1.6, x0=-0.2, x1=0.15, y0=-0.2, y1=0.2, red=True)]
    frame, depth, red = raycast(still, src.world_from_camera[0], src.intrinsics[0])
    frames = np.repeat(frame[None], n, axis=0)
    depths = np.repeat(depth[None], n, axis=0)
    depths[1::2][:, red] *= 1.4
    med = subject_depth(depth)
    cache = build_cache4d(depths / med, frames, src.world_from_camera, src.intrinsics[0], 0.05)
    target = static_path(n, W, H)
    target.world_from_camera[:, 0, 3] = 0.25 / med
    truth = raycast(still, _scene_units(target, med).world_from_camera[0], target.intrinsics[0])[2]
    video, _ = render_cache4d(cache, target, FillOptions(other_frames=6))
    assert max(ghost_fraction(video.rgb[t], truth) for t in range(0, n, 2)) < 0.02
    loose, _ = render_cache4d(cache, target, FillOptions(other_frames=6, static_only=False, surface_band=0))
    assert max(ghost_fraction(loose.rgb[t], truth) for t in range(0, n, 2)) > 0.05


@pytest.mark.slow
def test_estimated_cameras_take_their_scale_from_sfm_points():
    from shotsmith.recapture import estimate_cameras, measure_pose_scale, photometric_scale

    pytest.importorskip("pycolmap")  # an optional dependency (shotsmith[eval]), not one of our modules
    cam = tracking_camera(16, 320, 192, travel=0.5)
    frames, depths, _ = shoot(cam, 16)
    med = subject_depth(depths[0])
    poses, facts, points = estimate_cameras(frames, cam.intrinsics[0])
    assert facts["registered_fraction"] == 1.0 and points is not None and len(points) > 100
    chosen = measure_pose_scale(frames, depths[0] / med, poses, cam.intrinsics[0], points)
    assert chosen.method == "sparse points" and chosen.confidence > 0.5, chosen
    travel = chosen.scale * np.linalg.norm(poses[-1, :3, 3])
    # the camera's real travel in scene units (pycolmap varies from run to run: one run in four here was 16 % off)
    assert travel == pytest.approx(0.5 / med, rel=0.2)
    photometric = photometric_scale(frames, depths[0] / med, poses, cam.intrinsics[0])
    assert photometric.scale == pytest.approx(chosen.scale, rel=0.2)  # the fallback agrees
