"""One scene from several photos (issue 16): depth fits, fusion, the world and units, the path through the photos,
the refusals, and the build-3d-cache / plan-trajectory stages on several photos (SfM replaced by a registration
computed from known cameras, so the fast tests need no pycolmap run; the slow ones run it on real frames)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shotsmith import artifacts as A
from shotsmith import multiview as mv
from shotsmith import workspace as W
from shotsmith.camera import default_intrinsics, invert_rigid
from shotsmith.errors import InputError
from shotsmith.geometry import subject_depth, unproject_depth
from shotsmith.media import read_image, read_video, write_image
from shotsmith.recapture import psnr
from shotsmith.stage import execute
from shotsmith.stages import build_cache, plan_trajectory, render_guidance

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


def _pose(x: float, y: float = 0.0, z: float = 0.0, yaw_deg: float = 0.0) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("y", yaw_deg, degrees=True).as_matrix()
    m[:3, 3] = (x, y, z)
    return m


# ---------------------------------------------------------------------------------------------------------------
# Depth fits


def test_fit_scale_shift_recovers_an_affine_depth_despite_outliers():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.5, 3.0, 300)
    target = 2.5 * pred - 0.7 + 0.0
    bad = rng.choice(300, 60, replace=False)  # 20% wrong matches
    target[bad] *= rng.uniform(1.5, 3.0, 60)
    fit = mv.fit_scale_shift(pred, target)
    assert fit.scale == pytest.approx(2.5, abs=1e-6)
    assert fit.shift == pytest.approx(-0.7, abs=1e-6)
    assert fit.num_inliers >= 240 and fit.num_points == 300
    assert fit.median_error < 1e-9


def test_fit_scale_shift_falls_back_to_a_scale_on_a_flat_depth():
    pred = np.full(50, 2.0)
    fit = mv.fit_scale_shift(pred, np.full(50, 6.0))
    assert (fit.scale, fit.shift) == (pytest.approx(3.0), 0.0)


def test_apply_fit_drops_pixels_the_shift_puts_behind_the_camera():
    depth = np.array([[0.0, 0.1, 1.0]], np.float32)
    out = mv.apply_fit(depth, mv.DepthFit(2.0, -0.5, 3, 3, 0.0))
    assert out.tolist() == [[0.0, 0.0, 1.5]]


# ---------------------------------------------------------------------------------------------------------------
# A synthetic scene: a textured wall at z = 3 seen by three cameras, registered as SfM would (SfM scale 2.0)


WALL_Z = 3.0
SFM_SCALE = 2.0


def _wall_photo(pose: np.ndarray, intr: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, z-depth) of the wall z = WALL_Z seen from `pose` (a textured pattern fixed to the wall)."""
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    fx, fy, cx, cy = intr
    rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], -1) @ pose[:3, :3].T
    t = (WALL_Z - pose[2, 3]) / rays[..., 2]
    hit = pose[:3, 3] + rays * t[..., None]
    z = (hit - pose[:3, 3]) @ pose[:3, 2]
    x, y = hit[..., 0], hit[..., 1]
    rgb = np.stack(
        [
            128 + 100 * np.sin(7 * x) * np.cos(5 * y),
            128 + 100 * np.sin(11 * x + 3 * y),
            128 + 100 * np.cos(9 * y - 2 * x),
        ],
        -1,
    )
    return rgb.clip(0, 255).astype(np.uint8), z.astype(np.float32)


def _registration(poses, intr, depths, names, registered=None) -> mv.PhotoRegistration:
    """What SfM would return: poses relative to photo 0 in SfM units and each photo's keypoints on the wall."""
    n = len(poses)
    rel = np.stack([invert_rigid(poses[0]) @ p for p in poses])
    rel[:, :3, 3] *= SFM_SCALE
    obs = []
    rng = np.random.default_rng(1)
    for i, depth in enumerate(depths):
        h, w = depth.shape
        rows, cols = rng.integers(0, h, 200), rng.integers(0, w, 200)
        cam = unproject_depth(depth, intr)[rows, cols].astype(np.float64) * SFM_SCALE
        world = cam @ rel[i][:3, :3].T + rel[i][:3, 3]
        obs.append((np.stack([cols + 0.5, rows + 0.5], 1).astype(np.float64), world))
    reg = np.ones(n, bool) if registered is None else np.asarray(registered)
    return mv.PhotoRegistration(list(names), reg, rel, np.tile(intr, (n, 1)), obs, 0.3, 600)


