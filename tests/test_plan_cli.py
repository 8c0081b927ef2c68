"""`shotsmith plan`, `presets` and `plan-trajectory` from the command line."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest

from shotsmith import formats
from shotsmith.workspace import TRAJECTORY, TRAJECTORY_PNG, Workspace


def test_plan_writes_json_and_png(cli, tmp_path):
    out = tmp_path / "shot" / "trajectory.json"
    code, _, err = cli(
        "plan", "--preset", "dolly_in+pan_left:30", "-o", out, "--frames", "21", "--size", "64x48"
    )
    assert code == 0, err
    assert out.exists() and out.with_suffix(".png").stat().st_size > 10_000
    assert "wrote" in err and str(out) in err
    data = json.loads(out.read_text())
    assert len(data["frames"]) == 21 and data["w"] == 64 and data["h"] == 48
    assert not list(out.parent.glob(".*tmp*"))


def test_plan_reads_back_as_planned(cli, tmp_path):
    out = tmp_path / "t.json"
    assert cli("plan", "--cam", "dolly_in", "-o", out, "--duration", "2", "--fps", "10")[0] == 0
    cam = formats.read_trajectory(out)
    assert len(cam) == 20 and cam.fps == 10
    assert cam.centers[-1] == pytest.approx(np.array([0, 0, 0.35]))


def test_plan_default_output_in_cwd(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("plan", "--preset", "static", "--frames", "3")[0] == 0
    assert (tmp_path / "trajectory.json").exists() and (tmp_path / "trajectory.png").exists()
    cam = formats.read_trajectory(tmp_path / "trajectory.json")
    assert len(cam) == 3 and np.allclose(
        cam.world_from_camera, np.eye(4)
    )  # static: the first pose throughout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--preset", "dolly_in", "--frames", "0"), "frame"),
        (("--preset", "dolly_in", "--frames", "-3"), "frame"),
        (("--preset", "pan_lft"), "pan_left"),
        (("--preset", "dolly_in", "--size", "833x480"), "even"),
        (("--preset", "dolly_in", "--size", "big"), "WIDTHxHEIGHT"),
        ((), "no camera motion"),
        (("--preset", "dolly_in", "--ease", "bouncy"), "ease"),
    ],
)
def test_plan_errors_are_one_line(cli, tmp_path, args, needle):
    code, out, err = cli("plan", *args, "-o", tmp_path / "t.json")
    assert code == 1
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert not (tmp_path / "t.json").exists()


def test_presets_table(cli):
    code, _, err = cli("presets")
    assert code == 0
    for name in (
        "dolly_in",
        "orbit_left",
        "handheld",
        "recammaster:5",
        "gen3c:left",
        "cami2v:look_left",
        "through-photos",
    ):
        assert name in err
    code, _, err = cli("presets", "--vocabulary")
    assert code == 0 and "recammaster" not in err


def test_plan_trajectory_stage(cli, tmp_path):
    ws = tmp_path / "ws"
    code, _, err = cli(
        "plan-trajectory", "-w", ws, "--cam", "orbit_right", "--frames", "17", "--size", "64x48"
    )
    assert code == 0, err
    w = Workspace(ws)
    assert w.exists(TRAJECTORY) and w.exists(TRAJECTORY_PNG)
    rec = w.record("plan-trajectory")
    assert rec.status == "ok" and rec.backend == "preset" and rec.extra["frames"] == 17
    assert w.stage_state("plan-trajectory") == "done"
    code, _, err = cli(
        "plan-trajectory", "-w", ws, "--cam", "orbit_right", "--frames", "17", "--size", "64x48"
    )
    assert code == 0 and "unchanged" in err
    assert w.record("plan-trajectory").finished == rec.finished


def test_plan_trajectory_from_file_resamples_and_resizes(cli, tmp_path):
    src = tmp_path / "src.json"
    assert cli("plan", "--cam", "arc_left", "-o", src, "--frames", "9", "--size", "64x48")[0] == 0
    ws = tmp_path / "ws"
    code, _, err = cli("plan-trajectory", "-w", ws, "--trajectory", src, "--frames", "33", "--size", "128x96")
    assert code == 0, err
    data = json.loads((ws / TRAJECTORY).read_text())
    assert len(data["frames"]) == 33 and data["w"] == 128
    before, after = formats.read_trajectory(src), formats.read_trajectory(ws / TRAJECTORY)
    assert after.height == 96
    # the same path from end to end, its intrinsics scaled with the size
    np.testing.assert_allclose(after.world_from_camera[[0, -1]], before.world_from_camera[[0, -1]], atol=1e-9)
    np.testing.assert_allclose(after.intrinsics[0], 2 * before.intrinsics[0])


def test_plan_trajectory_two_sources_is_an_error(cli, tmp_path):
    code, _, err = cli("plan-trajectory", "-w", tmp_path / "ws", "--cam", "dolly_in", "--camera", "push in")
    assert code == 1 and "one camera source" in err


def test_plan_from_text_uses_the_text_planner(cli, tmp_path, monkeypatch):
    from shotsmith.motion import Motion, Plan, Segment

    calls = []

    def plan_from_text(text, lenient=False):
        calls.append((text, lenient))
        return Plan((Segment(Motion(move=(0.0, 0.0, 0.2))), Segment(Motion(yaw_deg=-10))))

    fake = types.ModuleType("shotsmith.textplan")
    fake.plan_from_text = plan_from_text
    monkeypatch.setitem(sys.modules, "shotsmith.textplan", fake)
    out = tmp_path / "t.json"
    code, _, err = cli("plan", "push in, then pan left", "-o", out, "--frames", "11", "--lenient")
    assert code == 0, err
    assert calls == [("push in, then pan left", True)]
    data = json.loads(out.read_text())
    assert len(data["frames"]) == 11
    assert "push in" in json.dumps(data.get("shotsmith", {}))
