"""End to end: `shotsmith run` on a tiny input, reruns, and bad input as a new user would try it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from shotsmith import workspace as W
from shotsmith.media import read_video, write_image


@pytest.fixture
def photo(tmp_path, textured_image):
    path = tmp_path / "photo.png"
    # A photo with a near object (bright square, lower middle) in front of a textured background.
    img = textured_image.copy()
    img[50:90, 40:90] = [230, 60, 40]
    write_image(path, img)
    return path


def _run(cli, photo, ws, *extra):
    return cli(
        "run",
        "a red box on a textured wall, dolly in then pan left",
        "--image",
        photo,
        "-w",
        ws,
        "--frames",
        "9",
        "--size",
        "64x48",
        "--depth",
        "prior",
        "--generator",
        "inpaint",
        *extra,
    )


def test_run_end_to_end_and_rerun_skips(cli, photo, tmp_path):
    ws = tmp_path / "ws"
    code, out, err = _run(cli, photo, ws)
    assert code == 0, err
    video = ws / W.OUTPUT_VIDEO
    assert out.strip().splitlines()[-1] == str(video)
    frames, fps = read_video(video)
    assert frames.shape == (9, 48, 64, 3) and fps == pytest.approx(16.0)
    assert (ws / W.TRAJECTORY_PNG).stat().st_size > 1000
    traj = json.loads((ws / W.TRAJECTORY).read_text())
    assert traj["shotsmith"]["source"]["source"] == "text"
    # The camera words of the prompt were planned: it moves forward, then turns left.
    from shotsmith.formats import read_trajectory

    cam = read_trajectory(ws / W.TRAJECTORY)
    assert cam.centers[-1, 2] > 0.05
    assert (cam.rotations[-1] @ np.array([0, 0, 1.0]))[0] < -0.1
    # Frame 0 looks through the source camera: it reproduces the photo's centre.
    first = frames[0].astype(float)
    assert first.std() > 10
    manifest = json.loads((ws / W.SHOT).read_text())
    assert {"build-3d-cache", "plan-trajectory", "caption", "render-guidance", "generate"} <= set(
        manifest["stages"]
    )
    code, out, err = _run(cli, photo, ws)
    assert code == 0 and err.count("unchanged, skipping") >= 5


@pytest.mark.parametrize(
    "extra, expect",
    [
        (("--cam", "dolly_inn"), "dolly_in"),
        (("--size", "65x48"), "even"),
        (("--frames", "0"), "frame"),
    ],
)
def test_run_bad_options(cli, photo, tmp_path, extra, expect):
    code, out, err = _run(cli, photo, tmp_path / "ws", *extra)
    assert code == 1 and expect in err and "Traceback" not in err
    assert not (tmp_path / "ws" / W.OUTPUT_VIDEO).exists()


def test_run_missing_image_and_no_camera_words(cli, photo, tmp_path):
    code, _, err = cli("run", "a cat", "--image", tmp_path / "nope.png", "-w", tmp_path / "ws")
    assert code == 1 and "nope.png" in err and "no such image" in err
    code, _, err = cli(
        "run",
        "a cat on a sofa",
        "--image",
        photo,
        "-w",
        tmp_path / "ws2",
        "--frames",
        "5",
        "--size",
        "64x48",
        "--generator",
        "inpaint",
        "--depth",
        "prior",
    )
    assert code == 1 and "--cam" in err


def test_run_workspace_is_a_file(cli, photo, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    code, _, err = _run(cli, photo, f)
    assert code == 1 and "not a folder" in err


def test_run_disk_full_leaves_workspace_consistent(cli, photo, tmp_path, monkeypatch):
    import shotsmith.media

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shotsmith.media, "write_video", full)
    ws = tmp_path / "ws"
    code, _, err = _run(cli, photo, ws)
    assert code == 1 and "No space left" in err
    leftovers = [p for p in ws.rglob("*") if ".tmp-" in p.name]
    assert leftovers == [] and not (ws / W.LOCK).exists()
    monkeypatch.undo()
    code, _, err = _run(cli, photo, ws)
    assert code == 0, err


def test_run_with_a_rig_gives_synchronized_views(cli, photo, tmp_path):
    ws = tmp_path / "rig"
    code, out, err = cli(
        "run",
        "a red box on a textured wall",
        "--image",
        photo,
        "-w",
        ws,
        "--frames",
        "5",
        "--size",
        "64x48",
        "--depth",
        "prior",
        "--generator",
        "inpaint",
        "--rig",
        "ring:n=4,radius=0.3",
    )
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(ws / W.OUTPUT_GRID)
    lengths = [read_video(ws / W.output_cam(i))[0].shape for i in range(1, 5)]
    assert lengths == [(5, 48, 64, 3)] * 4
    grid, _ = read_video(ws / W.OUTPUT_GRID)
    assert len(grid) == 5
    code, _, err = cli("run", "x", "--image", photo, "-w", tmp_path / "bad", "--rig", "ring:n=0")
    assert code == 1 and "ring" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_run_keeps_freed_memory_for_the_next_stage():
    """After keep_freed_memory, freeing a 64 MB array keeps its pages in the process (the next one reuses
    them); without it glibc unmaps them at once."""
    code = (
        "import sys, numpy as np\n"
        "from shotsmith.pipeline import keep_freed_memory\n"
        "ok = keep_freed_memory() if sys.argv[1] == '1' else True\n"
        "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * 4096\n"
        "a = np.ones(64 << 20, np.uint8); before = rss(); del a\n"
        "print(ok, (before - rss()) >> 20)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    kept = subprocess.run(
        [sys.executable, "-c", code, "1"], capture_output=True, text=True, env=env, check=True
    )
    plain = subprocess.run(
        [sys.executable, "-c", code, "0"], capture_output=True, text=True, env=env, check=True
    )
    ok, dropped_kept = kept.stdout.split()
    assert ok == "True" and int(dropped_kept) < 8
    assert int(plain.stdout.split()[1]) >= 60


def test_memory_provided_ahead_serves_the_later_arrays():
    """`run` touches the shot's working memory on a thread early and keeps it: an array made afterwards (on
    another thread, as a stage's would be) lands on pages already there, so the process grows by far less
    than the array. In a subprocess: mallopt changes the whole process."""
    code = (
        "import threading, numpy as np\n"
        "from shotsmith.pipeline import keep_freed_memory, provision_memory_in_background\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * 4096\n"
        "assert keep_freed_memory()\n"
        "provision_memory_in_background(96 << 20).join()\n"
        "before = rss()\n"
        "def stage(): a = np.ones(64 << 20, np.uint8); stage.grew = rss() - before\n"
        "t = threading.Thread(target=stage); t.start(); t.join()\n"
        "print(stage.grew / (64 << 20))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip()) < 0.1  # without the provided memory: ~1.0