@pytest.fixture
def wall():
    w, h = 96, 64
    intr = default_intrinsics(w, h)
    poses = [_pose(0.0), _pose(0.4, 0.0, 0.2, -4.0), _pose(0.9, 0.05, 0.3, -8.0)]
    shots = [_wall_photo(p, intr, w, h) for p in poses]
    return poses, intr, [s[0] for s in shots], [s[1] for s in shots]


def test_to_scene_puts_the_world_at_the_first_photo_in_subject_units(wall):
    poses, intr, rgbs, depths = wall
    reg = _registration(poses, intr, depths, ["a", "b", "c"])
    # Each photo's depth as a monocular model might give it: its own scale and shift.
    raws = [(depths[0] - 0.3) / 1.7, depths[1] * 0.5 + 2.0, (depths[2] + 1.0) * 3.0]
    scene = mv.to_scene(raws, reg)
    unit = subject_depth(depths[0])
    assert np.abs(scene.world_from_camera[0] - np.eye(4)).max() < 1e-9
    assert scene.subject_sfm == pytest.approx(unit * SFM_SCALE, rel=1e-4)
    for i in range(3):
        truth = invert_rigid(poses[0]) @ poses[i]
        assert np.abs(scene.world_from_camera[i, :3, :3] - truth[:3, :3]).max() < 1e-9
        assert np.abs(scene.world_from_camera[i, :3, 3] - truth[:3, 3] / unit).max() < 1e-4
        assert np.abs(scene.depths[i] - depths[i] / unit).max() < 1e-3
    assert subject_depth(scene.depths[0]) == pytest.approx(1.0, abs=1e-5)


def test_fuse_keeps_the_first_photo_and_adds_only_what_it_does_not_see(wall):
    poses, intr, rgbs, depths = wall
    scene = mv.to_scene(depths, _registration(poses, intr, depths, ["a", "b", "c"]))
    fused = mv.fuse_photos(scene, rgbs, filter_threshold=0.0)
    h, w = depths[0].shape
    assert fused.added[0] == h * w  # the first photo whole
    assert np.count_nonzero(fused.source == 0) == h * w
    assert len(fused.points) == sum(fused.added) == len(fused.source) == len(fused.colors)
    # Photo 1 moved right by 0.4 (and turned): most of what it adds is the wall right of photo 0's view.
    fx, fy, cx, cy = intr
    unit = subject_depth(depths[0])
    edge_x = (w - cx) / fx * WALL_Z / unit  # photo 0's right edge on the wall (scene units)
    added1 = fused.points[fused.source == 1]
    assert len(added1) > 0 and np.mean(added1[:, 0] >= edge_x - 1e-3) > 0.9
    # Everything on the wall (no duplicated surface in front of or behind it).
    assert np.abs(fused.points[:, 2] - WALL_Z / unit).max() < 1e-3
    # Nothing photo 0 sees is added twice: the added points of photos 1, 2 project outside photo 0's frame.
    later = fused.points[fused.source > 0]
    u = fx * later[:, 0] / later[:, 2] + cx
    v = fy * later[:, 1] / later[:, 2] + cy
    assert ((u >= w - 1e-3) | (u < 1e-3) | (v >= h - 1e-3) | (v < 1e-3)).all()


