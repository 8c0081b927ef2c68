"""The embedded `inpaint` generator and the pure fill functions, on a synthetic two-plane scene.

The scene (the `two_plane_scene` fixture, built in helpers.py): a striped background plane at z = 3 and a
foreground square at z = 1.5 (|x|, |y| <= 0.3) seen by a source camera at the origin; the target camera slides
right (and pans a little), which opens a disocclusion beside the square and an out-of-frame strip at the right
border. Guidance is rendered from the source view's points; ground-truth depth comes from ray casting the two
planes.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from shotsmith.backends.generate import GenerateRequest, get_generator, resolve_generator
from shotsmith.camera import make_pose
from shotsmith.fill import (
    background_layer,
    outpaint_canvas,
    per_frame_inpaint,
    push_pull_fill,
    temporal_instability,
    warp_sample,
)


@pytest.fixture(scope="module")
def scene(two_plane_scene):
    return two_plane_scene()


@pytest.fixture(scope="module")
def filled(scene):
    gen = get_generator("inpaint")
    return gen.generate(scene.request), gen.last_report


# ---------------------------------------------------------------------------------------------------------------
# Pure functions


class TestPushPull:
    def test_known_kept_and_holes_smooth(self):
        img = np.zeros((20, 30, 3), np.float32)
        img[:, :15] = 100.0
        img[:, 15:] = 200.0
        known = np.ones((20, 30), bool)
        known[5:15, 10:20] = False
        out = push_pull_fill(img, known)
        assert np.array_equal(out[known], img[known])
        assert out[~known].min() >= 100.0 - 1e-3 and out[~known].max() <= 200.0 + 1e-3
        assert out[10, 11, 0] < out[10, 18, 0]  # left side of the hole nearer the left colour

    def test_no_known_gives_zeros(self):
        out = push_pull_fill(np.ones((4, 4), np.float32), np.zeros((4, 4), bool))
        assert np.all(out == 0)

    @pytest.mark.parametrize("shape", [(48, 83, 4), (37, 53, 3), (1, 7, 2), (64, 64), (2, 1)])
    def test_values_at_the_holes_are_the_whole_fills(self, shape):
        """`at=` skips compositing the finest level: the same numbers, bit for bit, at every hole."""
        rng = np.random.default_rng(len(shape) * 100 + shape[0])
        img = rng.random(shape, dtype=np.float32) * 255
        known = rng.random(shape[:2]) < 0.6
        known.flat[0] = False
        rows, cols = np.nonzero(~known)
        whole = push_pull_fill(img, known)
        assert np.array_equal(push_pull_fill(img, known, at=(rows, cols)), whole[rows, cols])


class TestWarp:
    def test_identity_motion_returns_same_pixels(self):
        rng = np.random.default_rng(0)
        img = rng.integers(0, 255, (10, 12, 3)).astype(np.uint8)
        rows, cols = np.nonzero(np.ones((10, 12), bool))
        cam = (np.eye(4), np.array([10.0, 10.0, 6.0, 5.0]))
        vals, ok = warp_sample(img, rows, cols, np.ones(len(rows)), cam, cam)
        assert ok.all()
        assert np.allclose(vals, img[rows, cols], atol=1e-3)

    def test_translation_shifts_by_parallax(self):
        img = np.tile(np.arange(40, dtype=np.float32)[None, :, None], (10, 1, 1))
        k = np.array([20.0, 20.0, 20.0, 5.0])
        now = make_pose(np.eye(3), [0.1, 0.0, 0.0])  # camera moved right by 0.1 at depth 1 -> 2 px
        vals, ok = warp_sample(img, np.array([5]), np.array([10]), np.array([1.0]), (now, k), (np.eye(4), k))
        assert ok[0] and vals[0, 0] == pytest.approx(12.0, abs=1e-3)


class TestLayers:
    def test_background_layer_pushes_square_back_with_background_colour(self, scene):
        req = scene.request
        layer = background_layer(req.source_rgb, req.source_depth, req.source_intrinsics, band_px=6)
        assert layer.mask.any()
        # the band lies on the square (near side) and takes the background's depth and colour
        assert np.all(req.source_depth[layer.mask] == pytest.approx(scene.z_fg))
        assert np.allclose(layer.depth[layer.mask], scene.z_bg * 1.01, rtol=0.03)
        col = layer.rgb[layer.mask].astype(float)
        assert np.mean(col[:, 2] > col[:, 0]) > 0.95  # blue, not red

    def test_dropped_edge_pixels_join_the_background(self, scene):
        """Pixels a cache builder dropped at a depth edge (depth 0) get the far side's depth and colour."""
        req = scene.request
        depth = req.source_depth.copy()
        fg = depth < 2.0
        ring = (cv2.dilate(fg.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & ~fg
        depth[ring] = 0.0
        layer = background_layer(req.source_rgb, depth, req.source_intrinsics, band_px=6)
        assert layer.mask[ring].all()
        assert np.allclose(layer.depth[ring], scene.z_bg * 1.01, rtol=0.03)
        col = layer.rgb[ring].astype(float)
        assert np.mean(col[:, 2] > col[:, 0]) > 0.95

    def test_flat_depth_has_no_band(self):
        layer = background_layer(
            np.zeros((20, 20, 3), np.uint8),
            np.linspace(1, 1.2, 400, dtype=np.float32).reshape(20, 20),
            [20, 20, 10, 10],
            4,
        )
        assert not layer.mask.any()

    def test_outpaint_canvas_extends_frame(self, scene):
        req = scene.request
        H, W = req.source_rgb.shape[:2]
        c = outpaint_canvas(req.source_rgb, req.source_depth, req.source_intrinsics, (10, 6, 10, 6))
        assert c.rgb.shape == (H + 12, W + 20, 3) and c.depth.shape == (H + 12, W + 20)
        assert np.all(c.depth[c.mask] > 0)
        assert np.array_equal(c.rgb[6 : 6 + H, 10 : 10 + W], req.source_rgb)
        assert c.intrinsics[2] == pytest.approx(W / 2 + 10) and c.intrinsics[3] == pytest.approx(H / 2 + 6)
        assert not c.mask[6 + 5, 10 + 5]  # interior is not part of the ring


# ---------------------------------------------------------------------------------------------------------------
# The generator


class TestInpaintGenerator:
    def test_registered_and_auto_falls_back(self):
        gen, why = resolve_generator("inpaint")
        assert gen.name == "inpaint" and why == "asked for"
        assert gen.version()

    def test_covered_pixels_kept_exactly(self, scene, filled):
        out, _ = filled
        req = scene.request
        assert out.shape == req.guidance_rgb.shape and out.dtype == np.uint8
        assert np.array_equal(out[req.guidance_mask], req.guidance_rgb[req.guidance_mask])

    def test_holes_filled_no_black(self, scene, filled):
        out, report = filled
        holes = ~scene.request.guidance_mask
        assert holes.sum() > 100  # the scene does open holes
        assert report.hole_fraction > 0.01
        assert not np.any(out[holes].max(axis=1) < 10)

    def test_fill_error_is_small_against_ground_truth(self, scene, filled):
        out, _ = filled
        holes = ~scene.request.guidance_mask
        err = np.abs(out[holes].astype(float) - scene.gt_rgb[holes].astype(float)).mean()
        assert err < 40.0

    def test_disocclusion_filled_with_background_colour(self, scene, filled):
        out, report = filled
        req = scene.request
        # hole pixels whose true surface is the background and that lie inside the source view
        disocc = ~req.guidance_mask & np.isclose(scene.gt_depth, scene.z_bg, rtol=0.2)
        disocc[:, :, -12:] = False  # exclude the out-of-frame strip on the right
        assert disocc.sum() > 20
        col = out[disocc].astype(float)
        blue = np.mean(col[:, 2] > col[:, 0])
        assert blue > 0.9, f"only {blue:.0%} of disoccluded pixels took the background colour"
        assert report.layer_fraction > 0.5

    def test_temporally_more_stable_than_per_frame_cv2(self, scene, filled):
        out, _ = filled
        req = scene.request
        holes = ~req.guidance_mask
        # depth of what both videos display: the guidance's where it covers, the true surface elsewhere
        shown = np.where(req.guidance_mask, req.guidance_depth, scene.gt_depth)
        ours = temporal_instability(out, holes, shown, req.cameras)
        naive = per_frame_inpaint(req.guidance_rgb, req.guidance_mask)
        base = temporal_instability(naive, holes, shown, req.cameras)
        assert np.isfinite(ours) and np.isfinite(base)
        assert ours * 3.0 <= base, f"inpaint {ours:.2f} vs per-frame cv2.inpaint {base:.2f}"  # measured ~4.9x

    def test_deterministic(self, scene, filled):
        out, _ = filled
        again = get_generator("inpaint").generate(scene.request)
        assert np.array_equal(out, again)

    def test_report_measures_instability(self, filled):
        _, report = filled
        d = report.as_dict()
        assert d["temporal_instability"] is not None and d["temporal_instability"] >= 0
        assert d["band_px"] >= 4 and d["layer_points"] > 0

    def test_without_source_view_uses_final_fill(self, scene):
        req = scene.request
        bare = GenerateRequest(req.guidance_rgb, req.guidance_mask, req.guidance_depth, req.cameras)
        out = get_generator("inpaint").generate(bare)
        assert np.array_equal(out[req.guidance_mask], req.guidance_rgb[req.guidance_mask])
        assert not np.any(out[~req.guidance_mask].max(axis=1) < 10)

    def test_mismatched_cameras_rejected(self, scene):
        from shotsmith.errors import ShotsmithError

        req = scene.request
        bad = GenerateRequest(
            req.guidance_rgb[:3], req.guidance_mask[:3], req.guidance_depth[:3], req.cameras
        )
        with pytest.raises(ShotsmithError, match="do not match the guidance"):
            get_generator("inpaint").generate(bad)


def test_per_frame_baseline_keeps_covered_pixels(scene):
    req = scene.request
    out = per_frame_inpaint(req.guidance_rgb[:2], req.guidance_mask[:2])
    m = req.guidance_mask[:2]
    assert np.array_equal(out[m], req.guidance_rgb[:2][m])
