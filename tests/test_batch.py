"""`shotsmith batch`: jobs files checked line by line, a broken job that fails alone, reruns that redo nothing,
path safety, the dataset layout read back by `shotsmith convert`; worker processes, Ctrl-C and Ray (slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shotsmith import batch as B
from shotsmith.media import read_video, write_image

TINY = {"frames": 9, "size": "64x48", "depth": "prior", "generator": "inpaint"}
CAMS = ["dolly_in", "pan_left", "orbit_right", "tilt_up", "dolly_out"]


@pytest.fixture
def photos(tmp_path, textured_image):
    """Two photos and a broken one (bytes that are no image) in tmp_path/in/."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "wall.png", textured_image)
    write_image(folder / "flipped.png", np.ascontiguousarray(textured_image[::-1]))
    (folder / "broken.png").write_bytes(b"this is not a png")
    return folder


def write_jsonl(path: Path, jobs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return path


def five_jobs(folder: Path) -> Path:
    """Five tiny shots; the fourth has a broken image."""
    jobs = []
    for k, cam in enumerate(CAMS):
        image = "broken.png" if k == 3 else ("wall.png" if k % 2 == 0 else "flipped.png")
        jobs.append({"name": f"shot{k + 1}", "prompt": "a textured wall", "image": image, "cam": cam, **TINY})
    return write_jsonl(folder / "jobs.jsonl", jobs)


def csv_rows(out: Path) -> dict[str, dict[str, str]]:
    return {r["name"]: r for r in B.read_batch_csv(out / B.BATCH_CSV)}


def problems_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(B.JobsFileError) as err:
        B.load_jobs(path, **kwargs)
    return err.value.problems


# ---------------------------------------------------------------------------------------------------------------
# Jobs files


def test_the_three_formats_give_the_same_jobs(photos):
    jsonl = write_jsonl(
        photos / "jobs.jsonl",
        [
            {"name": "a", "prompt": "a wall", "image": "wall.png", "cam": "dolly_in", **TINY},
            {"name": "b", "prompt": "a wall", "--image": "wall.png", "preset": "pan_left", "size": [64, 48],
             "frames": 9.0, "depth": "prior", "generator": "inpaint", "object-mode": "fused"},
        ],
    )  # fmt: skip
    (photos / "jobs.csv").write_text(
        "name,prompt,image,cam,frames,size,depth,generator,object_mode\n"
        "a,a wall,wall.png,dolly_in,9,64x48,prior,inpaint,\n"
        "# a comment row\n"
        "b,a wall,wall.png,pan_left,9,64x48,prior,inpaint,fused\n"
    )
    (photos / "jobs.toml").write_text(
        '[defaults]\nprompt = "a wall"\nimage = "wall.png"\nframes = 9\nsize = "64x48"\n'
        'depth = "prior"\ngenerator = "inpaint"\n\n'
        '[[job]]\nname = "a"\ncam = "dolly_in"\n\n[[job]]\nname = "b"\ncam = "pan_left"\nobject_mode = "fused"\n'
    )
    loaded = [B.load_jobs(p) for p in (jsonl, photos / "jobs.csv", photos / "jobs.toml")]
    for jobs in loaded:
        assert [j.name for j in jobs] == ["a", "b"] and {j.kind for j in jobs} == {"run"}
        assert jobs[0].values == loaded[0][0].values and jobs[1].values == loaded[0][1].values
    a, b = loaded[0]
    assert a.values["image"] == [str(photos / "wall.png")]  # relative to the jobs file's folder
    assert b.values["cam"] == "pan_left" and b.values["frames"] == 9 and b.values["size"] == "64x48"
    cfg = b.config(photos / "out")  # the same conversion as the long options
    assert cfg.plan.size == (64, 48) and cfg.workspace == str(photos / "out" / "b")
    assert cfg.plan.frames == 9 and cfg.object_mode == "fused"


def test_every_problem_is_one_line_with_its_line_number(photos):
    path = photos / "bad.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {"name": "a", "prompt": "a wall", "image": "wall.png", "cam": "dolly_in", "frame": 9}
                ),
                json.dumps({"name": "a", "prompt": "a wall", "image": "missing.png", "cam": "dolly_in"}),
                json.dumps({"name": "c", "prompt": "a wall", "image": "wall.png", "cam": "dolly_inn"}),
                json.dumps({"name": "d", "prompt": "a wall", "image": "wall.png", "size": "65x48", "cam": 5}),
                '{"name": "e", "prompt": "a wall" "image": "wall.png"}',
                json.dumps(
                    {"name": "f", "prompt": "a wall", "image": "wall.png", "cam": "static", "short": "pad"}
                ),
                json.dumps(
                    {"name": "g", "prompt": "a wall", "image": "wall.png", "depth_kind": "disparityy"}
                ),
                json.dumps({"name": "h", "image": "wall.png", "frames": "nine"}),
                json.dumps(
                    {
                        "name": "i",
                        "prompt": "a wall",
                        "image": "wall.png",
                        "cam": "static",
                        "size": "64x48",
                        "--size": "96x64",
                    }
                ),
            ]
        )
        + "\n"
    )
    problems = problems_of(path)
    text = "\n".join(problems)
    expected = [
        "bad.jsonl:1: unknown key 'frame'; did you mean 'frames'?",
        "bad.jsonl:2: image 'missing.png': no such file",
        "bad.jsonl:2: duplicate name 'a' (first on line 1)",
        "bad.jsonl:3: unknown camera preset 'dolly_inn'; did you mean dolly_in",
        "bad.jsonl:4: size '65x48'",
        "bad.jsonl:5: not valid JSON",
        "bad.jsonl:6: unknown key 'short' for a run job; it is an option of recapture",
        "bad.jsonl:7: depth_kind 'disparityy': choose one of depth, disparity; did you mean 'disparity'?",
        "bad.jsonl:8: frames 'nine': expected a whole number",
        "bad.jsonl:8: no `prompt`; a run job needs prompt and image",
        "bad.jsonl:9: '--size' is given twice (also as 'size'); keep one",
    ]
    for want in expected:
        assert any(want in p for p in problems), f"{want!r} not in:\n{text}"
    assert all("\n" not in p for p in problems)
    assert [B._line_of(p) for p in problems] == sorted(B._line_of(p) for p in problems)