def test_photo_0_is_what_a_render_from_the_identity_shows(wall):
    from shotsmith.camera import CameraPath
    from shotsmith.render import render_path

    poses, intr, rgbs, depths = wall
    scene = mv.to_scene(depths, _registration(poses, intr, depths, ["a", "b", "c"]))
    fused = mv.fuse_photos(scene, rgbs, filter_threshold=0.0)
    h, w = depths[0].shape
    video = render_path(
        fused.points, fused.colors, CameraPath(np.eye(4)[None], intr, w, h), radius=fused.radius
    )
    assert psnr(video.rgb[0], rgbs[0]) > 35.0


def test_unregistered_photos_are_named_with_what_to_try(wall):
    poses, intr, rgbs, depths = wall
    reg = _registration(poses, intr, depths, ["a.jpg", "b.jpg", "c.jpg"], registered=[True, True, False])
    with pytest.raises(InputError) as exc:
        mv.to_scene(depths, reg)
    msg = str(exc.value)
    assert msg.startswith("c.jpg:") and "a.jpg" not in msg and "\n" not in msg
    assert "more overlap" in msg and "fewer photos" in msg and "2 of 3" in msg


def test_two_photos_with_nothing_shared_are_refused_not_fused():
    """SfM gives no model for two photos of different things; the refusal names the second one."""
    none = mv.PhotoRegistration(
        ["wall.png", "sky.png"], np.zeros(2, bool), np.full((2, 4, 4), np.nan), np.ones((2, 4)), [], error="x"
    )
    with pytest.raises(InputError, match=r"^wall.png, sky.png: pycolmap could not place these photos"):
        none.check()


def test_a_photo_whose_depth_misses_the_sparse_points_is_refused(wall):
    poses, intr, rgbs, depths = wall
    reg = _registration(poses, intr, depths, ["a", "b", "c"])
    holed = [depths[0], np.zeros_like(depths[1]), depths[2]]
    with pytest.raises(InputError, match=r"^b: only 0 of the scene's sparse points"):
        mv.to_scene(holed, reg)


def _rotation_registration(poses, intr, names) -> mv.PhotoRegistration:
    n = len(poses)
    rel = np.stack([invert_rigid(poses[0]) @ p for p in poses])
    empty = [(np.zeros((0, 2)), np.zeros((0, 3)))] * n
    return mv.PhotoRegistration(
        list(names), np.ones(n, bool), rel, np.tile(intr, (n, 1)), empty, model="rotation-only"
    )


def test_photos_turning_in_place_are_aligned_densely():
    """No parallax, no sparse points (evaluate.rotation's model): each later photo's depth scale comes from
    recapture's robust alignment against the photos before it."""
    w, h = 96, 64
    intr = default_intrinsics(w, h)
    poses = [_pose(0, yaw_deg=0.0), _pose(0, yaw_deg=6.0), _pose(0, yaw_deg=12.0)]
    shots = [_wall_photo(p, intr, w, h) for p in poses]
    rgbs, depths = [s[0] for s in shots], [s[1] for s in shots]
    raws = [depths[0] * 2.0, depths[1] * 0.3, depths[2] * 5.0]  # each photo's own unknown scale
    scene = mv.to_scene(raws, _rotation_registration(poses, intr, "abc"), rgbs)
    unit = subject_depth(depths[0])
    for i in range(3):
        assert np.abs(scene.depths[i] / (depths[i] / unit) - 1.0).max() < 0.01
        assert np.abs(scene.world_from_camera[i, :3, 3]).max() == 0.0
    fused = mv.fuse_photos(scene, rgbs, filter_threshold=0.0)
    assert (
        fused.added[0] == w * h and 0 < fused.added[1] < w * h // 2
    )  # only the wall right of photo 0's view


def test_a_rotation_only_photo_that_overlaps_nothing_is_refused():
    """(The rotation model itself chains only photos with matches; this guards the depth alignment.)"""
    w, h = 96, 64
    intr = default_intrinsics(w, h)
    poses = [_pose(0, yaw_deg=0.0), _pose(0, yaw_deg=80.0)]  # 60-degree views 80 degrees apart
    rgb0, d0 = _wall_photo(poses[0], intr, w, h)
    with pytest.raises(InputError, match=r"^b.png: shares almost nothing with the photos before it \(0.0%"):
        mv.to_scene([d0, d0], _rotation_registration(poses, intr, ["a.png", "b.png"]), [rgb0, rgb0])


