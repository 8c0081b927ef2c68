"""Recapture: depth consistency, the 4D cache's fill, the target path, and the whole command on known scenes.

The scenes are fronto-parallel textured cards ray-cast in numpy (exact colour and z-depth for any camera), so a
recapture can be compared with a direct render of the same scene from the target cameras.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from shotsmith.camera import CameraPath, default_intrinsics, make_pose, static_path
from shotsmith.geometry import subject_depth
from shotsmith.media import read_mask_video, read_video, write_video
from shotsmith.recapture import (
    AlignOptions,
    FillOptions,
    accept_points,
    align_depths,
    build_cache4d,
    fill_frames,
    photometric_scale,
    psnr,
    render_cache4d,
    target_path,
)
from shotsmith.render import RenderSettings

W, H = 160, 96


@dataclass(frozen=True)
class Card:
    """An axis-aligned rectangle in the plane z = `z` (world), textured by a smooth function of (x, y)."""

    z: float
    x0: float = -1e3
    x1: float = 1e3
    y0: float = -1e3
    y1: float = 1e3
    phase: float = 0.0


def _texture(x: np.ndarray, y: np.ndarray, phase: float) -> np.ndarray:
    """Smooth colour: luminance detail (periods of 0.2-0.4 units) under a slowly varying tint, like a photo."""
    two_pi = 2 * np.pi
    lum = 120 + 55 * np.sin(two_pi * x / 0.41 + phase) * np.cos(two_pi * y / 0.33)
    lum = lum + 30 * np.sin(two_pi * (x + 0.7 * y) / 0.23 + 2 * phase)
    tint = np.stack(
        [
            1 + 0.25 * np.sin(two_pi * x / 1.3 + phase),
            1 + 0.2 * np.cos(two_pi * y / 1.1),
            1 - 0.25 * np.sin(two_pi * (x - y) / 1.7),
        ],
        axis=-1,
    )
    return lum[..., None] * tint


def raycast(cards: list[Card], world_from_camera: np.ndarray, intrinsics, w: int = W, h: int = H):
    """(H, W, 3) uint8 colour, (H, W) float32 z-depth and (H, W, 3) world hit points of `cards`."""
    fx, fy, cx, cy = intrinsics
    v, u = np.mgrid[0:h, 0:w] + 0.5
    rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], axis=-1)  # camera z = 1
    d = rays @ world_from_camera[:3, :3].T
    o = world_from_camera[:3, 3]
    best = np.full((h, w), np.inf)
    rgb = np.zeros((h, w, 3))
    hit = np.zeros((h, w, 3))
    for card in cards:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (card.z - o[2]) / d[..., 2]
        p = o + d * t[..., None]
        inside = (t > 0) & (t < best) & (p[..., 0] >= card.x0) & (p[..., 0] <= card.x1)
        inside &= (p[..., 1] >= card.y0) & (p[..., 1] <= card.y1)
        best = np.where(inside, t, best)
        rgb[inside] = _texture(p[inside, 0], p[inside, 1], card.phase)
        hit[inside] = p[inside]
    depth = np.where(np.isfinite(best), best, 0).astype(np.float32)  # rays have camera z = 1: t is z-depth
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8), depth, hit


def render_scene(scene_at, cam: CameraPath):
    """Frames and depths of a (possibly moving) scene: `scene_at(t)` gives frame t's cards."""
    out = [
        raycast(scene_at(t), cam.world_from_camera[t], cam.intrinsics[t], cam.width, cam.height)
        for t in range(len(cam))
    ]
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out]), np.stack([o[2] for o in out])


def _scaled(cam: CameraPath, factor: float) -> CameraPath:
    out = cam.copy()
    out.world_from_camera[:, :3, 3] *= factor
    return out


WALL = Card(z=2.0)
STILL = [WALL, Card(z=1.2, x0=-0.45, x1=0.3, y0=-0.3, y1=0.35, phase=1.3)]


def _moving_card(t: int, n: int = 12) -> list[Card]:
    x = -0.55 + 1.1 * t / (n - 1)
    return [Card(z=1.0), Card(z=0.6, x0=x - 0.12, x1=x + 0.12, y0=-0.12, y1=0.12, phase=2.0)]


# ---------------------------------------------------------------------------------------------------------------
# Domain


