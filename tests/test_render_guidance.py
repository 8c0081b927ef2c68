"""Stage `render-guidance` end to end on a tiny workspace built in tmp_path (cache files + trajectory)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from shotsmith import formats
from shotsmith import workspace as W
from shotsmith.camera import CameraPath
from shotsmith.ply import write_points

H, WIDTH, F = 48, 64, 60.0


def render_guidance(ws, cfg=None, force=False):
    from shotsmith.stage import execute
    from shotsmith.stages.render_guidance import STAGE

    return execute(ws, STAGE, cfg, force=force)


def GuidanceOptions(**kw):  # noqa: N802 - the stage's Config
    from shotsmith.stages.render_guidance import Config

    return Config(**kw)


def render_workspace(ws, cfg):
    """(video, layered-object mask, fps) of the workspace's plan, rendered without writing."""
    from shotsmith import artifacts as A
    from shotsmith.stages.render_guidance import load_scene, render_camera

    cam = A.read_trajectory(ws)
    video, object_mask = render_camera(load_scene(ws, cfg.radius_factor), cam, cfg)
    return video, object_mask, cam.fps


def _pose(yaw_deg: float = 0.0, t=(0.0, 0.0, 0.0)) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("y", yaw_deg, degrees=True).as_matrix()
    m[:3, 3] = t
    return m


@pytest.fixture
def make_ws(tmp_path, textured_image):
    """Factory: a workspace with a 64x48 cache (a smooth surface at depth ~1) and a trajectory of `poses`."""

    def make(poses=None, cache_json: dict | None = None, name: str = "ws") -> W.Workspace:
        ws = W.Workspace(tmp_path / name).create()
        image = textured_image[:H, :WIDTH]
        ys, xs = np.mgrid[0:H, 0:WIDTH]
        depth = 1.0 + 0.2 * xs / WIDTH
        pts = np.stack([(xs + 0.5 - WIDTH / 2) / F * depth, (ys + 0.5 - H / 2) / F * depth, depth], -1)
        ws.path(W.CACHE_DIR).mkdir()
        write_points(ws.path(W.CACHE_POINTS), pts.reshape(-1, 3), image.reshape(-1, 3))
        info = cache_json or {
            "schema_version": 1,
            "width": WIDTH,
            "height": H,
            "intrinsics": [F, F, WIDTH / 2, H / 2],
            "world_from_camera": np.eye(4).tolist(),
            "num_points": H * WIDTH,
        }
        ws.path(W.CACHE_JSON).write_text(json.dumps(info))
        poses = np.stack(poses if poses is not None else [_pose(), _pose(3.0), _pose(6.0, (0.05, 0, 0))])
        cam = CameraPath(
            world_from_camera=poses, intrinsics=[F, F, WIDTH / 2, H / 2], width=WIDTH, height=H, fps=8
        )
        formats.write_trajectory(ws.path(W.TRAJECTORY), cam)
        return ws

    return make


def test_writes_guidance_files(make_ws, cli, textured_image):
    from shotsmith.media import read_mask_video, read_video

    ws = make_ws()
    code, _out, err = cli("render-guidance", "-w", ws.root, "--frames-png")
    assert code == 0, err
    rgb, fps = read_video(ws.path(W.GUIDANCE_RGB))
    assert rgb.shape == (3, H, WIDTH, 3) and fps == pytest.approx(8)
    mask = read_mask_video(ws.path(W.GUIDANCE_MASK))
    with np.load(ws.path(W.GUIDANCE_DEPTH)) as z:
        depth, zmask = z["depth"], z["mask"]
    assert depth.dtype == np.float16 and depth.shape == (3, H, WIDTH)
    assert zmask.dtype == bool and (mask == zmask).all()
    assert zmask[0].all() and not zmask[2].all()  # the source view is fully covered; the moved one is not
    assert (depth[~zmask] == 0).all() and (depth[zmask] > 0.9).all()
    assert rgb[2][~zmask[2]].mean() < 10  # empty pixels are black (up to H.264's chroma bleed at edges)
    err0 = np.abs(rgb[0].astype(float) - textured_image[:H, :WIDTH]).mean()
    assert err0 < 12  # frame 0 is the source image, through H.264
    frames = sorted(ws.path(W.GUIDANCE_FRAMES).glob("*.png"))
    assert [p.name for p in frames] == ["00000.png", "00001.png", "00002.png"]
    from shotsmith.media import read_image

    assert (read_image(frames[2])[~zmask[2]] == 0).all()  # exactly black in the lossless frames
    rec = ws.record("render-guidance")
    assert rec.status == "ok" and rec.backend in ("numba", "torch")
    assert W.GUIDANCE_DEPTH in rec.outputs and rec.extra["frames"] == 3
    assert not list(ws.path(W.GUIDANCE_DIR).glob(".*tmp*"))  # no temporary leftovers


