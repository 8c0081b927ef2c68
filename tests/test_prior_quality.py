"""Quality checks of the classical depth prior on real photos (scikit-image's data set): figure/ground layering
on a portrait and object photos, smooth depth inside the figure, rank agreement with real stereo depth, a full-size depth
of a 1 MP photo (its speed: bench/bench_cache.py).
The numbers in the comments were measured when the checks were written (docs/DEPTH.md)."""

from __future__ import annotations

import numpy as np
import pytest

from shotsmith.backends.depth.prior import prior_depth, prior_layers


def _patch(depth: np.ndarray, row: int, col: int, half: int = 8) -> float:
    return float(np.median(depth[row - half : row + half, col - half : col + half]))


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    return prior_layers(data.astronaut())


def test_portrait_is_one_near_layer_in_front_of_the_wall(astronaut):
    d, _ = astronaut
    face, wall, suit = _patch(d, 90, 180), _patch(d, 60, 400), _patch(d, 380, 200)
    assert wall > 1.8 * face, (face, wall)  # measured: wall 3.0x the face's depth
    assert abs(suit - face) < 0.15 * face, (face, suit)  # one layer: measured 5% apart


def test_depth_is_smooth_inside_the_figure(astronaut):
    import cv2

    d, mask = astronaut
    assert mask is not None and 0.2 < mask.mean() < 0.6
    inner = cv2.erode(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    jumps = []
    for a, b, m in (
        (d[:, 1:], d[:, :-1], inner[:, 1:] & inner[:, :-1]),
        (d[1:], d[:-1], inner[1:] & inner[:-1]),
    ):
        jumps.append(np.abs(a - b)[m] / np.minimum(a, b)[m])
    big = float(np.mean(np.concatenate(jumps) > 0.05))
    assert big < 0.002, big  # measured 0


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_subject_nearer_than_the_border(name):
    from skimage import data

    d = prior_depth(getattr(data, name)())
    h, w = d.shape
    centre = np.median(d[int(0.35 * h) : int(0.65 * h), int(0.35 * w) : int(0.65 * w)])
    b = max(2, int(0.08 * min(h, w)))
    border = np.median(np.concatenate([d[:b].ravel(), d[:, :b].ravel(), d[:, -b:].ravel()]))
    assert centre < 0.8 * border, (centre, border)


def test_beats_lower_rows_nearer_on_real_stereo():
    from scipy.stats import spearmanr
    from skimage import data

    left, _, disparity = data.stereo_motorcycle()
    valid = np.isfinite(disparity) & (disparity > 0)
    rows = np.broadcast_to(np.arange(left.shape[0], dtype=np.float64)[:, None], disparity.shape)
    baseline = float(spearmanr(rows[valid], disparity[valid])[0])  # 0.666
    rho = float(spearmanr(-prior_depth(left)[valid], disparity[valid])[0])  # measured 0.71
    assert rho > baseline + 0.02, (rho, baseline)


def test_one_megapixel_gives_a_full_size_depth():
    import cv2
    from skimage import data

    img = cv2.resize(data.astronaut(), (1224, 816))
    depth = prior_depth(img)
    assert depth.shape == (816, 1224) and depth.dtype == np.float32
    assert np.isfinite(depth).all() and (depth > 0).all()  # every pixel valid
    assert depth.max() > 1.5 * depth.min()  # not a flat plane
