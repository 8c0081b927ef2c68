"""Camera rigs: spec parsing, SynCamMaster geometry (REFERENCE 6.1 / 6.2), scene conversion, validation, and the
rig stages end to end on a tiny workspace (synchronised views, grid, views that agree in 3D)."""

from __future__ import annotations

import json
import math
import tomllib

import numpy as np
import pytest

from shotsmith import workspace as W
from shotsmith.camera import CameraPath
from shotsmith.errors import InputError, PresetError, ShotsmithError
from shotsmith.rigs import (
    SUBJECT,
    check_clear,
    list_rigs,
    load_rig,
    native_poses,
    resolve_params,
    rig_paths,
    rigs_dir,
    split_spec,
)

H, WIDTH, F = 48, 64, 60.0
SUBJ = np.array(SUBJECT)


def _raw(name: str) -> dict:
    with open(rigs_dir() / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


def _native(name: str, given: dict | None = None) -> dict[str, np.ndarray]:
    from shotsmith.rigs import _params

    raw = _raw(name)
    params = resolve_params(name, _params(raw, name), given or {}, {"ref": "", "ref_dist": ""})
    return native_poses(raw, params, name, name)


def _ue(m: np.ndarray) -> np.ndarray:
    """UE row-vector matrix (rows forward, right, up, position in cm) of a native pose."""
    from shotsmith.formats import ue_from_opencv

    return ue_from_opencv(m, 100.0)


def _looks_at(pose: np.ndarray, target: np.ndarray, tol: float = 1e-9) -> bool:
    d = target - pose[:3, 3]
    return abs(pose[:3, 2] @ d / np.linalg.norm(d) - 1.0) < tol


# ---------------------------------------------------------------------------------------------------------------
# Specs


class TestSpec:
    def test_split(self):
        assert split_spec("hemi36:dist=4,elev=15") == ("hemi36", {"dist": "4", "elev": "15"})
        assert split_spec("syncam-val") == ("syncam-val", {})
        assert split_spec(" ring : n=8 , radius=1 ") == ("ring", {"n": "8", "radius": "1"})

    def test_list(self):
        rigs = {r.name: r for r in list_rigs()}
        assert {"hemi36", "syncam-val", "ring", "arc", "line"} <= set(rigs)
        assert rigs["hemi36"].cameras == 36 and rigs["syncam-val"].cameras == 10
        assert all(r.description for r in rigs.values())

    @pytest.mark.parametrize(
        ("spec", "words"),
        [
            ("hemi37", "did you mean hemi36"),
            ("ring:radius=abc", "not a number"),
            ("ring:n=2.5", "whole number"),
            ("ring:size=3", "unknown parameter"),
            ("line:aim=sideways", "choose one of forward, subject"),
            ("hemi36:elev=95", "above 89"),
            ("ring:n", "KEY=VALUE"),
            ("ring:n=0", "no cameras"),
            ("arc:n=0", "no cameras"),
            ("hemi36:ref=Z_01", "not one of its cameras"),
            ("", "empty rig"),
        ],
    )
    def test_bad_specs(self, spec, words):
        with pytest.raises(PresetError) as exc:
            load_rig(spec)
        assert words in str(exc.value) and "\n" not in str(exc.value)

    def test_cli_lists_rigs(self, cli):
        code, _out, err = cli("rigs")
        assert code == 0, err


# ---------------------------------------------------------------------------------------------------------------
# SynCamMaster geometry


class TestHemi36:
    @pytest.mark.parametrize(("dist", "elev"), [(4.0, 15.0), (7.0, 45.0), (5.0, 0.0)])
    def test_matches_reference_6_1(self, dist, elev):
        native = _native("hemi36", {"dist": str(dist), "elev": str(elev)})
        assert len(native) == 36
        groups = {"C": 10.0, "A": 130.0, "B": 250.0}
        e = math.radians(elev)
        for name, m in native.items():
            g, k = name.split("_")[0], int(name.split("_")[1])
            assert name.endswith("_18mm")
            a = math.radians(groups[g] + 10.0 * (k - 1))
            rows = _ue(m)
            want = 100 * dist * np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
            np.testing.assert_allclose(rows[3, :3], want, atol=1e-9)  # position D (cos E cos A, ...) in cm
            np.testing.assert_allclose(
                rows[0, :3], -want / np.linalg.norm(want), atol=1e-12
            )  # forward -> centre
            assert np.linalg.det(rows[:3, :3]) == pytest.approx(1.0)  # proper in the raw UE layout
            assert rows[2, 2] >= -1e-12  # the camera's up keeps world up (no roll)
        np.testing.assert_allclose(_ue(native["B_12_18mm"])[3, 1], 0.0, atol=1e-9)  # B_12 = A 0 degrees

    def test_scene_conversion(self):
        rig = load_rig("hemi36:dist=5,elev=30")
        assert rig.metres_per_unit == pytest.approx(5.0)
        ref = rig.names.index("B_12_18mm")
        np.testing.assert_allclose(
            rig.poses[ref], np.eye(4), atol=1e-12
        )  # the reference is the source camera
        for pose in rig.poses:
            assert np.linalg.norm(pose[:3, 3] - SUBJ) == pytest.approx(1.0)
            assert _looks_at(pose, SUBJ)
        far = load_rig("hemi36:dist=6,ref_dist=4")
        assert all(np.linalg.norm(p[:3, 3] - SUBJ) == pytest.approx(1.5) for p in far.poses)

    def test_ue_export_round_trip(self, tmp_path):
        from shotsmith.formats import write_camera_file

        rig = load_rig("hemi36:dist=4,elev=15")
        base = CameraPath(np.eye(4)[None], [F, F, WIDTH / 2, H / 2], WIDTH, H)
        paths = rig_paths(rig, base)
        out = tmp_path / "Hemi36_4m_15.json"
        write_camera_file(out, paths, "ue", ue_scale=400)
        back = load_rig(f"{out}:ref=B_12_18mm")
        assert sorted(back.names) == sorted(rig.names)
        for name, pose in zip(rig.names, rig.poses, strict=True):
            np.testing.assert_allclose(back.poses[back.names.index(name)], pose, atol=1e-9)


class TestSyncamVal:
    def test_matches_reference_6_2(self):
        native = _native("syncam-val")
        rows = {n: _ue(m) for n, m in native.items()}
        ref = rows["cam03"][3, :3]
        np.testing.assert_allclose(rows["cam03"][0, :3], [1, 0, 0], atol=1e-12)  # cam03 looks along +X
        centre = ref + np.array([300.0, 0, 0])  # the look-at centre 3 m ahead
        for n, r in rows.items():
            d = centre - r[3, :3]
            np.testing.assert_allclose(r[0, :3], d / np.linalg.norm(d), atol=1e-12, err_msg=n)
        # cam01..05: azimuth +30..-30 on the 3 m circle; cam01 1.5 m to +Y (right), yawed 30 degrees back
        for n, az in zip(["cam01", "cam02", "cam03", "cam04", "cam05"], [30, 15, 0, -15, -30], strict=True):
            off = rows[n][3, :3] - centre
            assert np.linalg.norm(off) == pytest.approx(300.0)
            assert math.degrees(math.atan2(off[1], -off[0])) == pytest.approx(az)
        assert rows["cam01"][3, 1] - ref[1] == pytest.approx(150.0)
        assert math.degrees(math.atan2(-rows["cam01"][0, 1], rows["cam01"][0, 0])) == pytest.approx(30.0)
        # cam06..08 raised by 3 m tan(10/20/30) and pitched down, X unchanged
        for n, h, pitch in zip(["cam06", "cam07", "cam08"], [52.9, 109.2, 173.2], [10, 20, 30], strict=True):
            np.testing.assert_allclose(rows[n][3, :3] - ref, [0.0, 0.0, h], atol=0.05)
            assert math.degrees(math.asin(-rows[n][0, 2])) == pytest.approx(pitch)
        np.testing.assert_allclose(rows["cam09"][3, :3] - ref, [-100.0, 0, 0], atol=1e-9)
        np.testing.assert_allclose(rows["cam10"][3, :3] - ref, [-200.0, 0, 0], atol=1e-9)

    def test_scene(self):
        rig = load_rig("syncam-val")
        poses = dict(zip(rig.names, rig.poses, strict=True))
        np.testing.assert_allclose(poses["cam03"], np.eye(4), atol=1e-12)
        np.testing.assert_allclose(
            poses["cam01"][:3, 3], [0.5, 0.0, 1 - math.cos(math.radians(30))], atol=1e-12
        )
        np.testing.assert_allclose(poses["cam10"][:3, 3], [0.0, 0.0, -2.0 / 3.0], atol=1e-12)
        assert all(_looks_at(p, SUBJ) for p in rig.poses)


class TestParametric:
    def test_ring(self):
        rig = load_rig("ring:n=4,radius=0.3")
        np.testing.assert_allclose(
            rig.poses[:, :3, 3], [[0.3, 0, 0], [0, -0.3, 0], [-0.3, 0, 0], [0, 0.3, 0]], atol=1e-12
        )
        assert all(_looks_at(p, SUBJ) for p in rig.poses)
        tilted = load_rig("ring:n=8,radius=1,elev=10")
        axis = np.array(
            [0.0, -math.sin(math.radians(10)), -math.cos(math.radians(10))]
        )  # subject -> axis cam (up = -y)
        for p in tilted.poses:
            off = p[:3, 3] - (SUBJ + axis)
            assert abs(off @ axis) < 1e-9 and np.linalg.norm(off) == pytest.approx(1.0)

    def test_arc_and_line(self):
        arc = load_rig("arc:n=5,span=60")
        az = [math.degrees(math.atan2(p[0, 3], 1 - p[2, 3])) for p in arc.poses]
        np.testing.assert_allclose(az, [-30, -15, 0, 15, 30], atol=1e-9)
        ring = load_rig("arc:n=4,span=360")
        assert len({tuple(np.round(p[:3, 3], 6)) for p in ring.poses}) == 4
        line = load_rig("line:n=4,spacing=0.2")
        np.testing.assert_allclose(line.poses[:, 0, 3], [-0.3, -0.1, 0.1, 0.3])
        np.testing.assert_allclose(line.poses[:, :3, :3], np.tile(np.eye(3), (4, 1, 1)))
        toed = load_rig("line:n=2,spacing=0.2,aim=subject")
        assert all(_looks_at(p, SUBJ) for p in toed.poses)

    def test_paths_apply_the_move_in_each_camera_frame(self):
        from shotsmith.presets import path_from_spec

        base = path_from_spec("dolly_in", frames=5, width=WIDTH, height=H)
        one = rig_paths(load_rig("arc:n=1"), base)["cam01"]
        np.testing.assert_allclose(one.world_from_camera, base.world_from_camera, atol=1e-12)
        paths = rig_paths(load_rig("ring:n=4,radius=0.3"), base)
        for p in paths.values():
            assert len(p) == 5 and p.width == WIDTH
            d0, d1 = (np.linalg.norm(p.centers[i] - SUBJ) for i in (0, -1))
            assert d0 - d1 == pytest.approx(0.35, abs=1e-9)  # each camera dollies toward the subject
            assert _looks_at(p.world_from_camera[-1], SUBJ)


# ---------------------------------------------------------------------------------------------------------------
# Bad rigs


class TestValidation:
    def test_camera_inside_subject(self):
        with pytest.raises(InputError, match="inside the subject"):
            load_rig("arc:n=3,dist=0.05")

    def test_camera_inside_cache_surface(self):
        rig = load_rig("ring:n=4,radius=0.3")
        depth = np.ones((H, WIDTH), np.float32)
        with pytest.raises(InputError, match="inside the scene"):
            check_clear(rig, {"cam01": np.array([[0.1, 0.0, 1.05]])}, depth=depth, intrinsics=[F, F, 32, 24])
        check_clear(rig, {"cam01": np.array([[0.1, 0.0, 0.5]])}, depth=depth, intrinsics=[F, F, 32, 24])

    def test_zero_cameras_and_duplicates_in_files(self, tmp_path):
        empty = tmp_path / "empty.toml"
        empty.write_text('[rig]\ndescription = "none"\nunits = "metres"\n')
        with pytest.raises(PresetError, match="no cameras"):
            load_rig(str(empty))
        dup = tmp_path / "dup.toml"
        cam = '[[camera]]\nname = "a"\nazimuth = 180.0\nelevation = 0.0\ndistance = 2.0\n'
        dup.write_text('[rig]\nunits = "metres"\n' + cam + cam)
        with pytest.raises(PresetError, match="duplicate camera name 'a'"):
            load_rig(str(dup))
        ue = tmp_path / "camera_extrinsics.json"
        row = "[1 0 0 0] [0 1 0 0] [0 0 1 0] [0 0 0 1]"
        ue.write_text('{"frame0": {"cam01": "' + row + '", "cam01": "' + row + '"}}')
        with pytest.raises(InputError, match="duplicate camera name 'cam01'"):
            load_rig(str(ue))
        with pytest.raises(InputError, match="no such file"):
            load_rig(str(tmp_path / "missing.json"))

    def test_cli_error_is_one_line(self, cli, tmp_path):
        code, _out, err = cli("render-guidance-rig", "-w", tmp_path / "ws", "--rig", "ring:n=0")
        assert code == 1 and "no cameras" in err and err.strip().count("\n") == 0


# ---------------------------------------------------------------------------------------------------------------
# End to end on a tiny workspace


BLOB = (
    slice(12, 16),
    slice(44, 48),
)  # rows, cols of a red 4x4 blob in the source image; centre pixel (46, 14)
BLOB_DEPTH = 0.6


@pytest.fixture
def rig_ws(tmp_path):
    """A 64x48 cache (grey texture at depth 1 with a red blob; a nearer box at the left for disocclusions) and a
    5-frame trajectory dollying in by 0.1."""
    from shotsmith.artifacts import CacheInfo
    from shotsmith.formats import write_trajectory
    from shotsmith.media import write_image
    from shotsmith.ply import write_points

    rng = np.random.default_rng(0)
    ws = W.Workspace(tmp_path / "ws").create()
    image = np.repeat(rng.integers(90, 150, size=(H, WIDTH, 1)), 3, axis=2).astype(np.uint8)
    image[..., 1] += 20
    depth = np.ones((H, WIDTH), np.float32)
    depth[8:20, 40:52] = BLOB_DEPTH  # the blob sits on a nearer patch, so the views see it with parallax
    image[BLOB] = (255, 0, 0)
    depth[10:30, 4:16] = 0.8
    image[10:30, 4:16] = (40, 60, 200)
    ys, xs = np.mgrid[0:H, 0:WIDTH]
    pts = np.stack([(xs + 0.5 - WIDTH / 2) / F * depth, (ys + 0.5 - H / 2) / F * depth, depth], -1)
    ws.path(W.CACHE_DIR).mkdir()
    np.save(ws.path(W.CACHE_DEPTH), depth)
    write_image(ws.path(W.CACHE_IMAGE), image)
    write_points(ws.path(W.CACHE_POINTS), pts.reshape(-1, 3), image.reshape(-1, 3))
    info = CacheInfo(width=WIDTH, height=H, intrinsics=[F, F, WIDTH / 2, H / 2], num_points=H * WIDTH)
    ws.path(W.CACHE_JSON).write_text(json.dumps(info.to_json()))
    poses = np.tile(np.eye(4), (5, 1, 1))
    poses[:, 2, 3] = np.linspace(0.0, 0.1, 5)
    write_trajectory(ws.path(W.TRAJECTORY), CameraPath(poses, [F, F, WIDTH / 2, H / 2], WIDTH, H, fps=8))
    return ws


def _run_rig(cli, ws, spec):
    code, _out, err = cli("render-guidance-rig", "-w", ws.root, "--rig", spec)
    assert code == 0, err
    code, _out, err = cli("generate-rig", "-w", ws.root, "--generator", "inpaint")
    assert code == 0, err


def test_ring_gives_synchronised_views_and_grid(cli, rig_ws):
    from shotsmith.formats import read_camera_rig
    from shotsmith.media import read_video

    _run_rig(cli, rig_ws, "ring:n=4,radius=0.3")
    videos = [read_video(rig_ws.path(W.output_cam(i))) for i in range(1, 5)]
    assert all(v.shape == (5, H, WIDTH, 3) and fps == pytest.approx(8) for v, fps in videos)
    grid, _ = read_video(rig_ws.path(W.OUTPUT_GRID))
    assert grid.shape == (5, 2 * H, 2 * WIDTH, 3)
    rig = json.loads(rig_ws.path(W.RIG_JSON).read_text())
    assert [c["name"] for c in rig["cameras"]] == ["cam01", "cam02", "cam03", "cam04"]
    assert rig_ws.path(W.guidance_file("trajectory", 4)).exists()
    ue = read_camera_rig(rig_ws.path(W.RIG_UE_JSON), ue_scale=rig["ue_scale"], relative=False)
    assert len(ue) == 4 and all(len(c) == 5 for c in ue.values())
    before = rig_ws.record("generate-rig")
    code, _out, err = cli("generate-rig", "-w", rig_ws.root, "--generator", "inpaint")
    assert code == 0 and "unchanged, skipping" in err and rig_ws.record("generate-rig") == before


def _red_centroid(frame: np.ndarray) -> np.ndarray:
    f = frame.astype(np.float64)
    red = f[..., 0] - 0.5 * (f[..., 1] + f[..., 2])
    w = np.clip(red - 60.0, 0, None)
    ys, xs = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]]
    return np.array([(w * (xs + 0.5)).sum(), (w * (ys + 0.5)).sum()]) / w.sum()