def test_png_frames_match_the_render(make_ws):
    from shotsmith.media import read_image

    ws = make_ws()
    render_guidance(ws, GuidanceOptions(frames_png=True, backend="torch"))
    video, object_mask, _fps = render_workspace(ws, GuidanceOptions(backend="numba"))
    assert object_mask is None
    png = read_image(ws.path(W.guidance_frame(1)))
    assert np.abs(png.astype(int) - video.rgb[1]).max() <= 1  # torch (written) vs numba (here)


def test_rerun_is_skipped_and_backend_change_reruns(make_ws):

    ws = make_ws()
    first = render_guidance(ws, GuidanceOptions(backend="torch"))
    again = render_guidance(ws, GuidanceOptions(backend="torch"))
    assert again.extra.get("skipped") and again.finished == first.finished
    other = render_guidance(ws, GuidanceOptions(backend="reference"))
    assert not other.extra.get("skipped") and other.backend == "reference"


def test_camera_inside_the_scene(make_ws):

    ws = make_ws(poses=[_pose(), _pose(0, (0, 0, 1.05)), _pose(180.0, (0, 0, 1.1))])  # through the surface
    rec = render_guidance(ws, GuidanceOptions())
    assert rec.status == "ok"
    with np.load(ws.path(W.GUIDANCE_DEPTH)) as z:
        assert z["mask"][0].all() and not z["mask"][2].all()


def test_minimal_cache_json_is_enough(make_ws):

    ws = make_ws(cache_json={"width": WIDTH, "height": H, "intrinsics": [F, F, WIDTH / 2, H / 2]})
    assert render_guidance(ws, GuidanceOptions()).status == "ok"


def test_missing_trajectory_is_one_clear_error(make_ws, cli):
    ws = make_ws()
    ws.path(W.TRAJECTORY).unlink()
    code, _out, err = cli("render-guidance", "-w", ws.root)
    assert code == 1 and "trajectory.json" in err and "plan-trajectory" in err


def test_bad_backend_is_rejected(make_ws, cli):
    ws = make_ws()
    code, _out, err = cli("render-guidance", "-w", ws.root, "--backend", "cuda")
    assert code == 1 and "cuda" in err