# ---------------------------------------------------------------------------------------------------------------
# The path through the photos


def test_photo_path_visits_each_camera_smoothly():
    from shotsmith.camera import CameraPath

    cams = np.stack(
        [_pose(0.0), _pose(0.5, 0.1, 0.2, -10.0), _pose(1.2, 0.0, 0.1, -25.0), _pose(1.5, -0.1, 0.6, -5)]
    )
    path = mv.photo_path(cams, 31)
    CameraPath(path, default_intrinsics(64, 48), 64, 48)  # proper rotations, finite
    for k, frame in enumerate((0, 10, 20, 30)):
        assert np.abs(path[frame] - cams[k]).max() < 1e-9
    steps = np.linalg.norm(np.diff(path[:, :3, 3], axis=0), axis=1)
    assert steps.max() < 2.5 * np.median(steps)  # no jump
    accel = np.linalg.norm(np.diff(path[:, :3, 3], 2, axis=0), axis=1)
    assert accel.max() < 0.5 * steps.mean()  # no kink at a photo


def test_photo_path_needs_two_cameras():
    with pytest.raises(InputError, match="at least two"):
        mv.photo_path(np.eye(4)[None], 10)


# ---------------------------------------------------------------------------------------------------------------
# The stages on several photos


def test_photo_list_expands_folders_in_name_order(tmp_path):
    for name in ("b.png", "a.jpg", "notes.txt", "c.PNG"):
        (tmp_path / name).write_bytes(b"x")
    assert [Path(p).name for p in build_cache.photo_list(str(tmp_path))] == ["a.jpg", "b.png", "c.PNG"]
    assert build_cache.photo_list("one.png") == ["one.png"]
    assert build_cache.photo_list(None) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"^--images .*empty: no photos in this folder"):
        build_cache.photo_list([str(empty)])


def test_one_image_as_a_list_builds_the_same_cache_as_today(tmp_path):
    rgb, _ = _wall_photo(np.eye(4), default_intrinsics(64, 48), 64, 48)
    photo = tmp_path / "p.png"
    write_image(photo, rgb)
    out = {}
    for label, image in (("str", str(photo)), ("list", [str(photo)])):
        ws = W.Workspace(tmp_path / label)
        execute(ws, build_cache.STAGE, build_cache.Config(image=image, depth="prior"))
        out[label] = {n: ws.path(n).read_bytes() for n in (W.CACHE_DEPTH, W.CACHE_POINTS, W.CACHE_JSON)}
        assert not ws.exists(W.CACHE_PHOTOS) and not ws.exists(W.CACHE_SOURCES)
        assert "images" not in A.request(ws)
    assert out["str"] == out["list"]


def _fake_register(poses, registered=None):
    """A stand-in for pycolmap: the registration of the known cameras, keypoints on each photo's own depth."""

    def register(photos, intrinsics, folder, names=None, **_):
        from shotsmith.backends.depth import resolve_depth

        backend, _why = resolve_depth("prior", announce=False)
        backend.load()
        depths = [backend(p).depth.astype(np.float32) for p in photos]
        return _registration(poses, np.asarray(intrinsics)[0], depths, names, registered)

    return register


@pytest.fixture
def photo_files(tmp_path, wall):
    poses, intr, rgbs, _ = wall
    files = []
    for i, rgb in enumerate(rgbs):
        files.append(str(tmp_path / f"photo{i}.png"))
        write_image(files[-1], rgb)
    return poses, files