def test_a_3d_point_lands_at_its_projection_in_every_view(cli, rig_ws):
    from shotsmith.formats import read_trajectory
    from shotsmith.media import read_video

    _run_rig(cli, rig_ws, "arc:n=2,span=24")
    blob = BLOB_DEPTH * np.array(
        [(46.0 - WIDTH / 2) / F, (14.0 - H / 2) / F, 1.0]
    )  # the blob's centre in the world
    seen = []
    for i in (1, 2):
        video, _ = read_video(rig_ws.path(W.output_cam(i)))
        cam = read_trajectory(rig_ws.path(W.guidance_file("trajectory", i)))
        for t in (0, 4):
            p = cam.camera_from_world[t, :3, :3] @ blob + cam.camera_from_world[t, :3, 3]
            uv = cam.intrinsics[t, :2] * p[:2] / p[2] + cam.intrinsics[t, 2:]
            err = np.linalg.norm(_red_centroid(video[t]) - uv)
            assert err < 1.5, (i, t, uv, err)
            seen.append(uv)
    assert np.linalg.norm(seen[0] - seen[2]) > 3  # the two views really see it at different places


def test_inpaint_fills_hidden_regions_once_for_all_views(rig_ws):
    """With the rig's shared settings every view builds the very same fill layers from the source cache."""
    from shotsmith.backends.inpaint import InpaintReport, InpaintSettings, build_layers
    from shotsmith.stages.generate import Config, shared_inpaint_settings, source_request

    base = CameraPath(np.eye(4)[None].repeat(3, 0), [F, F, WIDTH / 2, H / 2], WIDTH, H)
    paths = list(rig_paths(load_rig("arc:n=3,span=40"), base).values())
    template = source_request(rig_ws, Config())
    shared = shared_inpaint_settings(InpaintSettings(), template, paths)
    layers = [build_layers(_with(template, cameras=p), shared, InpaintReport()) for p in paths]
    for other in layers[1:]:
        np.testing.assert_array_equal(other.points, layers[0].points)
        np.testing.assert_array_equal(other.colors, layers[0].colors)
    alone = [build_layers(_with(template, cameras=p), InpaintSettings(), InpaintReport()) for p in paths]
    assert (
        len({len(layer.points) for layer in alone}) > 1
    )  # per-view sizing would give each view its own fill