def test_layered_object_is_composited_with_its_own_mask(make_ws):

    ws = make_ws()
    g = np.linspace(-0.05, 0.05, 21)
    gx, gy = np.meshgrid(g, g)
    obj = np.stack([gx, gy, np.full_like(gx, 0.6)], -1).reshape(
        -1, 3
    )  # a small square in front of the surface
    ws.path(W.OBJECTS_DIR).mkdir()
    write_points(ws.path(W.object_ply("box")), obj, np.tile([[255, 0, 255]], (len(obj), 1)).astype(np.uint8))
    ws.write_json(W.OBJECTS_JSON, {"objects": [{"name": "box", "mode": "layered", "ply": W.object_ply("box"),
                                                 "radius": 0.004}]})  # fmt: skip
    rec = render_guidance(ws, GuidanceOptions())
    assert W.GUIDANCE_OBJECT_MASK in rec.outputs
    from shotsmith.media import read_mask_video

    obj_mask = read_mask_video(ws.path(W.GUIDANCE_OBJECT_MASK))
    assert obj_mask[0, H // 2, WIDTH // 2] and not obj_mask[0, 2, 2]
    with np.load(ws.path(W.GUIDANCE_DEPTH)) as z:
        assert float(z["depth"][0, H // 2, WIDTH // 2]) == pytest.approx(0.6, rel=1e-2)


def test_streamed_guidance_equals_the_rendered_video(make_ws):
    """The single camera's videos encode while it renders: depth.npz holds exactly the plain render."""
    from shotsmith.media import read_video

    ws = make_ws()
    render_guidance(ws, GuidanceOptions(backend="numba"))
    video, _mask, _fps = render_workspace(ws, GuidanceOptions(backend="numba"))
    with np.load(ws.path(W.GUIDANCE_DEPTH)) as z:
        assert (z["rgb"] == video.rgb).all() and (z["mask"] == video.mask).all()
        assert np.array_equal(z["depth"], video.depth.astype(np.float16))
    assert len(read_video(ws.path(W.GUIDANCE_RGB))[0]) == 3


def test_a_render_that_fails_midway_writes_nothing(make_ws, monkeypatch):
    """The writers follow the renderer; when it fails at frame 1 no guidance file appears (nor a temporary)."""
    import shotsmith.stages.render_guidance as RG

    ws = make_ws()
    real = RG.render_path

    def failing(*args, on_frame=None, **kw):
        def done(i):
            if i == 1:
                raise RuntimeError("boom at frame 1")
            on_frame(i)

        return real(*args, on_frame=done, **kw)

    monkeypatch.setattr(RG, "render_path", failing)
    with pytest.raises(Exception, match="boom at frame 1"):
        render_guidance(ws, GuidanceOptions())
    guidance = ws.path(W.GUIDANCE_DIR)
    assert not guidance.exists() or not list(guidance.iterdir())


def test_frame_gate_releases_waiters_in_order_and_on_failure():
    import threading

    from shotsmith.stages.render_guidance import FrameGate

    gate, seen = FrameGate(), []

    def reader():
        try:
            for i in range(4):
                gate.wait(i)
                seen.append(i)
        except RuntimeError:
            seen.append("stopped")

    t = threading.Thread(target=reader)
    t.start()
    gate.done(0)
    gate.done(1)
    gate.fail()
    t.join(5)
    assert not t.is_alive() and seen[-1] == "stopped" and set(seen[:-1]) <= {0, 1}


def test_guidance_handed_over_in_process_equals_the_files_and_a_changed_file_wins(make_ws):
    """`run` renders and generates in one process: the written guidance is kept for the next read of it, equal
    to what the files give, taken once; a depth.npz changed since (another writer, a hand edit) is read."""
    from shotsmith import artifacts as A

    ws = make_ws()
    render_guidance(ws, GuidanceOptions(backend="numba"))
    assert str(ws.path(W.GUIDANCE_DEPTH)) in A._HANDED_OVER
    kept = A.read_guidance(ws)
    assert not A._HANDED_OVER  # taken, not copied: generate writes into these arrays
    read = A.read_guidance(ws)  # from the files
    for name in ("rgb", "mask", "depth"):
        a, b = getattr(kept, name), getattr(read, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert kept.object_mask is None and read.object_mask is None

    render_guidance(ws, GuidanceOptions(backend="numba", radius_factor=1.7))
    assert A._HANDED_OVER
    with np.load(ws.path(W.GUIDANCE_DEPTH)) as z:
        stored = {k: z[k] for k in z.files}
    np.savez(ws.path(W.GUIDANCE_DEPTH), **{**stored, "depth": stored["depth"] * np.float16(2)})
    changed = A.read_guidance(ws)
    expect = np.where(changed.mask, stored["depth"].astype(np.float32) * 2, 0)
    assert np.allclose(changed.depth, expect) and changed.depth.max() > 1.9


def test_the_float16_depth_test_on_bits_is_numpys_for_every_value():
    """`_keep_positive` tests float16 depths on their bits (fast); for all 65536 values (zeros, subnormals,
    negatives, inf, NaN) it keeps exactly numpy's `depth > 0` and zeroes the depth elsewhere."""
    import warnings

    from shotsmith import artifacts as A

    values = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    depth, mask = values.copy(), np.ones(values.shape, bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = values > 0
    A._keep_positive(depth, mask)
    assert np.array_equal(mask, want)
    assert np.array_equal(depth.view(np.uint16), np.where(want, values, np.float16(0)).view(np.uint16))
    half = np.ones(4, bool)
    A._keep_positive(depth32 := np.array([1.0, 0.0, -1.0, np.nan], np.float32), half)
    assert half.tolist() == [True, False, False, False] and depth32.tolist()[:3] == [1.0, 0.0, 0.0]