def test_build_3d_cache_from_three_photos_then_a_shot_through_them(tmp_path, photo_files, monkeypatch):
    poses, files = photo_files
    monkeypatch.setattr(mv, "register_photos", _fake_register(poses))
    ws = W.Workspace(tmp_path / "ws")
    execute(ws, build_cache.STAGE, build_cache.Config(image=files, depth="prior", filter_threshold=0.0))
    cams = A.read_photo_cameras(ws)
    assert [Path(n).name for n in cams.images] == ["photo0.png", "photo1.png", "photo2.png"]
    assert A.request(ws)["image"] == cams.images[0] and A.request(ws)["images"] == cams.images
    assert np.abs(cams.world_from_camera[0] - np.eye(4)).max() < 1e-12
    sources = A.read_cache_sources(ws)
    points, _ = A.read_cache_points(ws)
    assert len(sources) == len(points) == A.read_cache_info(ws).num_points
    assert np.count_nonzero(sources == 0) == 96 * 64 and set(np.unique(sources)) == {0, 1, 2}
    # A rerun with nothing changed is skipped; the path visits the photos and frame 0 is the first photo.
    assert execute(ws, build_cache.STAGE, build_cache.Config(depth="prior", filter_threshold=0.0)).extra.get(
        "skipped"
    )
    execute(ws, plan_trajectory.STAGE, plan_trajectory.Config(cam="through-photos", frames=9, size=(96, 64)))
    path = A.read_trajectory(ws)
    assert np.abs(path.world_from_camera[8] - cams.world_from_camera[2]).max() < 1e-6
    assert np.abs(path.world_from_camera[4] - cams.world_from_camera[1]).max() < 1e-6
    # Each point's footprint comes from its own photo's camera (what render-guidance can read).
    from shotsmith.render import point_radius

    radius = A.cache_point_radius(ws, points, factor=1.0)
    one = sources == 2
    own = point_radius(points[one], cams.world_from_camera[2], float(cams.intrinsics[2, 0]), factor=1.0)
    assert np.allclose(radius[one], own) and not np.allclose(
        radius[one], point_radius(points[one], np.eye(4), float(cams.intrinsics[0, 0]), factor=1.0)
    )
    execute(ws, render_guidance.STAGE, render_guidance.Config())
    exact = A.read_guidance(ws).rgb  # the exact render (rgb.mp4 is its lossy encoding)
    assert psnr(exact[0], read_image(files[0])) > 35.0


def test_each_photo_s_exif_focal_is_its_camera_for_sfm(tmp_path, wall, monkeypatch):
    from PIL import Image

    from shotsmith.geometry import focal_px_from_35mm

    poses, intr, rgbs, _ = wall
    files = []
    for i, (rgb, f35) in enumerate(zip(rgbs, (24, 50, None), strict=True)):
        files.append(str(tmp_path / f"p{i}.jpg"))
        exif = Image.Exif()
        if f35:
            exif.get_ifd(0x8769)[0xA405] = f35
        Image.fromarray(rgb).save(files[-1], exif=exif, quality=95)
    seen = {}
    fake = _fake_register(poses)

    def spy(photos, intrinsics, folder, names=None, **kw):
        seen["intrinsics"] = np.asarray(intrinsics)
        return fake(photos, intrinsics, folder, names, **kw)

    monkeypatch.setattr(mv, "register_photos", spy)
    ws = W.Workspace(tmp_path / "ws")
    execute(ws, build_cache.STAGE, build_cache.Config(image=files, depth="prior"))
    fx = seen["intrinsics"][:, 0]
    assert fx[0] == pytest.approx(focal_px_from_35mm(24, 96, 64))
    assert fx[1] == pytest.approx(focal_px_from_35mm(50, 96, 64))
    assert fx[2] == pytest.approx(default_intrinsics(96, 64)[0])  # no EXIF: 60 degrees
    facts = A.read_photo_cameras(ws).facts["photos"]
    assert [p["fov_source"] for p in facts] == ["exif", "exif", "default"]


def test_a_photo_that_did_not_register_is_refused_and_named(tmp_path, photo_files, monkeypatch):
    poses, files = photo_files
    monkeypatch.setattr(mv, "register_photos", _fake_register(poses, registered=[True, False, True]))
    ws = W.Workspace(tmp_path / "ws")
    with pytest.raises(InputError, match=r"^photo1.png: pycolmap could not place this photo"):
        execute(ws, build_cache.STAGE, build_cache.Config(image=files, depth="prior"))
    assert not ws.exists(W.CACHE_JSON) and not ws.exists(W.CACHE_POINTS)