class TestAlignDepths:
    def test_static_wall_does_not_breathe(self):
        n = 12
        cam = static_path(n, W, H)
        frames, depths, _ = render_scene(lambda t: _moving_card(t, n), cam)
        rng = np.random.default_rng(1)
        wobble = rng.uniform(0.5, 2.0, n)
        aligned, report = align_depths(
            depths * wobble[:, None, None], frames, cam.world_from_camera, cam.intrinsics[0]
        )
        ratio = aligned[:, 10, 5] / depths[:, 10, 5]  # a background pixel the card never covers
        assert np.std(ratio) / np.mean(ratio) < 1e-3
        assert subject_depth(aligned[0]) == pytest.approx(1.0)
        assert np.allclose(np.array(report.scales) * wobble, report.scales[0] * wobble[0], rtol=1e-3)
        none, _ = align_depths(
            depths * wobble[:, None, None],
            frames,
            cam.world_from_camera,
            cam.intrinsics[0],
            AlignOptions(mode="none"),
        )
        assert np.allclose([subject_depth(d) for d in none], 1.0)  # "none": each frame on its own
        raw = (depths * wobble[:, None, None]).astype(np.float32)
        over, _ = align_depths(raw, frames, cam.world_from_camera, cam.intrinsics[0], inplace=True)
        assert over is raw and np.array_equal(over, aligned)  # in place: the same numbers, no second buffer
        with pytest.raises(ValueError, match="float32"):
            align_depths(
                raw.astype(np.float64), frames, cam.world_from_camera, cam.intrinsics[0], inplace=True
            )

    def test_moving_camera_scale(self):
        n = 6
        cam = static_path(n, W, H)
        cam.world_from_camera[:, 0, 3] = np.linspace(0, 0.2, n)  # a truck to the right, world units
        frames, depths, _ = render_scene(lambda t: STILL, cam)
        med = subject_depth(depths[0])
        poses = _scaled(cam, 1 / med).world_from_camera
        wobble = np.linspace(1.0, 3.0, n)
        aligned, _ = align_depths(depths * wobble[:, None, None], frames, poses, cam.intrinsics[0])
        ratio = np.array([np.median(aligned[t][depths[t] > 0] / depths[t][depths[t] > 0]) for t in range(n)])
        assert np.allclose(ratio, 1 / med, rtol=0.01)


def test_photometric_scale_recovers_the_baseline():
    n = 6
    cam = static_path(n, W, H)
    cam.world_from_camera[:, 0, 3] = np.linspace(0, 0.3, n)
    cam.world_from_camera[:, 2, 3] = np.linspace(0, 0.1, n)
    frames, depths, _ = render_scene(lambda t: STILL, cam)
    med = subject_depth(depths[0])
    up_to_scale = _scaled(cam, 7.3).world_from_camera  # what SfM might return
    s = photometric_scale(frames, depths[0] / med, up_to_scale, cam.intrinsics[0]).scale
    assert s * 7.3 == pytest.approx(1 / med, rel=0.05)


def test_accept_points_depth_test():
    k = default_intrinsics(W, H)
    seen = np.full((H, W), 1.0, np.float32)
    seen[:20, :20] = 0.5  # frame t sees something nearer in the top-left corner
    pose = np.eye(4)
    pts = np.array([
        [0.0, 0.0, 1.0],  # on frame t's own surface: skipped
        [0.0, 0.0, 1.5],  # behind frame t's surface: hidden at t, kept
        [0.0, 0.0, 0.7],  # in front of what frame t sees: t sees through where it was, rejected
        [5.0, 0.0, 1.0],  # outside frame t's view: kept
        [-0.55, -0.35, 1.0],  # behind frame t's nearer corner: hidden at t, kept
    ])  # fmt: skip
    keep = accept_points(pts, seen, seen, pose, k, 0.03)
    assert keep.tolist() == [False, True, False, True, True]


def test_fill_frames_spread():
    assert fill_frames(0, 5, 8) == [1, 2, 3, 4]
    picks = fill_frames(40, 81, 4)
    assert 40 not in picks and picks[0] == 0 and picks[-1] == 80


def test_target_path_modes():
    plan = static_path(3, W, H)
    plan.world_from_camera[:, 2, 3] = [0.0, 0.1, 0.2]
    src = np.tile(np.eye(4), (3, 1, 1))
    src[:, 0, 3] = [0.0, 1.0, 2.0]
    first = target_path(plan, src, "first")
    assert np.allclose(first.centers, [[0, 0, 0], [0, 0, 0.1], [0, 0, 0.2]])
    follow = target_path(plan, src, "follow")
    assert np.allclose(follow.centers, [[0, 0, 0], [1, 0, 0.1], [2, 0, 0.2]])