def _with(request, **kw):
    from dataclasses import replace

    return replace(request, **kw)


def test_missing_guidance_is_a_clear_error(cli, rig_ws):
    code, _out, err = cli("generate-rig", "-w", rig_ws.root, "--generator", "inpaint")
    assert code == 1 and "render-guidance --rig" in err


def test_shotsmith_error_base():
    assert issubclass(PresetError, ShotsmithError)


@pytest.mark.neural
def test_wan_rig_runs_views_together_with_shared_noise(cli, rig_ws, monkeypatch, tiny_video_generator):
    """generate-rig with a (tiny, random) `wan` runs every view in one denoising loop, starting from noise shared
    where views see the same cache point; covered cells follow each view's own guidance."""
    import torch

    from shotsmith.media import read_video
    from shotsmith.stage import execute
    from shotsmith.stages import generate as generate_stage

    torch.set_num_threads(2)
    gen = tiny_video_generator("wan", False)
    monkeypatch.setattr(generate_stage.Config, "resolve", lambda self: (gen, "tiny test model"))
    code, _out, err = cli("render-guidance-rig", "-w", rig_ws.root, "--rig", "arc:n=3,span=16")
    assert code == 0, err
    cfg = generate_stage.Config(generator="wan", steps=2, guidance_scale=2.0, rig="arc:n=3,span=16")
    execute(rig_ws, generate_stage.STAGE, cfg)
    videos = [read_video(rig_ws.path(W.output_cam(i)))[0] for i in (1, 2, 3)]
    assert all(v.shape == (5, H, WIDTH, 3) for v in videos)
    assert read_video(rig_ws.path(W.OUTPUT_GRID))[0].shape[0] == 5
    runs = gen.last_runs
    assert [r.batch_size for r in runs] == [3, 3, 3]
    assert rig_ws.record("generate-rig").extra["views_per_batch"] == 3
    for run in runs:
        tied = run.latent_mask > 0
        assert tied.mean() > 0.5
        assert np.abs(run.latents - run.guide_latents).mean(axis=0)[tied].max() < 1e-5
    # cells of view 2 whose noise vector also starts a cell of view 1 or 3 (the same cache point, one grid cell)
    vectors = [{tuple(v) for v in r.noise.reshape(16, -1).T} for r in runs]
    middle = runs[1].noise.reshape(16, -1).T
    shared = np.mean([tuple(v) in vectors[0] or tuple(v) in vectors[2] for v in middle])
    assert shared > 0.5, shared
    # nearest-sample transfer: within a view nearly every cell keeps its own sample (i.i.d. statistics)
    assert all(len(v) > 0.9 * r.noise[0].size for v, r in zip(vectors, runs, strict=True))
    assert all(np.abs(r.noise.std() - 1.0) < 0.15 for r in runs)
