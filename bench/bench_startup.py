"""Cold start of the command line: `shotsmith --help` and `shotsmith plan` in fresh processes.

Target (issue 19): each under 1 s of wall time, interpreter start included. Best of `--repeats` runs (a shared
machine's load only ever slows a run down); prints the heaviest imports of one `--help` (python -X importtime).
Run: .venv/bin/python bench/bench_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.0


def wall(args: list[str], cwd: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), SHOTSMITH_QUIET="1")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "shotsmith", *args], env=env, cwd=cwd, check=True, capture_output=True
    )
    return time.perf_counter() - start


def heaviest_imports(n: int = 8) -> list[tuple[float, str]]:
    """The `n` top-level packages whose import (cumulative) took longest in one `shotsmith --help`."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shotsmith", "--help"],
        env=env,
        capture_output=True,
        text=True,
    )
    top: dict[str, float] = {}
    for line in res.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].strip()
        root = name.split(".")[0]
        top[root] = max(top.get(root, 0.0), int(parts[1]) / 1e6)
    return sorted(((s, name) for name, s in top.items()), reverse=True)[:n]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    commands = {
        "shotsmith --help": ["--help"],
        "shotsmith plan (json + png + html)": ["plan", "--cam", "dolly_in", "-o", "trajectory.json"],
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        for name, cmd in commands.items():
            times = [wall(cmd, tmp) for _ in range(args.repeats)]
            rows.append((name, min(times), times))
    print(f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}; best of {args.repeats}")
    print("heaviest imports of `shotsmith --help` (cumulative s): " + ", ".join(
        f"{name} {s:.2f}" for s, name in heaviest_imports()
    ))  # fmt: skip
    print(f"{'target (issue 19): under 1 s':<40} {'measured':>9}  verdict   runs")
    ok = True
    for name, best, times in rows:
        met = best < TARGET_S
        ok = ok and met
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{name:<40} {best:8.2f}s  {'met' if met else 'missed':<8}  {runs}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