def test_background_behind_a_moving_object_is_filled_from_other_frames():
    n = 12
    src = static_path(n, W, H)
    frames, depths, _ = render_scene(lambda t: _moving_card(t, n), src)
    aligned, _ = align_depths(depths, frames, src.world_from_camera, src.intrinsics[0])
    med = subject_depth(depths[0])  # scene units = world / subject depth
    cache = build_cache4d(aligned, frames, src.world_from_camera, src.intrinsics[0], 0.05)
    target = static_path(n, W, H)
    target.world_from_camera[:, 0, 3] = 0.15  # a slightly moved camera: sees past the card's edge
    truth_cam = _scaled(target, med)
    results = {}
    for others in (0, 8):
        video, report = render_cache4d(cache, target, FillOptions(other_frames=others))
        results[others] = (video, report)
    region_psnr, region_cov, region_cov0 = [], [], []
    for t in (2, 4, 6):  # the revealed band stays inside the source view (later, the card nears the border)
        rgb_true, depth_true, hit = raycast(
            _moving_card(t, n), truth_cam.world_from_camera[t], target.intrinsics[t]
        )
        # background seen by the target whose point the card hid from the source camera at time t
        x = -0.55 + 1.1 * t / (n - 1)
        bg = np.abs(hit[..., 2] - 1.0) < 1e-6
        # where the source camera's ray to the wall point crosses the card's plane
        on_card = 0.6 / hit[..., 2]
        behind = bg & (np.abs(hit[..., 0] * on_card - x) < 0.12) & (np.abs(hit[..., 1] * on_card) < 0.12)
        # leave out the 2 pixels along the card's edge in the target view: splat anti-aliasing, not the fill
        behind &= cv2.erode(bg.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert behind.sum() > 100
        v8, v0 = results[8][0], results[0][0]
        region_cov.append(v8.mask[t][behind].mean())
        region_cov0.append(v0.mask[t][behind].mean())
        region_psnr.append(psnr(v8.rgb[t], rgb_true, behind & v8.mask[t]))
    assert min(region_cov) > 0.97, region_cov  # filled from the frames where the background was visible
    assert max(region_cov0) < 0.1, region_cov0  # frame t alone cannot see it
    assert min(region_psnr) >= 28.0, region_psnr
    assert max(results[8][1].borrowed_points) > 0


def _points_reference(cache, t, fill):
    """frame_points as it was before the per-render memo: every frame unprojected again per target frame."""
    from shotsmith.recapture import _accept, _box5

    parts = [cache.points(t)]
    for s in fill_frames(t, len(cache), fill.other_frames):
        lend = cache.static_mask()[s]
        if np.abs(cache.world_from_camera[s] - cache.world_from_camera[t]).max() < 1e-9:
            diff = np.abs(cache.rgb[s].astype(np.int16) - cache.rgb[t].astype(np.int16)).max(axis=-1)
            same = _box5(diff.astype(np.float32)) <= fill.colour_tolerance
            mask = lend & _accept(
                cache.depth[s], cache.seen[t], cache.depth[t], fill.depth_tolerance, same, fill.surface_band
            )
            behind = (cache.depth[t] > 0) & (cache.depth[s] > cache.depth[t] * (1.0 + fill.depth_tolerance))
            parts.append(cache.points(s, mask & ~(behind & cache.static_mask()[t])))
        else:
            p, c, r = cache.points(s, lend)
            local = (_box5(cache.rgb[s])[lend & (cache.depth[s] > 0)], _box5(cache.rgb[t]))
            keep = accept_points(
                p, cache.seen[t], cache.depth[t], cache.world_from_camera[t], cache.intrinsics,
                fill.depth_tolerance, c, cache.rgb[t], fill.surface_band, fill.colour_tolerance, local,
            )  # fmt: skip
            parts.append((p[keep], c[keep], r[keep]))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


@pytest.mark.parametrize("moving", [False, True])
def test_frame_points_memo_gives_the_points_of_a_fresh_unprojection(moving):
    """The per-render memo of unprojected frames (kept over the window, gathered on a thread) changes nothing."""
    from shotsmith.recapture import FramePoints, frame_points

    n = 10
    src = static_path(n, W, H)
    if moving:
        src.world_from_camera[:, 0, 3] = np.linspace(0, 0.1, n)
    frames, depths, _ = render_scene(lambda t: _moving_card(t, n), src)
    med = subject_depth(depths[0])
    poses = _scaled(src, 1 / med).world_from_camera
    aligned, _ = align_depths(depths, frames, poses, src.intrinsics[0])
    cache = build_cache4d(aligned, frames, poses, src.intrinsics[0], 0.05)
    fill = FillOptions(other_frames=4)
    memo = FramePoints(cache, keep=3)  # small: frames are evicted and unprojected again
    total = 0
    for t in [0, 5, 9, 5, 1, 0]:
        ref = _points_reference(cache, t, fill)
        got = frame_points(cache, t, fill, memo)
        assert got[3] == len(ref[0]) - int((cache.depth[t] > 0).sum())
        total += got[3]
        for a, b in zip(got[:3], ref, strict=True):
            assert a.shape == b.shape and a.dtype == b.dtype
            assert np.allclose(a, b, rtol=1e-6, atol=1e-6)
    assert total > 0
    target = static_path(n, W, H)
    target.world_from_camera[:, 0, 3] = 0.05
    video, report = render_cache4d(cache, target, fill)
    for t in (0, 4, 9):  # the threaded, memoised render = a render of the reference points
        from shotsmith.render import render_points

        p, c, r = _points_reference(cache, t, fill)
        out = render_points(p, c, target.world_from_camera[t], target.intrinsics[t], W, H, radius=r)
        assert np.array_equal(out.rgb, video.rgb[t]) and np.array_equal(out.mask, video.mask[t])


def test_dolly_in_matches_a_direct_render_domain():
    n = 8
    src = static_path(n, W, H)
    frames, depths, _ = render_scene(lambda t: STILL, src)
    aligned, _ = align_depths(depths, frames, src.world_from_camera, src.intrinsics[0])
    cache = build_cache4d(aligned, frames, src.world_from_camera, src.intrinsics[0], 0.05)
    from shotsmith.presets import path_from_spec

    target = path_from_spec("dolly_in", frames=n, width=W, height=H, intrinsics=src.intrinsics[0])
    video, _ = render_cache4d(cache, target, settings=RenderSettings(footprint="round"))
    truth, _, _ = render_scene(lambda t: STILL, _scaled(target, subject_depth(depths[0])))
    assert psnr(video.rgb, truth, video.mask) >= 30.0
    assert video.mask.mean() > 0.9


# ---------------------------------------------------------------------------------------------------------------
# The whole command


def _write_scene_video(tmp_path, scene_at, n=12, fps=12.0, audio=False):
    cam = static_path(n, W, H, fps=fps)
    frames, depths, _ = render_scene(scene_at, cam)
    video = tmp_path / "scene.mp4"
    write_video(video, frames, fps, quality=10)
    if audio:
        from shotsmith.video import ffmpeg_exe

        with_audio = tmp_path / "scene_audio.mp4"
        subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-f", "lavfi", "-i", "sine=frequency=330",
             "-t", f"{n / fps:.3f}", "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(with_audio)],
            check=True,
        )  # fmt: skip
        video = with_audio
    depth_file = tmp_path / "depth.npz"
    np.savez(depth_file, depth=depths)
    return video, depth_file, depths


