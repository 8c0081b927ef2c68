"""Regressions found by trying shotsmith as a new user would: bad inputs leave the workspace as it was, odd
files and sentences get one clear error line instead of a traceback or a silently wrong result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shotsmith import workspace as W
from shotsmith.errors import PlanError
from shotsmith.media import write_image


@pytest.fixture
def photo(tmp_path, textured_image):
    path = tmp_path / "photo.png"
    write_image(path, textured_image)
    return path


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _run(cli, image, ws, *extra):
    return cli(
        "run", "a wall, dolly in", "--image", image, "-w", ws, "--frames", "5", "--size", "64x48", *extra
    )


@pytest.mark.parametrize(
    "extra, expect",
    [
        (("--cam", "nosuch"), "nosuch"),
        (("--camera", "dolyl_xx"), "no camera motion"),
        (("--fps", "0"), "--fps"),
        (("--trajectory", "nope.json"), "nope.json"),
        (("--depth", "nosuch"), "nosuch"),
        (("--fov", "0"), "--fov"),
        (("--ease", "wobble"), "wobble"),
    ],
)
def test_run_bad_option_leaves_workspace_as_it_was(cli, photo, tmp_path, extra, expect):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.txt").write_text("mine")
    code, _, err = _run(cli, photo, ws, *extra)
    assert code == 1 and expect in err and "Traceback" not in err
    assert _tree(ws) == {"notes.txt": b"mine"}
    code, _, err = _run(cli, photo, tmp_path / "new", *extra)
    assert code == 1 and not (tmp_path / "new").exists()


def test_stage_on_a_missing_workspace_creates_nothing(cli, tmp_path):
    ws = tmp_path / "typo"
    cone = Path(__file__).resolve().parents[1] / "assets" / "cone.ply"
    code, _, err = cli("insert-object", "-w", ws, cone, "--at-pixel", "1,1")
    assert code == 1 and "build-3d-cache" in err and not ws.exists()  # a failed record made shot.json here
    code, _, err = cli("render-guidance", "-w", ws)
    assert code == 1 and "missing; run" in err and not ws.exists()


def test_tiny_image_is_refused_up_front(cli, tmp_path, textured_image):
    tiny = tmp_path / "tiny.png"
    write_image(tiny, textured_image[:8, :8])
    code, _, err = _run(cli, tiny, tmp_path / "ws")
    assert code == 1 and "tiny.png: 8x8 is too small" in err and not (tmp_path / "ws").exists()
    code, _, err = cli("build-3d-cache", "-w", tmp_path / "ws", "--image", tiny, "--depth", "prior")
    assert code == 1 and "too small" in err and not (tmp_path / "ws").exists()


def test_max_pixels_that_shrinks_below_the_minimum_says_so(cli, photo, tmp_path):
    code, _, err = cli("build-3d-cache", "-w", tmp_path / "ws", "--image", photo, "--max-pixels", "100")
    assert code == 1 and "--max-pixels 100 shrinks" in err and "Traceback" not in err


def test_video_given_as_image_points_to_recapture(cli, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    code, _, err = _run(cli, clip, tmp_path / "ws")
    assert code == 1 and "shotsmith recapture" in err


def _transforms(tmp_path, frames):
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"w": 64, "h": 48, "fl_x": 50.0, "fl_y": 50.0, "frames": frames}))
    return p


@pytest.mark.parametrize(
    "frames, expect",
    [([], "non-empty list"), ([{"time": 0}], "missing key 'transform_matrix'"), ({"a": 1}, "non-empty list")],
)
def test_broken_transforms_file_names_the_problem(cli, tmp_path, frames, expect):
    code, _, err = cli("describe", _transforms(tmp_path, frames))
    assert code == 1 and expect in err and "no known camera layout" not in err


def test_empty_camera_file(cli, tmp_path):
    (tmp_path / "e.json").write_text("")
    code, _, err = cli("describe", tmp_path / "e.json")
    assert code == 1 and "the file is empty" in err


def test_decimal_comma_is_not_read_as_a_clause_break():
    from shotsmith.textplan import parse_text

    with pytest.raises(PlanError, match=r"0\.5"):
        parse_text("dolly in 0,5 m")  # read as "dolly in 0" + "5 m": ten times too far
    with pytest.raises(PlanError, match=r"30\.5"):
        parse_text("pan left 30,5 degrees")
    # A prompt's scene numbers are no camera amounts.
    plan = parse_text("a room with 3,000 books, dolly in", lenient=True).plan
    assert plan.segments[0].motion.move[2] > 0


def test_unreadable_text_is_quoted_as_written():
    from shotsmith.textplan import parse_text

    with pytest.raises(PlanError, match="'la caméra avance'"):
        parse_text("la caméra avance")


def test_unwritable_outputs_are_user_errors(cli, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, _, err = cli("plan", "--cam", "pan_left", "--frames", "5", "-o", blocker / "t.json")
    assert code == 1 and "part of the path is a file" in err
    code, _, err = cli("plan", "--cam", "pan_left", "--frames", "5", "-o", tmp_path)
    assert code == 1 and "is a folder" in err
    good = tmp_path / "t.json"
    assert cli("plan", "--cam", "pan_left", "--frames", "5", "-o", good)[0] == 0
    code, _, err = cli("convert", good, blocker / "x.txt")
    assert code == 1 and "cannot write it" in err
    code, _, err = cli("convert", good, tmp_path / "new" / "x.txt")
    assert code == 0, err
    assert np.loadtxt(tmp_path / "new" / "x.txt", skiprows=1).shape[0] == 5


def test_failed_run_in_existing_workspace_keeps_it(cli, photo, tmp_path):
    """The fresh-workspace cleanup must never remove a folder that existed before the run."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "keep.txt").write_text("x")
    tiny = tmp_path / "tiny.png"
    write_image(tiny, np.zeros((8, 8, 3), np.uint8))
    code, _, _ = cli("build-3d-cache", "-w", ws, "--image", tiny, "--depth", "prior")
    assert code == 1 and (ws / "keep.txt").exists() and not (ws / W.LOCK).exists()


def test_negative_amounts_are_refused_not_flipped_silently():
    from shotsmith.errors import PlanError
    from shotsmith.textplan import parse_text

    for text in ("pan left -30 degrees", "dolly in -0.5 m", "tilt up - 10 degrees"):
        with pytest.raises(PlanError, match="amounts are sizes"):
            parse_text(text)
    # Hyphens inside words and ranges are not signs.
    parse_text("a 2-shot, slow dolly in", lenient=True)
    parse_text("a night at -10 degrees, slow dolly in", lenient=True)
    parse_text("pan left 30 degrees")