def test_toml_and_csv_problems_name_their_lines(photos):
    toml = photos / "jobs.toml"
    toml.write_text(
        '[defaults]\nframes = 9\nsizee = "64x48"\n\n'
        '[[job]]\nname = "a"\nprompt = "a wall"\nimage = "wall.png"\ncam = "dolly_in"\n\n'
        '[[job]]\nname = "b"\nprompt = "a wall"\nimage = "wall.png"\ncam = "dolly_in"\ngenerator = "wann"\n'
    )
    problems = problems_of(toml)
    assert "jobs.toml:3: unknown key 'sizee'; did you mean 'size'?" in "\n".join(problems)
    assert sum("sizee" in p for p in problems) == 1  # a [defaults] key is one problem, not one per job
    assert any(p.startswith(f"{toml}:16: generator 'wann'") for p in problems), problems
    toml.write_text('[[job]]\nname = "a"\nprompt = "a wall\n')
    assert problems_of(toml)[0].startswith(f"{toml}:3: not valid TOML")
    csv = photos / "jobs.csv"
    csv.write_text("name,prompt,image,cam\na,a wall,wall.png,dolly_in\nb,a wall,wall.png,400,300\n")
    assert problems_of(csv) == [
        f'{csv}:3: 5 cells but the header has 4 columns; quote cells that hold commas ("400,300")'
    ]


def test_names_and_options_cannot_write_outside_dir(photos, cli, tmp_path):
    base = {"prompt": "a wall", "image": "wall.png", "cam": "dolly_in", **TINY}
    for name in ("../escape", "a/b", "..", ".hidden", "", "batch.csv"):
        problems = problems_of(write_jsonl(photos / "n.jsonl", [{"name": name, **base}]))
        assert len(problems) == 1 and problems[0].startswith(f"{photos / 'n.jsonl'}:1: name"), problems
    problems = problems_of(
        write_jsonl(photos / "w.jsonl", [{"name": "a", "workspace": "/tmp/elsewhere", **base}])
    )
    assert problems == [
        f"{photos / 'w.jsonl'}:1: 'workspace' is not allowed in a job: a job's workspace is DIR/<name>; "
        "remove `workspace` (set `name` instead)"
    ]
    out = tmp_path / "out"
    code, _, err = cli("batch", photos / "n.jsonl", "-o", out)
    assert code == 1 and "nothing ran" in err and not out.exists()
    write_jsonl(photos / "ok.jsonl", [{"name": "a", **base}])
    code, _, err = cli("batch", photos / "ok.jsonl", "-o", out, "--dataset", out / "data", "--workers", "0")
    assert code == 1 and "must be outside -o" in err and not out.exists()