def _streams(path) -> str:
    from shotsmith.video import ffmpeg_exe

    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr


def test_recapture_dolly_in_matches_a_direct_render(tmp_path, cli):
    from shotsmith.formats import read_trajectory

    video, depth_file, depths = _write_scene_video(tmp_path, lambda t: STILL, audio=True)
    ws = tmp_path / "ws"
    code, out, err = cli(
        "recapture", video, "--cam", "dolly_in", "-w", ws, "--depth", depth_file, "--size", f"{W}x{H}",
        "--generator", "inpaint",
    )  # fmt: skip
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(ws / "output" / "shot.mp4")
    for name in ("trajectory.json", "trajectory.png", "guidance/rgb.mp4", "guidance/mask.mp4", "guidance/depth.npz",
                 "cache/frames.npz", "cache/cache.json", "cache/depth.npy", "cache/image.png",
                 "output/side_by_side.mp4"):  # fmt: skip
        assert (ws / name).exists(), name
    with np.load(ws / "cache" / "frames.npz") as data:
        assert data["depth"].shape == (12, H, W) and data["rgb"].shape == (12, H, W, 3)
    target = read_trajectory(ws / "trajectory.json")
    truth, _, _ = render_scene(lambda t: STILL, _scaled(target, subject_depth(depths[0])))
    guidance, _ = read_video(ws / "guidance" / "rgb.mp4")
    mask = read_mask_video(ws / "guidance" / "mask.mp4")
    assert psnr(guidance, truth, mask) >= 30.0
    shot, _ = read_video(ws / "output" / "shot.mp4")
    assert psnr(shot, truth, mask) >= 30.0
    assert "Audio:" in _streams(ws / "output" / "shot.mp4")
    side, _ = read_video(ws / "output" / "side_by_side.mp4")
    assert side.shape[1:3] == (H, 2 * W)
    # a second run changes nothing and skips every part
    code, _, err = cli(
        "recapture", video, "--cam", "dolly_in", "-w", ws, "--depth", depth_file, "--size", f"{W}x{H}",
        "--generator", "inpaint",
    )  # fmt: skip
    assert code == 0 and err.count("unchanged, skipping") == 4


