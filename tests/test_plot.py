"""Trajectory plots: a non-trivial PNG with an optional reference overlay (speed: bench/bench_plot.py)."""

from __future__ import annotations

import numpy as np
import pytest

from shotsmith.plot import frustum_lines, plot_trajectory
from shotsmith.presets import path_from_spec


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plot_writes_a_png(tmp_path):
    cam = path_from_spec("arc_right+dolly_in")
    out = plot_trajectory(cam, tmp_path / "t.png", title="arc")
    assert out == tmp_path / "t.png"
    assert out.stat().st_size > 20_000
    w, h = _png_size(out)
    assert w > 1000 and h > 400


def test_plot_with_reference_and_metres(tmp_path):
    cam = path_from_spec("recammaster:9")
    ref = path_from_spec("recammaster:10")
    out = plot_trajectory(
        cam, tmp_path / "sub" / "vs.png", reference=ref, label="estimated", reference_label="planned"
    )
    assert out.exists() and out.stat().st_size > 20_000
    w, h = _png_size(out)
    assert w > 1000 and h > 400


def test_frustums_turn_and_narrow():
    pan = path_from_spec("pan_left", frames=9, width=64, height=48)
    lines = frustum_lines(pan, np.array([0, 8]), 0.2)
    assert lines.shape == (2, 8, 2, 3)
    assert np.allclose(lines[:, :4, 0], 0)  # edges start at the (fixed) centre
    assert not np.allclose(lines[0], lines[1])  # but point elsewhere
    zoom = path_from_spec("zoom_in", frames=9, width=64, height=48)
    first, last = frustum_lines(zoom, np.array([0, 8]), 0.2)
    width = lambda f: np.ptp(f[4:, :, 0])  # noqa: E731
    assert width(last) == pytest.approx(width(first) / 1.5)


def test_plot_in_background_draws_the_same_png(tmp_path, monkeypatch):
    from shotsmith.plot import PlotInBackground

    cam = path_from_spec("dolly_in+pan_left:30", frames=21)
    direct = plot_trajectory(cam, tmp_path / "direct.png").read_bytes()
    with PlotInBackground() as plot:
        plot.draw(cam, tmp_path / "child.png")
        assert plot.wait() == tmp_path / "child.png"
    assert (tmp_path / "child.png").read_bytes() == direct
    with PlotInBackground():  # left without draw: the child ends and writes nothing
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.png", "direct.png"]
    monkeypatch.delattr("os.fork")  # no fork (Windows): drawn in this process, the same PNG
    with PlotInBackground() as plot:
        plot.draw(cam, tmp_path / "here.png")
        plot.wait()
    assert (tmp_path / "here.png").read_bytes() == direct


def test_plot_in_background_reports_the_childs_failure_here(tmp_path):
    from shotsmith.plot import PlotInBackground

    cam = path_from_spec("dolly_in", frames=9)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with PlotInBackground() as plot, pytest.raises(OSError):
        plot.draw(cam, blocker / "t.png")  # the child fails; wait draws here and raises the real error
        plot.wait()


def test_plot_job_crosses_the_pipe_without_pickles(tmp_path):
    """The background plot's job goes to its child as an .npz without pickles: the path, its camera and plain
    options come back equal; options that are not plain data (a reference path) are drawn in the parent."""
    from shotsmith.plot import _job_bytes, _job_from_bytes

    cam = path_from_spec("recammaster:9")
    payload = _job_bytes(cam, tmp_path / "p.png", {"title": "nine", "label": "camera"})
    assert payload is not None and b"pickle" not in payload
    back, path, kwargs = _job_from_bytes(payload)
    assert path == tmp_path / "p.png" and kwargs == {"title": "nine", "label": "camera"}
    assert np.array_equal(back.world_from_camera, cam.world_from_camera)
    assert np.array_equal(back.intrinsics, cam.intrinsics)
    assert (back.width, back.height, back.fps, back.meta) == (cam.width, cam.height, cam.fps, cam.meta)
    assert _job_bytes(cam, tmp_path / "p.png", {"reference": path_from_spec("recammaster:10")}) is None
