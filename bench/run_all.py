"""`make bench`: run every bench/bench_*.py in turn; each prints its own table.

Benchmarks measure speed, memory and quality targets on this machine; unit tests never time anything.
Pass names to run a subset: `python bench/run_all.py render demo`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Arguments a script gets under `make bench` (bench_real's full default, 81 frames x 5 moves x every input, takes
#: ~20 min here: `make bench` runs its quick mode; run `python bench/bench_real.py` for the full table). The same
#: for the long shots (81/161/321 frames; 641 alone) and the several-photo scene (one layout).
ARGS = {"bench_real": ["--quick"], "bench_long": ["--quick"], "bench_multiview": ["--quick"]}


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.stem for name in argv)]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *ARGS.get(script.stem, [])], cwd=HERE.parent)
        print(f"--- {script.stem}: exit {code}, {time.perf_counter() - start:.1f} s", flush=True)
        if code:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