def test_recapture_prior_depth_and_recammaster_number(tmp_path, cli):
    video, _, _ = _write_scene_video(tmp_path, lambda t: _moving_card(t, 12))
    ws = tmp_path / "ws"
    code, out, err = cli("recapture", video, "--cam", "1", "-w", ws, "--depth", "prior", "--size", "64x48",
                         "--generator", "inpaint")  # fmt: skip
    assert code == 0, err
    import json

    traj = json.loads((ws / "trajectory.json").read_text())
    assert traj["shotsmith"]["source"]["preset"] == "recammaster:1:scene" or "recammaster" in json.dumps(traj)
    assert "Audio:" not in _streams(ws / "output" / "shot.mp4")


def test_recapture_through_a_rig(tmp_path, cli):
    from shotsmith.media import read_video
    from shotsmith.workspace import OUTPUT_GRID, output_cam

    video, _, _ = _write_scene_video(tmp_path, lambda t: _moving_card(t, 12))
    ws = tmp_path / "ws"
    code, out, err = cli("recapture", video, "--cam", "dolly_in", "-w", ws, "--depth", "prior", "--size",
                         "64x48", "--generator", "inpaint", "--rig", "line:n=3,spacing=0.1")  # fmt: skip
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(ws / OUTPUT_GRID)
    shapes = {read_video(ws / output_cam(i))[0].shape for i in (1, 2, 3)}
    assert len(shapes) == 1 and next(iter(shapes))[1:] == (48, 64, 3)


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        ("text", (), "not a readable video"),
        ("one", (), "single frame"),
        ("short", ("--frames", "30"), "--short loop"),
        ("cut", ("--frames", "24"), "corrupt at frame"),
        ("ok", ("--cam", "nonsense_preset"), "nonsense_preset"),
        ("ok", ("--cam", "11"), "1 to 10"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path, cli, make, args, message):
    path = tmp_path / "v.mp4"
    rng = np.random.default_rng(0)
    if make == "text":
        path.write_text("hello\n" * 50)
    elif make == "one":
        write_video(path, rng.integers(0, 255, (1, 48, 64, 3), dtype=np.uint8), 12)
    elif make in ("short", "ok"):
        write_video(path, rng.integers(0, 255, (12, 48, 64, 3), dtype=np.uint8), 12)
    else:
        write_video(path, rng.integers(0, 255, (24, 48, 64, 3), dtype=np.uint8), 12)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    cam_args = ("--cam", "pan_right") if "--cam" not in args else ()
    code, out, err = cli("recapture", path, *cam_args, *args, "-w", tmp_path / "ws", "--size", "64x48",
                         "--depth", "prior", "--generator", "inpaint")  # fmt: skip
    assert code == 1
    assert message in err
    assert len([ln for ln in err.strip().splitlines() if ln.startswith("error:")]) == 1


def test_default_workspace_slug():
    from shotsmith.pipeline import recapture_workspace as default_workspace
    from shotsmith.stages.plan_trajectory import classify_cam

    assert str(default_workspace("clips/My Clip.mp4", "pan_right")) == "shots/my-clip-pan-right"
    assert classify_cam("5") == ("preset", "recammaster:5:scene")
    assert classify_cam("cam07") == ("preset", "recammaster:7:scene")
    assert classify_cam("slowly push in")[0] == "text"