def test_through_photos_on_a_one_photo_cache_says_what_to_do(tmp_path):
    rgb, _ = _wall_photo(np.eye(4), default_intrinsics(64, 48), 64, 48)
    write_image(tmp_path / "p.png", rgb)
    ws = W.Workspace(tmp_path / "ws")
    execute(ws, build_cache.STAGE, build_cache.Config(image=str(tmp_path / "p.png"), depth="prior"))
    with pytest.raises(InputError, match="not from several photos"):
        execute(ws, plan_trajectory.STAGE, plan_trajectory.Config(cam="through-photos"))


def test_a_depth_file_is_refused_for_several_photos(tmp_path, photo_files):
    _, files = photo_files
    np.save(tmp_path / "d.npy", np.ones((64, 96), np.float32))
    with pytest.raises(InputError, match="one photo's depth"):
        build_cache.Config(image=files, depth=str(tmp_path / "d.npy")).validate()


# ---------------------------------------------------------------------------------------------------------------
# Real frames of a video others shot (slow: pycolmap and depth on three 1920x1080 frames)


def _frames(video: Path, indices: list[int], folder: Path) -> list[str]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    w, h = meta["size"]
    out = []
    for i, buf in enumerate(reader):
        if i in indices:
            out.append(str(folder / f"frame{i:03d}.png"))
            write_image(out[-1], np.frombuffer(buf, np.uint8).reshape(h, w, 3))
        if i >= max(indices):
            break
    return out


@pytest.mark.slow
def test_three_frames_of_a_real_shot_make_one_scene_whose_frame_0_is_the_first(tmp_path):
    video = REAL / "recammaster_7.mp4"
    if not video.exists():
        pytest.skip(f"{video}: the real inputs are not here")
    files = _frames(video, [0, 70, 140], tmp_path)
    ws = W.Workspace(tmp_path / "ws")
    execute(ws, build_cache.STAGE, build_cache.Config(image=files, depth="prior"))
    cams = A.read_photo_cameras(ws)
    assert len(cams) == 3 and cams.facts["sfm"]["registered"] == 3
    assert all(p["depth_fit"]["inliers"] >= 50 for p in cams.facts["photos"])
    # The camera moves forward over the shot: the photos' centres go along +z in order.
    z = cams.world_from_camera[:, 2, 3]
    assert abs(z[0]) < 1e-12 and 0 < z[1] < z[2]
    execute(ws, plan_trajectory.STAGE, plan_trajectory.Config(cam="through-photos", frames=17))
    execute(ws, render_guidance.STAGE, render_guidance.Config())
    from shotsmith.media import resize_image

    rgb, _fps = read_video(ws.path(W.GUIDANCE_RGB))
    h, w = rgb.shape[1:3]
    first = read_image(files[0])
    s = max(w / first.shape[1], h / first.shape[0])
    big = resize_image(first, round(first.shape[1] * s), round(first.shape[0] * s))
    y, x = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    assert psnr(rgb[0], big[y : y + h, x : x + w]) > 30.0


@pytest.mark.slow
def test_two_real_photos_of_different_scenes_are_refused_not_fused(tmp_path):
    photos = [REAL / "gen3c_000000.png", REAL / "pexels-steve-858076.jpg"]
    if not all(p.exists() for p in photos):
        pytest.skip("the real inputs are not here")
    ws = W.Workspace(tmp_path / "ws")
    with pytest.raises(
        InputError, match=r"^gen3c_000000.png, pexels-steve-858076.jpg: pycolmap could not place"
    ):
        execute(ws, build_cache.STAGE, build_cache.Config(image=[str(p) for p in photos], depth="prior"))
    assert not ws.exists(W.CACHE_POINTS)
