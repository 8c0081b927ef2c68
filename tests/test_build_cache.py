"""The build-3d-cache stage: artifacts, CacheInfo, skip-if-unchanged, bad inputs, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from shotsmith import workspace as W
from shotsmith.artifacts import CacheInfo, load_cache, read_cache_info
from shotsmith.errors import InputError, ShotsmithError, WorkspaceError
from shotsmith.geometry import unproject_depth
from shotsmith.ply import read_points
from shotsmith.stage import execute
from shotsmith.stages.build_cache import STAGE
from shotsmith.stages.build_cache import Config as CacheOptions


def build_cache(ws, cfg=None, force=False):
    return execute(ws, STAGE, cfg, force=force)


@pytest.fixture
def photo(tmp_path, textured_image):
    path = tmp_path / "photo.png"
    Image.fromarray(textured_image).save(path)
    return path


def _ws(tmp_path):
    return W.Workspace(tmp_path / "ws")


def test_writes_all_artifacts(tmp_path, photo):
    ws = _ws(tmp_path)
    rec = build_cache(ws, CacheOptions(image=str(photo), depth="prior"))
    assert rec.status == "ok" and rec.backend == "prior"
    for name in (W.CACHE_DEPTH, W.CACHE_IMAGE, W.CACHE_POINTS, W.CACHE_JSON):
        assert ws.exists(name), name
    info = read_cache_info(ws)
    assert (info.width, info.height) == (128, 96)
    assert info.fov_source == "default" and info.backend_units == "relative"
    assert info.image == "input/photo.png" and ws.exists(info.image)
    np.testing.assert_allclose(info.world_from_camera_array, np.eye(4))
    depth = np.load(ws.path(W.CACHE_DEPTH), allow_pickle=False)
    assert depth.dtype == np.float32 and depth.shape == (96, 128)
    # scene units: the median of the valid depth before filtering is 1; the kept depth stays close to it
    assert 0.7 < np.median(depth[depth > 0]) < 1.4
    assert info.scale_to_backend_units == pytest.approx(info.subject_distance_backend_units)
    # points.ply is exactly unproject(depth.npy)[depth > 0], with the cache image's colours
    pts, cols = read_points(ws.path(W.CACHE_POINTS))
    assert len(pts) == info.num_points == int((depth > 0).sum())
    expected = unproject_depth(depth, info.intrinsics_array)[depth > 0]
    np.testing.assert_allclose(pts, expected, rtol=1e-6)
    cache = load_cache(ws)
    np.testing.assert_array_equal(cols, cache.image[depth > 0])
    world, colours = cache.points()
    np.testing.assert_allclose(world, pts, rtol=1e-6)


def test_rerun_skips_and_force_reruns(tmp_path, photo, capsys):
    ws = _ws(tmp_path)
    build_cache(ws, CacheOptions(image=str(photo), depth="prior"))
    first = ws.record("build-3d-cache")
    rec = build_cache(ws, CacheOptions(depth="prior"))  # the recorded image
    assert rec.extra.get("skipped") and rec.finished == first.finished
    rec = build_cache(ws, CacheOptions(depth="prior", filter_threshold=0.1))
    assert not rec.extra.get("skipped")
    rec = build_cache(ws, CacheOptions(depth="prior", filter_threshold=0.1), force=True)
    assert not rec.extra.get("skipped")


def test_max_pixels_and_fov(tmp_path, photo):
    ws = _ws(tmp_path)
    build_cache(ws, CacheOptions(image=str(photo), depth="prior", max_pixels=3000, fov=90.0))
    info = read_cache_info(ws)
    assert info.width * info.height <= 3000 and (info.source_width, info.source_height) == (128, 96)
    assert info.fov_source == "user" and info.intrinsics[0] == pytest.approx(info.width / 2)
    img = np.asarray(Image.open(ws.path(W.CACHE_IMAGE)))
    assert img.shape == (info.height, info.width, 3)


def test_exif_focal_used(tmp_path, textured_image):
    path = tmp_path / "exif.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 24
    Image.fromarray(textured_image).save(path, exif=exif)
    ws = _ws(tmp_path)
    build_cache(ws, CacheOptions(image=str(path), depth="prior"))
    info = read_cache_info(ws)
    assert info.fov_source == "exif"
    assert info.intrinsics[0] == pytest.approx(24.0 * np.hypot(128, 96) / np.hypot(36, 24))


def test_depth_file_plane(tmp_path, photo):
    v = np.arange(96, dtype=np.float32)[:, None]
    plane = np.broadcast_to(4.0 + 0.01 * v, (96, 128)).astype(np.float32)
    np.save(tmp_path / "d.npy", plane)
    ws = _ws(tmp_path)
    rec = build_cache(ws, CacheOptions(image=str(photo), depth=str(tmp_path / "d.npy"), filter_threshold=0))
    assert rec.backend == "file" and "depth" in rec.inputs
    info = read_cache_info(ws)
    depth = np.load(ws.path(W.CACHE_DEPTH))
    np.testing.assert_allclose(depth * info.scale_to_backend_units, plane, rtol=1e-5)
    assert info.model == str(tmp_path / "d.npy")
    # a changed depth file reruns the stage
    np.save(tmp_path / "d.npy", plane * 2)
    assert not build_cache(ws, CacheOptions(depth=str(tmp_path / "d.npy"), filter_threshold=0)).extra.get(
        "skipped"
    )


def test_cache_info_round_trip_and_newer_schema():
    info = CacheInfo(width=4, height=3, intrinsics=[2.0, 2.0, 2.0, 1.5], backend="prior", num_points=12)
    again = CacheInfo.from_json(json.loads(json.dumps(info.to_json())))
    assert again == info
    with pytest.raises(ShotsmithError, match="newer"):
        CacheInfo.from_json(dict(info.to_json(), schema_version=99))
    with pytest.raises(ShotsmithError, match="missing key"):
        CacheInfo.from_json({"width": 3})


class TestBadInput:
    def test_no_image_anywhere(self, tmp_path):
        with pytest.raises(WorkspaceError, match="--image"):
            build_cache(_ws(tmp_path), CacheOptions(depth="prior"))

    def test_empty_image(self, tmp_path):
        (tmp_path / "empty.png").write_bytes(b"")
        with pytest.raises(InputError, match="empty"):
            build_cache(_ws(tmp_path), CacheOptions(image=str(tmp_path / "empty.png"), depth="prior"))

    def test_unreadable_image(self, tmp_path):
        (tmp_path / "bad.jpg").write_bytes(b"this is not a jpeg")
        with pytest.raises(InputError, match="not a readable image"):
            build_cache(_ws(tmp_path), CacheOptions(image=str(tmp_path / "bad.jpg"), depth="prior"))

    @pytest.mark.parametrize("mode", ["L", "I;16", "RGBA", "LA", "P"])
    def test_grey_16bit_alpha_handled(self, tmp_path, textured_image, mode):
        im = Image.fromarray(textured_image)
        if mode == "I;16":
            im = Image.fromarray(textured_image[..., 0].astype(np.uint16) * 257)
        elif mode == "RGBA":
            rgba = np.dstack([textured_image, np.full(textured_image.shape[:2], 128, np.uint8)])
            im = Image.fromarray(rgba)
        else:
            im = im.convert(mode)
        path = tmp_path / f"img_{mode.replace(';', '')}.png"
        im.save(path)
        ws = _ws(tmp_path)
        build_cache(ws, CacheOptions(image=str(path), depth="prior"))
        assert read_cache_info(ws).num_points > 0
        assert np.asarray(Image.open(ws.path(W.CACHE_IMAGE))).shape == (96, 128, 3)

    def test_wrong_size_depth_file(self, tmp_path, photo):
        np.save(tmp_path / "d.npy", np.ones((50, 50), np.float32))
        with pytest.raises(InputError, match=r"50x50 but the image is 128x96"):
            build_cache(_ws(tmp_path), CacheOptions(image=str(photo), depth=str(tmp_path / "d.npy")))

    def test_nan_negative_depth(self, tmp_path, photo):
        d = np.ones((96, 128), np.float32)
        d[:10] = np.nan
        d[10:20] = -3.0
        np.save(tmp_path / "d.npy", d)
        ws = _ws(tmp_path)
        rec = build_cache(ws, CacheOptions(image=str(photo), depth=str(tmp_path / "d.npy")))
        assert any("NaN" in n for n in rec.extra["notes"])
        depth = np.load(ws.path(W.CACHE_DEPTH))
        assert (depth[:20] == 0).all() and (depth[25:] == 1.0).all()

    def test_all_nan_depth(self, tmp_path, photo):
        np.save(tmp_path / "d.npy", np.full((96, 128), np.nan, np.float32))
        with pytest.raises(InputError, match="no valid"):
            build_cache(_ws(tmp_path), CacheOptions(image=str(photo), depth=str(tmp_path / "d.npy")))

    def test_bad_options(self, tmp_path, photo):
        with pytest.raises(InputError, match="--depth-kind"):
            build_cache(_ws(tmp_path), CacheOptions(image=str(photo), depth_kind="inverse"))  # type: ignore[arg-type]
        with pytest.raises(InputError, match="--fov"):
            build_cache(_ws(tmp_path), CacheOptions(image=str(photo), fov=200.0))

    def test_failed_run_keeps_old_cache(self, tmp_path, photo):
        ws = _ws(tmp_path)
        build_cache(ws, CacheOptions(image=str(photo), depth="prior"))
        before = (ws.path(W.CACHE_DEPTH).read_bytes(), ws.path(W.CACHE_JSON).read_text())
        np.save(tmp_path / "d.npy", np.full((96, 128), -1.0, np.float32))
        with pytest.raises(InputError):
            build_cache(ws, CacheOptions(depth=str(tmp_path / "d.npy")))
        assert (ws.path(W.CACHE_DEPTH).read_bytes(), ws.path(W.CACHE_JSON).read_text()) == before
        assert ws.record("build-3d-cache").status == "failed"


class TestCli:
    def test_ok(self, cli, tmp_path, photo):
        code, _, err = cli("build-3d-cache", "-w", tmp_path / "ws", "--image", photo, "--depth", "prior")
        assert code == 0, err
        assert "depth: prior" in err and "points" in err
        code, _, err = cli("build-3d-cache", "-w", tmp_path / "ws", "--depth", "prior")
        assert code == 0 and "unchanged" in err

    def test_errors_exit_1(self, cli, tmp_path, photo):
        (tmp_path / "empty.png").write_bytes(b"")
        code, _, err = cli("build-3d-cache", "-w", tmp_path / "ws", "--image", tmp_path / "empty.png")
        assert code == 1 and "empty" in err
        np.save(tmp_path / "d.npy", np.ones((7, 7), np.float32))
        code, _, err = cli(
            "build-3d-cache", "-w", tmp_path / "ws", "--image", photo, "--depth", tmp_path / "d.npy"
        )
        assert code == 1 and "7x7" in err
        code, _, err = cli("build-3d-cache", "-w", tmp_path / "ws2", "--depth", "prior")
        assert code == 1 and "no image recorded" in err
        code, _, err = cli("build-3d-cache", "-w", tmp_path / "ws", "--image", photo, "--depth", "nonsense")
        assert code == 1 and "unknown depth backend" in err


@pytest.mark.neural
def test_stage_with_tiny_depth_anything(tmp_path, photo, tiny_depth_anything):
    folder = tiny_depth_anything(tmp_path / "da2", metric=True)
    ws = _ws(tmp_path)
    rec = build_cache(ws, CacheOptions(image=str(photo), depth="auto", model=str(folder)))
    assert rec.backend == "depth-anything-v2" and "transformers" in rec.backend_version
    info = read_cache_info(ws)
    assert info.backend_units == "metres" and info.model == str(folder) and info.num_points > 0