def test_a_malformed_file_runs_nothing(photos, cli, tmp_path):
    jobs = five_jobs(photos)
    jobs.write_text(jobs.read_text() + '{"name": "late", "prompt": \n')
    out = tmp_path / "out"
    code, _, err = cli("batch", jobs, "-o", out, "--workers", "0")
    assert code == 1 and "jobs.jsonl:6: not valid JSON" in err and "nothing ran" in err
    assert not out.exists()
    code, _, err = cli("batch", five_jobs(photos), "-o", out, "--check")
    assert code == 0 and "5 jobs, no problems" in err and not out.exists()


# ---------------------------------------------------------------------------------------------------------------
# Running


@pytest.fixture(scope="module")
def five_made(tmp_path_factory):
    """The five-job batch run once (in this process) for the tests below: (photos folder, jobs file, DIR, the
    first run's (exit code, stdout, stderr))."""
    from shotsmith.cli import main

    root = tmp_path_factory.mktemp("five")
    folder = root / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128]
    img = np.clip(np.stack([x * 2, y * 2, x + y], -1) % 256 + rng.integers(0, 60, (96, 128, 3)), 0, 255)
    write_image(folder / "wall.png", img.astype(np.uint8))
    write_image(folder / "flipped.png", np.ascontiguousarray(img[::-1]).astype(np.uint8))
    (folder / "broken.png").write_bytes(b"this is not a png")
    jobs, out = five_jobs(folder), root / "out"
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["batch", str(jobs), "-o", str(out), "--workers", "0"])
    return folder, jobs, out, (code, stdout.getvalue(), stderr.getvalue())


def test_five_shots_one_broken_then_a_rerun_that_redoes_nothing(five_made, cli, tmp_path):
    photos, jobs, out, (code, stdout, err) = five_made
    assert code == 1 and "1 of 5 jobs failed (shot4)" in err
    assert stdout.strip().splitlines()[-1] == str(out / B.BATCH_CSV)
    rows = csv_rows(out)
    assert list(rows) == [f"shot{k}" for k in range(1, 6)]
    assert rows["shot4"]["status"] == "failed" and "broken.png" in rows["shot4"]["error"]
    assert "not a readable image" in rows["shot4"]["error"] and "\n" not in rows["shot4"]["error"]
    made = [n for n, r in rows.items() if r["status"] == "ok"]
    assert made == ["shot1", "shot2", "shot3", "shot5"]
    for name in made:
        assert rows[name]["output"] == f"{name}/output/shot.mp4" and rows[name]["stages_ran"] == "5/5"
        frames, _ = read_video(out / rows[name]["output"])
        assert frames.shape == (9, 48, 64, 3)
    assert not (out / "shot4").exists()  # a failed first run leaves no workspace
    assert "not a readable image" in (out / B.STATE_DIR / "logs" / "shot4.log").read_text()

    start = time.perf_counter()
    code, _, err = cli("batch", jobs, "-o", out, "--workers", "0")
    took = time.perf_counter() - start
    rows = csv_rows(out)
    assert code == 1
    for name in made:  # found finished by their records, in this process
        assert rows[name]["stages_ran"] == "0/5" and rows[name]["worker"] == "skipped (unchanged)"
    assert took < 3.0, f"a rerun of a finished batch took {took:.1f} s"

    # A changed job reruns its stale stages only: a new camera keeps the 3D cache (in a copy of DIR).
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    changed = write_jsonl(
        photos / "changed.jsonl", [json.loads(line) for line in jobs.read_text().splitlines()]
    )
    changed.write_text(changed.read_text().replace('"pan_left"', '"pan_right"'))
    code, _, _ = cli("batch", changed, "-o", copy, "--workers", "0")
    rows = csv_rows(copy)
    assert rows["shot2"]["stages_ran"] == "4/5" and rows["shot1"]["stages_ran"] == "0/5"
    shot = json.loads((copy / "shot2" / "shot.json").read_text())
    assert shot["stages"]["plan-trajectory"]["options"]["cam"] == "pan_right"