def test_pose_helpers():
    m = np.tile(np.eye(4), (4, 1, 1))
    m[:, 0, 3] = [np.nan, 1.0, 2.0, np.nan]
    from shotsmith.recapture import hold_unregistered

    out = hold_unregistered(np.nan_to_num(m), np.array([False, True, True, False]))
    assert np.allclose(out[:, 0, 3], [0.0, 0.0, 1.0, 1.0])
    assert np.allclose(make_pose(np.eye(3), np.zeros(3)), out[0])


@pytest.mark.parametrize("band,static_only", [(1.0, True), (0.0, True), (1.0, False)])
def test_compiled_same_camera_fill_is_the_numpy_rule(band, static_only):
    """recapture_fast's one-pass kernel = the numpy rule, on depths that sit on every band's edge."""
    from shotsmith.recapture import Cache4D, _same_camera_fill_numpy
    from shotsmith.recapture_fast import colour_diff_max, same_camera_fill

    rng = np.random.default_rng(3)
    t_, h, w = 2, 37, 53
    base = rng.uniform(0.5, 3.0, (h, w)).astype(np.float32)
    factor = rng.choice(np.float32([0.5, 0.97, 1.0, 1.03, 1.2, 1.5, 2.0, 2.5]), (h, w))
    depth = np.stack([base * factor, base]).astype(np.float32)
    depth[0][rng.random((h, w)) < 0.1] = 0
    depth[1][rng.random((h, w)) < 0.1] = 0
    seen = np.where(depth > 0, depth, rng.uniform(0.5, 3.0, (t_, h, w))).astype(np.float32)
    rgb = rng.integers(0, 256, (t_, h, w, 3), dtype=np.uint8)
    rgb[1][: h // 2] = rgb[0][: h // 2]  # half the frame the same colour
    static = rng.random((t_, h, w)) < 0.8
    cache = Cache4D(
        depth, rgb, np.tile(np.eye(4), (t_, 1, 1)), [40.0, 40.0, 26.5, 18.5], seen=seen, static=static
    )
    fill = FillOptions(surface_band=band)
    lend = static[0] if static_only else depth[0] > 0
    ref = _same_camera_fill_numpy(cache, 0, 1, fill, lend, static if static_only else None)
    diff = np.abs(rgb[0].astype(np.int16) - rgb[1].astype(np.int16)).max(axis=-1)
    assert np.array_equal(colour_diff_max(rgb[0], rgb[1]), diff)
    same = cv2.blur(diff.astype(np.float32), (5, 5)) <= fill.colour_tolerance
    got = same_camera_fill(
        depth[0], seen[1], depth[1], lend, same, static[1], band > 0, static_only, fill.depth_tolerance, band
    )
    assert np.array_equal(got, ref)
    assert 0.05 < ref.mean() < 0.95  # both outcomes occur


def test_cache4d_file_round_trip_is_uncompressed_and_rgb_reads_alone(tmp_path):
    """cache/frames.npz: every member stored (no deflate on the hot path), read back the same; the frames alone too."""
    import zipfile

    from shotsmith import artifacts as A
    from shotsmith import workspace as Wsp
    from shotsmith.recapture import Cache4D

    rng = np.random.default_rng(0)
    t_, h, w = 3, 10, 13
    depth = rng.uniform(0.5, 2.0, (t_, h, w)).astype(np.float32)
    depth[:, 0] = 0
    seen = depth.astype(np.float16).astype(np.float32)
    seen[1, 4, 5], seen[2, 0, 3], depth[2, 6, 7] = 1.25, 0.75, 0.0  # a snapped pixel, a filtered-out one
    poses = np.tile(np.eye(4), (t_, 1, 1))
    poses[:, 0, 3] = [0.0, 0.1, 0.2]
    static = rng.random((t_, h, w)) > 0.5
    rgb = rng.integers(0, 256, (t_, h, w, 3), dtype=np.uint8)
    cache = Cache4D(depth, rgb, poses, [10.0, 10.0, 6.5, 5.0], seen=seen, static=static)
    ws = Wsp.Workspace(tmp_path / "ws").create()
    A.write_cache4d(ws, cache, 16.0)
    with zipfile.ZipFile(ws.path(Wsp.CACHE_FRAMES)) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        assert {i.filename for i in zf.infolist()} == {f"{m}.npy" for m in A.CACHE4D_MEMBERS}
    back = A.read_cache4d(ws)
    assert np.array_equal(back.depth, depth) and np.array_equal(back.rgb, rgb)
    assert back.seen.dtype == np.float32 and np.array_equal(back.seen, seen)
    assert np.array_equal(back.static, static)
    assert np.array_equal(back.world_from_camera, poses)
    assert np.array_equal(A.read_cache4d_rgb(ws), rgb)
    with np.load(ws.path(Wsp.CACHE_FRAMES)) as z:  # seen: only where it is not the depth at float16
        assert z["seen_index"].tolist() == [
            1 * h * w + 4 * w + 5,
            2 * h * w + 0 * w + 3,
            2 * h * w + 6 * w + 7,
        ]
        assert z["seen_value"].dtype == np.float16


def test_cache4d_file_of_an_older_version_with_a_whole_seen_still_reads(tmp_path):
    """frames.npz written before the seen exceptions (a whole float16 "seen") reads back the same."""
    from shotsmith import artifacts as A
    from shotsmith import workspace as Wsp

    rng = np.random.default_rng(1)
    depth = rng.uniform(0.5, 2.0, (2, 4, 5)).astype(np.float32)
    seen = (depth * 1.01).astype(np.float16)
    rgb = rng.integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    ws = Wsp.Workspace(tmp_path / "ws").create()
    ws.path(Wsp.CACHE_FRAMES).parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        ws.path(Wsp.CACHE_FRAMES), depth=depth, seen=seen, rgb=rgb, world_from_camera=np.tile(np.eye(4), (2, 1, 1)),
        intrinsics=np.array([5.0, 5.0, 2.5, 2.0]), fps=np.float64(8.0),
    )  # fmt: skip
    back = A.read_cache4d(ws)
    assert np.array_equal(back.seen, seen.astype(np.float32)) and back.static is None
    assert np.array_equal(back.depth, depth)


