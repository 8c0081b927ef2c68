"""Batch benchmark (issue 17): 8 shots of 33 frames at 832x480 (prior depth, inpaint generator), run three ways.

- sequential: `shotsmith batch --workers 0` (every job in one process, one after the other; the baseline);
- local workers: `--workers N` worker processes (N = the cores), the default on this machine;
- local Ray: `--ray local` (Ray started here with the cores as CPUs; tasks of one CPU each), timed without
  Ray's own start, which is timed apart.
Each way gets a fresh DIR. Printed per way: wall seconds, speed-up over sequential, mean seconds a job took
inside its worker, overhead per shot (wall minus the ideal `sequential / workers`, over the 8 shots), peak
resident memory of a worker; then a rerun of the finished local batch (nothing redone). Jobs vary the camera and
alternate two photos (the bundled astronaut and its mirror image).
Targets on 2 cores: local workers at least 1.3x faster than sequential, a finished rerun under 5% of the
sequential run (nothing redone, no worker started), a worker under `batch.WORKER_MEMORY`.
Run: .venv/bin/python bench/bench_batch.py [--shots 8] [--frames 33] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SHOTSMITH_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
CAMS = ["dolly_in", "pan_left", "orbit_right", "tilt_up", "dolly_out", "pan_right", "orbit_left", "tilt_down"]
#: A finished rerun is the workspaces' skip checks (hashing each job's ~50 MB): a share of the first run, not a
#: number of seconds, so that a machine shared with other work does not fail it.
SPEEDUP_TARGET, RERUN_SHARE = 1.3, 0.05


def make_jobs(folder: Path, shots: int, frames: int) -> Path:
    import numpy as np

    from shotsmith.media import read_image, resize_image, write_image

    photo = resize_image(read_image(ROOT / "assets" / "astronaut.png"), 832, 480)
    write_image(folder / "astronaut.png", photo)
    write_image(folder / "mirror.png", np.ascontiguousarray(photo[:, ::-1]))
    lines = []
    for k in range(shots):
        job = {
            "name": f"shot{k + 1:02d}",
            "prompt": "an astronaut portrait",
            "image": "astronaut.png" if k % 2 == 0 else "mirror.png",
            "cam": CAMS[k % len(CAMS)],
            "frames": frames,
            "size": "832x480",
            "depth": "prior",
            "generator": "inpaint",
        }
        lines.append(json.dumps(job))
    path = folder / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def warm_up(folder: Path) -> None:
    """One tiny shot in this process first, so the sequential baseline does not pay first-use imports."""
    from shotsmith.options import build_config
    from shotsmith.pipeline import RunConfig, run_shot

    values = {"prompt": "warm up", "image": str(folder / "astronaut.png"), "cam": "dolly_in", "frames": 9,
              "size": "64x48", "depth": "prior", "generator": "inpaint", "workspace": str(folder / "warm")}  # fmt: skip
    from shotsmith.batch import _quiet_console

    with _quiet_console():
        run_shot(build_config(RunConfig, values))


def summarize(name: str, report, workers: int, baseline: float | None) -> dict:
    rows = list(report.results.values())
    ok = [r for r in rows if r.status == "ok"]
    assert len(ok) == len(rows), f"{name}: {[(r.name, r.error) for r in rows if r.status != 'ok']}"
    job_s = sum(r.seconds for r in ok) / len(ok)
    peak = max(r.peak_mb for r in ok)
    out = {"way": name, "workers": workers, "wall_s": report.seconds, "job_s": job_s, "peak_mb": peak}
    out["speedup"] = baseline / report.seconds if baseline else 1.0
    out["overhead_s"] = (report.seconds - (baseline or report.seconds) / workers) / len(rows)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--frames", type=int, default=33)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()

    from shotsmith import batch as B

    cores = B.usable_cores()
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jobs = B.load_jobs(make_jobs(folder, args.shots, args.frames))
        warm_up(folder)
        seq = B.run_batch(jobs, folder / "seq", B.SequentialRunner(), progress=False)
        table.append(summarize("sequential (--workers 0)", seq, 1, None))
        local = B.run_batch(jobs, folder / "local", B.LocalRunner(cores), progress=False)
        table.append(summarize(f"local workers (--workers {cores})", local, cores, seq.seconds))
        rerun = B.run_batch(jobs, folder / "local", B.LocalRunner(cores), progress=False)
        ray_start = None
        if not args.no_ray:
            try:
                import ray

                from shotsmith.distributed import RayRunner
            except ImportError:
                print("ray is not installed (pip install 'shotsmith[distributed]'): skipping --ray local")
            else:
                start = time.perf_counter()
                ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
                ray_start = time.perf_counter() - start
                try:
                    on_ray = B.run_batch(jobs, folder / "ray", RayRunner("local"), progress=False)
                finally:
                    ray.shutdown()
                table.append(summarize(f"local Ray ({cores} CPUs)", on_ray, cores, seq.seconds))

    print(
        f"batch: {args.shots} shots of {args.frames} frames at 832x480 (prior depth, inpaint) on {cores} cores"
    )
    header = f"{'way':30s}{'wall s':>9s}{'speed-up':>10s}{'job s':>8s}{'overhead/shot s':>17s}{'peak MiB/worker':>17s}"
    print(header)
    print("-" * len(header))
    for row in table:
        print(
            f"{row['way']:30s}{row['wall_s']:>9.1f}{row['speedup']:>9.2f}x{row['job_s']:>8.1f}"
            f"{row['overhead_s']:>17.2f}{row['peak_mb']:>17.0f}"
        )
    print(
        f"{'rerun of the finished batch':30s}{rerun.seconds:>9.2f}   ({rerun.skipped} of {len(jobs)} found finished)"
    )
    if ray_start is not None:
        print(f"{'Ray start (ray.init, not above)':30s}{ray_start:>9.1f}")
    local_row = table[1]
    ok = (
        local_row["speedup"] >= SPEEDUP_TARGET or cores < 2,
        rerun.seconds < RERUN_SHARE * seq.seconds and rerun.skipped == len(jobs),
        all(r["peak_mb"] * (1 << 20) < B.WORKER_MEMORY for r in table),
    )
    names = (
        f"local speed-up >= {SPEEDUP_TARGET}x",
        f"rerun < {RERUN_SHARE:.0%} of sequential",
        "peak < WORKER_MEMORY",
    )
    failed = [n for n, good in zip(names, ok, strict=True) if not good]
    print("PASS" if not failed else f"FAIL: {', '.join(failed)}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