def test_evaluate_numbers_go_in_batch_csv(photos, tmp_path):
    jobs = B.load_jobs(five_jobs(photos), evaluate=True)[:1]
    assert jobs[0].values["evaluate"] is True
    from shotsmith.evaluate import pycolmap_version

    if not pycolmap_version():
        pytest.skip("evaluate needs pycolmap (the eval extra)")
    report = B.run_batch(jobs, tmp_path / "out", B.SequentialRunner(), progress=False)
    row = csv_rows(tmp_path / "out")["shot1"]
    assert report.results["shot1"].status == "ok" and "eval_ok" in row
    assert set(report.results["shot1"].metrics) - {"eval_ok"} <= set(row)


def test_video_model_workers_keep_their_generator():
    from shotsmith.backends.generate import get_generator

    with B.keep_generators_loaded() as kept:
        first, again = get_generator("wan", model="some/model"), get_generator("wan", model="some/model")
        other = get_generator("wan", model="other/model")
        assert first is again and other is not first and len(kept) == 2
        assert get_generator("inpaint") is not get_generator("inpaint")
    assert get_generator("wan", model="some/model") is not first


def test_lanes_and_worker_counts(photos, monkeypatch):
    jobs = B.load_jobs(five_jobs(photos))
    assert {B.job_lane(j) for j in jobs} == {"cpu"}
    wan = B.Job("w", "run", dict(jobs[0].values, generator="wan"), "x:1")
    assert B.job_lane(wan) == "gpu"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert B.visible_gpus() == ["2", "5"]
    tasks = [B.Task(j, "cpu") for j in jobs] + [B.Task(wan, "gpu") for _ in range(3)]
    n_cpu, n_gpu = B.LocalRunner().counts(tasks)
    assert n_gpu == 2 and 1 <= n_cpu <= min(5, B.usable_cores())
    assert B.LocalRunner(workers=3).counts(tasks) == (3, 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert B.LocalRunner(workers=3).counts(tasks[-1:]) == (0, 1)  # no GPU: one video-model worker still


# ---------------------------------------------------------------------------------------------------------------
# The dataset


def test_dataset_in_recammaster_layout_reads_back(five_made, cli, tmp_path):
    _, jobs, out, _ = five_made
    data = tmp_path / "data"
    code, _, err = cli("batch", jobs, "-o", out, "--workers", "0", "--dataset", data)
    assert code == 1 and f"dataset: {data} (4 shots, 4 videos)" in err
    import csv

    with open(data / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["job"] for r in rows] == ["shot1", "shot3", "shot5", "shot2"]  # grouped by source photo
    assert {r["scene"] for r in rows} == {"wall", "flipped"}
    assert [r["file_name"] for r in rows[:2]] == ["wall/videos/cam01.mp4", "wall/videos/cam02.mp4"]
    assert all(r["text"] for r in rows) and rows[0]["frames"] == "9"
    assert "shotsmith batch dataset" in (data / "README.md").read_text()
    for r in rows:
        assert (data / "train" / r["file_name"]).stat().st_size > 0
    ue = json.loads((data / "train" / "wall" / "cameras" / "camera_extrinsics.json").read_text())
    assert list(ue) == [f"frame{i}" for i in range(9)] and list(ue["frame0"]) == ["cam01", "cam02", "cam03"]
    assert ue["frame0"]["cam01"].startswith("[") and ue["frame0"]["cam01"].count("[") == 4

    from shotsmith.formats import read_trajectory

    planned = read_trajectory(out / "shot3" / "trajectory.json")
    back = tmp_path / "cam02.json"
    src = data / "train" / "wall" / "cameras" / "camera_extrinsics.json"
    code, _, err = cli("convert", src, back, "--camera", "2", "--ue-scale", "100")
    assert code == 0, err
    got = read_trajectory(back)
    rel = np.linalg.inv(planned.world_from_camera[0]) @ planned.world_from_camera
    np.testing.assert_allclose(got.world_from_camera, rel, atol=1e-6)
    ours = read_trajectory(data / "train" / "wall" / "transforms" / "cam02.json")
    np.testing.assert_allclose(ours.world_from_camera, planned.world_from_camera, atol=1e-9)
    np.testing.assert_allclose(ours.intrinsics, planned.intrinsics)

    # Written again after a rerun (the old dataset is replaced); a folder that is not ours is refused.
    code, _, _ = cli(
        "batch", jobs, "-o", out, "--workers", "0", "--dataset", data, "--dataset-style", "syncammaster"
    )
    assert code == 1 and "syncammaster" in (data / "README.md").read_text()
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    code, _, err = cli("batch", jobs, "-o", out, "--workers", "0", "--dataset", other)
    assert code == 1 and "not a shotsmith dataset" in err and (other / "keep.txt").exists()


# ---------------------------------------------------------------------------------------------------------------
# Worker processes, Ctrl-C and Ray


@pytest.mark.slow
def test_worker_processes_make_the_same_shots(photos, cli, tmp_path):
    out = tmp_path / "out"
    code, _, err = cli("batch", five_jobs(photos), "-o", out, "--workers", "2")
    rows = csv_rows(out)
    assert code == 1 and [n for n, r in rows.items() if r["status"] == "ok"] == [
        "shot1",
        "shot2",
        "shot3",
        "shot5",
    ]
    pids = {r["worker"] for r in rows.values()}
    assert len(pids) == 2 and all(p.startswith("pid ") and p != f"pid {os.getpid()}" for p in pids)
    assert float(rows["shot1"]["peak_mb"]) > 50
    assert rows["shot4"]["error"].startswith(str(photos / "broken.png"))


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_keeps_finished_shots(photos, tmp_path):
    jobs = [{"name": f"s{k}", "prompt": "a wall", "image": "wall.png", "cam": "dolly_in", "seed": k, **TINY,
             "frames": 33, "size": "96x64"} for k in range(6)]  # fmt: skip
    path, out = write_jsonl(photos / "six.jsonl", jobs), tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [sys.executable, "-m", "shotsmith", "batch", str(path), "-o", str(out), "--workers", "2"]
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait for a first finished shot
        time.sleep(0.3)
        if (out / B.BATCH_CSV).exists() and any(r["status"] == "ok" for r in csv_rows(out).values()):
            break
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    rows = csv_rows(out)
    done = [n for n, r in rows.items() if r["status"] == "ok"]
    assert done and any(r["status"] in ("interrupted", "not run") for r in rows.values())
    assert not list(out.glob(f"*/{'.shotsmith.lock'}")) and not list(out.glob("*/**/.*.tmp-*"))
    code = subprocess.run(cmd, env=env, capture_output=True).returncode
    rows = csv_rows(out)
    assert code == 0 and all(r["status"] == "ok" for r in rows.values())
    assert all(rows[n]["stages_ran"] == "0/5" for n in done)


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_local_makes_the_same_four_shots(photos, cli, tmp_path, local_ray):
    from shotsmith.distributed import RayRunner

    jobs = B.load_jobs(five_jobs(photos), check_backends=False)
    report = B.run_batch(jobs, tmp_path / "out", RayRunner("local"), progress=False)
    rows = csv_rows(tmp_path / "out")
    made = ["shot1", "shot2", "shot3", "shot5"]
    assert [r.name for r in report.made] == made
    assert rows["shot4"]["status"] == "failed" and "not a readable image" in rows["shot4"]["error"]
    assert all(rows[n]["worker"].startswith("ray ") for n in rows)
    assert local_ray.is_initialized()  # a Ray it did not start is left running
    code, _, err = cli("batch", five_jobs(photos), "-o", tmp_path / "cli", "--ray", "local")
    assert code == 1 and "1 of 5 jobs failed (shot4)" in err
    assert [n for n, r in csv_rows(tmp_path / "cli").items() if r["status"] == "ok"] == made
    # Copied to and from workers that cannot see DIR: the same shots, and a rerun finds them finished.
    copy_out = tmp_path / "copied"
    report = B.run_batch(jobs, copy_out, RayRunner("local", transfer="copy"), progress=False)
    assert [r.name for r in report.made] == ["shot1", "shot2", "shot3", "shot5"]
    assert (copy_out / "shot1" / "output" / "shot.mp4").stat().st_size > 0
    assert csv_rows(copy_out)["shot1"]["output"] == "shot1/output/shot.mp4"
    again = B.run_batch(jobs, copy_out, RayRunner("local", transfer="copy"), progress=False)
    assert again.skipped == 4
    # Video-model jobs go to actors (asked for no GPU here so they can start) that keep their models.
    tasks = [B.Task(j, "gpu", log=B.log_path(tmp_path / "actors", j.name)) for j in jobs[:2]]
    results = {}
    RayRunner("local", gpus_per_actor=0).run(tasks, tmp_path / "actors", lambda t, w: None,
                                             lambda t, r: results.update({t.job.name: r}))  # fmt: skip
    assert {r.status for r in results.values()} == {"ok"} and len({r.worker for r in results.values()}) == 1
    results.clear()
    RayRunner("local").run(
        tasks[:1], tmp_path / "nogpu", lambda t, w: None, lambda t, r: results.update({1: r})
    )
    assert results[1].status == "failed" and "no GPU in the Ray cluster" in results[1].error


@pytest.mark.slow
@pytest.mark.neural
def test_video_model_jobs_load_the_weights_once(photos, tmp_path, tiny_video_generator, monkeypatch):
    pytest.importorskip("diffusers")
    from shotsmith.backends.diffusion import WanGenerator

    model = tmp_path / "tiny-wan"
    tiny_video_generator("wan", True).pipeline.save_pretrained(model)
    video_model = {"generator": "wan", "model": str(model), "steps": 2, "device": "cpu", "dtype": "float32"}
    jobs = [
        {"name": f"w{k}", "prompt": "a wall", "image": "wall.png", "cam": cam, **TINY, **video_model}
        for k, cam in enumerate(["dolly_in", "pan_left"])
    ]
    loaded = B.load_jobs(write_jsonl(photos / "wan.jsonl", jobs))
    assert {B.job_lane(j) for j in loaded} == {"gpu"}
    loads = []
    real = WanGenerator._from_pretrained
    monkeypatch.setattr(
        WanGenerator, "_from_pretrained", lambda self, src: loads.append(src) or real(self, src)
    )
    report = B.run_batch(loaded, tmp_path / "out", B.SequentialRunner(), progress=False)
    assert [r.status for r in report.results.values()] == ["ok", "ok"]
    assert loads == [str(model)]  # the second job used the weights the first one loaded


def test_rig_and_recapture_jobs_in_one_batch_and_dataset(photos, cli, tmp_path):
    from shotsmith.media import read_image, write_video

    img = read_image(photos / "wall.png")
    write_video(photos / "clip.mp4", np.stack([np.roll(img, 2 * t, axis=1) for t in range(12)]), 8.0)
    (photos / "mixed.toml").write_text(
        '[defaults]\nframes = 9\nsize = "64x48"\ndepth = "prior"\ngenerator = "inpaint"\n\n'
        '[[job]]\nname = "rig"\nprompt = "a wall"\nimage = "wall.png"\ncam = "dolly_in"\nrig = "ring:n=2,radius=0.3"\n\n'
        '[[job]]\nname = "re"\nvideo = "clip.mp4"\ncam = "pan_right"\n'
    )
    jobs = B.load_jobs(photos / "mixed.toml")
    assert [j.kind for j in jobs] == ["run", "recapture"]
    out, data = tmp_path / "out", tmp_path / "data"
    code, _, err = cli("batch", photos / "mixed.toml", "-o", out, "--workers", "0", "--dataset", data)
    assert code == 0, err
    rows = csv_rows(out)
    assert rows["rig"]["output"] == "rig/output/grid.mp4" and rows["re"]["kind"] == "recapture"
    import csv

    with open(data / "metadata.csv", newline="") as f:
        meta = list(csv.DictReader(f))
    assert [(r["scene"], r["camera"], r["job"], r["rig_camera"]) for r in meta] == [
        ("wall", "cam01", "rig", "01"),
        ("wall", "cam02", "rig", "02"),
        ("clip", "cam01", "re", ""),
    ]
    ue = json.loads((data / "train" / "wall" / "cameras" / "camera_extrinsics.json").read_text())
    assert list(ue["frame8"]) == ["cam01", "cam02"]