def test_build_cache4d_content_mask_zeroes_outside_without_touching_the_input():
    """`valid`: seen and depth are 0 off the content; the caller's depth is not changed, and depth that is already
    0 there (aligned depth) is used as is (no copy)."""
    from shotsmith.recapture import build_cache4d

    rng = np.random.default_rng(3)
    depths = rng.uniform(1.0, 1.01, (2, 12, 16)).astype(np.float32)
    frames = np.full((2, 12, 16, 3), 128, np.uint8)
    valid = np.ones((12, 16), bool)
    valid[:2] = False  # a letterbox bar
    before = depths.copy()
    cache = build_cache4d(
        depths, frames, np.tile(np.eye(4), (2, 1, 1)), [16.0, 16.0, 8.0, 6.0], 0.05, valid=valid
    )
    assert np.array_equal(depths, before)
    assert (cache.seen[:, :2] == 0).all() and (cache.depth[:, :2] == 0).all()
    assert np.array_equal(cache.seen[:, 2:], depths[:, 2:]) and (cache.depth[:, 4:-2, 2:-2] > 0).all()
    depths[:, :2] = 0
    again = build_cache4d(
        depths, frames, np.tile(np.eye(4), (2, 1, 1)), [16.0, 16.0, 8.0, 6.0], 0.05, valid=valid
    )
    assert again.seen is depths and np.array_equal(again.depth, cache.depth)


def test_frame_points_without_maps_for_an_identity_camera_are_cache_points():
    """FramePoints unprojects an identity-camera frame only where asked: the very numbers of Cache4D.points
    (and of its maps, used for a moved camera), whole frame and masked."""
    from shotsmith.recapture import Cache4D, FramePoints

    rng = np.random.default_rng(5)
    t_, h, w = 2, 31, 47
    depth = rng.uniform(0.3, 7.0, (t_, h, w)).astype(np.float32)
    depth[rng.random((t_, h, w)) < 0.2] = 0
    poses = np.tile(np.eye(4), (t_, 1, 1))
    poses[1, :3, 3] = [0.1, -0.05, 0.2]
    rgb = rng.integers(0, 256, (t_, h, w, 3), dtype=np.uint8)
    cache = Cache4D(depth, rgb, poses, [51.3, 49.7, 23.1, 16.4])
    memo = FramePoints(cache)
    mask = rng.random((h, w)) < 0.1
    for t in (0, 1):
        for m in (None, mask):
            got, want = memo.points(t, m), cache.points(t, m)
            assert all(g.dtype == x.dtype and np.array_equal(g, x) for g, x in zip(got, want, strict=True))
    assert 0 not in memo._maps and 1 in memo._maps  # no maps for the identity camera
