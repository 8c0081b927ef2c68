"""The world cache of long shots (shotsmith.world): chunk plans, depth alignment, lifting frames, merge + cap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotsmith import world as WD
from shotsmith.backends.generate import Constraints
from shotsmith.camera import CameraPath
from shotsmith.errors import InputError


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 700), st.integers(2, 90), st.integers(0, 20))
def test_every_frame_is_the_own_frame_of_exactly_one_chunk(frames, chunk, overlap):
    overlap = min(overlap, chunk - 1)
    chunks = WD.plan_chunks(frames, chunk, overlap)
    own = np.concatenate([np.arange(c.new, c.stop) for c in chunks])
    assert np.array_equal(own, np.arange(frames))  # no repeated, no dropped frame, in order
    if frames > chunk:
        assert all(len(c) == chunk for c in chunks)  # each chunk at the generator's length
        assert chunks[0].overlap == 0 and all(c.overlap >= overlap for c in chunks[1:])
        assert chunks[-1].stop == frames
        # chunks advance by chunk - overlap (the last may overlap more): never more chunks than needed
        assert len(chunks) == 1 + -(-(frames - chunk) // (chunk - overlap))
    else:
        assert len(chunks) == 1 and chunks[0].overlap == 0


def test_161_frames_in_chunks_of_41():
    chunks = WD.plan_chunks(161, 41, 1)
    assert [(c.start, c.new, c.stop) for c in chunks] == [
        (0, 0, 41),
        (40, 41, 81),
        (80, 81, 121),
        (120, 121, 161),
    ]


def test_chunk_length_rules():
    wan, cog, any_ = Constraints("4k+1"), Constraints("fixed", 49), Constraints()
    assert WD.native_chunk("wan", wan.frame_rule, wan.frames) == 81
    assert WD.native_chunk("cogvideox", cog.frame_rule, cog.frames) == 49
    assert WD.native_chunk("inpaint", any_.frame_rule, any_.frames) is None
    assert WD.chunk_length(321, None, 81, wan.fit_frames, 1) == 81
    assert WD.chunk_length(81, None, 81, wan.fit_frames, 1) is None  # fits one chunk: made in one go
    assert WD.chunk_length(161, 41, 81, wan.fit_frames, 1) == 41
    assert WD.chunk_length(500, None, None, any_.fit_frames, 1) is None  # inpaint: one go unless asked
    assert WD.chunk_length(500, 60, None, any_.fit_frames, 1) == 60
    with pytest.raises(InputError, match="--chunk 41"):
        WD.chunk_length(161, 42, 81, wan.fit_frames, 1)
    with pytest.raises(InputError, match="--chunk 49"):
        WD.chunk_length(161, 41, 49, cog.fit_frames, 1)
    with pytest.raises(InputError, match="overlap"):
        WD.chunk_length(161, 9, 81, wan.fit_frames, 9)


def test_default_overlap_ties_a_latent_group_for_video_models():
    assert WD.default_overlap("4k+1", 81) == 5 and WD.default_overlap("fixed", 49) == 5
    assert WD.default_overlap("4k+1", 5) == 1 and WD.default_overlap("any", 81) == 1


def test_align_depth_recovers_scale_and_shift_despite_outliers():
    rng = np.random.default_rng(0)
    ref = rng.uniform(1.0, 3.0, (60, 80)).astype(np.float32)
    pred = ((ref - 0.4) / 2.5).astype(np.float32)  # ref = 2.5 * pred + 0.4
    bad = rng.random(ref.shape) < 0.3
    pred_noisy = np.where(bad, rng.uniform(0.01, 5.0, ref.shape), pred).astype(np.float32)
    s, t = WD.align_depth(pred_noisy, ref, np.ones(ref.shape, bool))
    assert s == pytest.approx(2.5, rel=2e-3) and t == pytest.approx(0.4, abs=2e-3)
    with pytest.raises(ValueError, match="covered pixels"):
        WD.align_depth(pred, ref, np.zeros(ref.shape, bool))


def _camera(w=80, h=60, x=0.0) -> CameraPath:
    pose = np.eye(4)
    pose[0, 3] = x
    return CameraPath(pose[None], np.array([[70.0, 70.0, w / 2, h / 2]]), w, h)


def test_lift_frame_adds_points_on_the_true_surface_only_in_the_holes():
    cams = _camera(x=0.3)
    h, w = 60, 80
    covered = np.zeros((h, w), bool)
    covered[:, :50] = True  # the cache covers the left of the frame, the right is a hole
    # a relative depth prediction (a floor tilting away, a bump on the left); the truth is 2 * (pred - 1)
    pred = (2.0 + 0.01 * np.arange(h)[:, None] + np.zeros((1, w))).astype(np.float32)
    pred[:, :25] += np.linspace(0, 0.2, 25, dtype=np.float32)
    ref = np.where(covered, (pred - 1.0) * 2.0, 0).astype(np.float32)
    rgb = np.full((h, w, 3), 90, np.uint8)
    lifted = WD.lift_frame(rgb, pred, covered, ref, cams, 0)
    assert lifted is not None and len(lifted.points) == (~covered).sum()
    assert lifted.scale == pytest.approx(2.0, rel=1e-4) and lifted.shift == pytest.approx(-2.0, abs=1e-3)
    v, u = np.nonzero(~covered)
    z_true = 2.0 * (pred[v, u] - 1.0)
    assert np.abs(lifted.points[:, 2] - z_true).max() < 1e-4
    x_true = (u + 0.5 - 40.0) / 70.0 * z_true + 0.3  # through the camera's pose
    assert np.abs(lifted.points[:, 0] - x_true).max() < 1e-4
    assert WD.lift_frame(rgb, pred, np.ones((h, w), bool), ref, cams, 0) is None  # no hole: nothing to add
    few = np.zeros((h, w), bool)
    few[0, :10] = True
    assert WD.lift_frame(rgb, pred, few, np.where(few, ref, 0), cams, 0) is None  # cannot be aligned


def test_merge_keeps_the_older_point_and_caps_the_world():
    world = WD.WorldPoints.empty(voxel=0.1)
    a = np.array([[0.01, 0.01, 1.0]], np.float32)
    world = WD.merge(world, a, [[255, 0, 0]], [0.01])
    same_voxel = np.array([[0.05, 0.02, 1.03], [0.5, 0.5, 1.0]], np.float32)
    world = WD.merge(world, same_voxel, [[0, 255, 0], [0, 0, 255]], [0.01, 0.01])
    assert len(world) == 2 and world.colors[0].tolist() == [255, 0, 0]  # seen again unchanged
    rng = np.random.default_rng(1)
    cloud = rng.uniform(-1, 1, (20_000, 3)).astype(np.float32)
    capped = WD.merge(world, cloud, np.zeros((20_000, 3), np.uint8), np.full(20_000, 0.01), max_points=1000)
    assert len(capped) <= 1000 and capped.voxel >= 0.4  # 2 x 2 x 2 units of voxels fit under the cap
    assert capped.colors[0].tolist() == [255, 0, 0]  # the oldest point survives coarsening
    assert capped.radius.max() > 0.01  # coarser voxels: larger footprints
    again = WD.merge(world, cloud, np.zeros((20_000, 3), np.uint8), np.full(20_000, 0.01), max_points=1000)
    assert again.digest() == capped.digest()  # deterministic


def test_tie_overlap_shows_the_frames_already_made():
    ch = WD.plan_chunks(20, 8, 3)[1]
    assert (ch.start, ch.new) == (5, 8)
    previous = np.random.default_rng(2).integers(0, 255, (20, 4, 6, 3), dtype=np.uint8)
    rgb = np.zeros((8, 4, 6, 3), np.uint8)
    mask = np.zeros((8, 4, 6), bool)
    depth = np.ones((8, 4, 6), np.float32)
    r, m, _ = WD.tie_overlap(rgb, mask, depth, ch, previous)
    assert np.array_equal(r[:3], previous[5:8]) and m[:3].all() and not m[3:].any() and not r[3:].any()
    assert not mask.any()  # the inputs are left as they were


def test_lift_indices_take_every_nth_own_frame_and_the_last():
    ch = WD.Chunk(1, 40, 81, 41)
    assert WD.lift_indices(ch, 8) == [8, 16, 24, 32, 40]
    assert WD.lift_indices(WD.Chunk(0, 0, 10, 0), 4) == [3, 7, 9]


def test_a_prediction_that_disagrees_with_the_cache_falls_back_to_the_cache_continued():
    h, w = 40, 60
    ref = np.full((h, w), 3.0, np.float32)
    ref[:, :20] = 1.0  # a near figure on the left, a wall at 3 behind
    covered = np.ones((h, w), bool)
    covered[:, 20:30] = False  # the hole opened beside the figure's edge shows the far side
    ext = WD.extend_depth(ref, covered)
    assert (ext > 0).all() and np.allclose(ext[:, 22:30], 3.0)  # the wall continued, not the figure
    rng = np.random.default_rng(4)
    pred = rng.uniform(0.5, 5.0, (h, w)).astype(np.float32)  # a depth model that sees nothing of the cache
    lifted = WD.lift_frame(
        np.zeros((h, w, 3), np.uint8), pred, covered, np.where(covered, ref, 0), _camera(w, h), 0
    )
    assert lifted is not None and lifted.depth_source == "cache-extended" and lifted.align_error > 0.15
    assert np.allclose(lifted.points[:, 2], 3.0, atol=1e-5)  # on the wall, where the cache would put it
