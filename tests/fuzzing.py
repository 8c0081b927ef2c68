"""Fuzz targets: every parser and entry point that takes user data, driven by hypothesis.

The promise each target checks: the call succeeds, or raises a `ShotsmithError` whose message is one line;
never another exception (a traceback), never a hang (hypothesis' deadline), never a file written outside the
temporary folder it was given. Inputs are real files of the repository mutated (truncated, bytes flipped,
numbers replaced by NaN / inf / huge values, wrong JSON types) and free text.

`tests/test_fuzz.py` runs every target briefly with a fixed seed inside `make test`; `make fuzz` runs
`python tests/fuzzing.py [--examples N]`, which prints per target the cases tried and the failures.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotsmith.errors import ShotsmithError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "formats"
SEEDS = {
    "camera": [p for p in sorted(DATA.iterdir()) if p.is_file()],
    "ply": [ROOT / "assets" / "cone.ply"],
}
WEIRD_NUMBERS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "-1e309",
    "0",
    "-0",
    "1e-320",
    "123456789012345678901234",
]


def one_line(exc: BaseException) -> None:
    """A ShotsmithError must be one line (the CLI prints it as one red line)."""
    assert isinstance(exc, ShotsmithError), f"{type(exc).__name__}: {exc}"
    assert "\n" not in str(exc).strip(), f"multi-line error: {exc!r}"


def expect_clean(fn: Callable[[], object]) -> None:
    try:
        fn()
    except ShotsmithError as exc:
        one_line(exc)


@st.composite
def mutated_bytes(draw, seeds: list[Path]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)).read_bytes())
    kind = draw(st.sampled_from(["truncate", "flip", "splice", "empty", "same"]))
    if kind == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "flip" and data:
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    elif kind == "splice":
        i = draw(st.integers(0, len(data)))
        data[i:i] = draw(st.binary(max_size=64))
    elif kind == "empty":
        data = bytearray()
    return bytes(data)


@st.composite
def mutated_json_text(draw, seeds: list[Path]) -> str:
    """A JSON seed with one number or value replaced by something hostile (NaN, huge, a string, a list...)."""
    src = [p for p in seeds if p.suffix == ".json"]
    text = draw(st.sampled_from(src)).read_text()
    data = json.loads(text)

    def leaves(obj, path=()):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from leaves(v, (*path, k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj[:6]):
                yield from leaves(v, (*path, i))
        else:
            yield path

    paths = list(leaves(data))
    if not paths:
        return text
    target = draw(st.sampled_from(paths))
    value = draw(
        st.one_of(
            st.sampled_from([float("nan"), float("inf"), -1e308, 1e308, 0, -1, None, "x", [], {}, True]),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=8),
        )
    )
    obj = data
    for key in target[:-1]:
        obj = obj[key]
    obj[target[-1]] = value
    return json.dumps(data)


# ---------------------------------------------------------------------------------------------------------------
# Targets: each takes the drawn input and a temporary folder, and must keep the promise.


def target_text_planner(text: str, lenient: bool, tmp: Path) -> None:
    from shotsmith.textplan import plan_from_text

    expect_clean(lambda: plan_from_text(text, lenient=lenient))


def target_camera_file(data: bytes, suffix: str, tmp: Path) -> None:
    from shotsmith.formats import read_camera_file

    path = tmp / f"cams{suffix}"
    path.write_bytes(data)
    expect_clean(lambda: read_camera_file(path))


def target_camera_json(text: str, tmp: Path) -> None:
    from shotsmith.formats import read_camera_file

    path = tmp / "cams.json"
    path.write_text(text)
    expect_clean(lambda: read_camera_file(path))


def target_points_file(data: bytes, tmp: Path) -> None:
    from shotsmith.objects import load_object
    from shotsmith.ply import read_points

    path = tmp / "obj.ply"
    path.write_bytes(data)
    expect_clean(lambda: read_points(path))
    expect_clean(lambda: load_object(path))


def target_image_file(data: bytes, tmp: Path) -> None:
    from shotsmith.media import read_image

    path = tmp / "photo.png"
    path.write_bytes(data)
    expect_clean(lambda: read_image(path))


def target_depth_file(data: bytes, suffix: str, tmp: Path) -> None:
    from shotsmith.backends.depth.file import read_depth_file

    path = tmp / f"depth{suffix}"
    path.write_bytes(data)
    expect_clean(lambda: read_depth_file(path))


def target_run_options(values: dict, tmp: Path) -> None:
    """Any text for any option of `run`: the config parses and validates, or refuses in one line."""
    from shotsmith.options import build_config
    from shotsmith.pipeline import RunConfig

    def make():
        cfg = build_config(RunConfig, {"prompt": "x", "image": str(tmp / "none.png"), **values})
        cfg.validate()

    expect_clean(make)


def _depth_seed_bytes() -> list[bytes]:
    import io

    import numpy as np

    out = []
    for arr in (np.ones((8, 8), np.float32), np.arange(64, dtype=np.float64).reshape(8, 8)):
        buf = io.BytesIO()
        np.save(buf, arr)
        out.append(buf.getvalue())
    return out


def _run_option_values():
    from shotsmith.options import option_specs
    from shotsmith.pipeline import RunConfig

    names = [s.dest for s in option_specs(RunConfig) if s.dest not in ("prompt", "image") and not s.multiple]
    hostile = st.one_of(st.sampled_from(WEIRD_NUMBERS + ["", "-1", "832x480", "0x0", "1x99999999", "a,b"]),
                        st.text(max_size=12))  # fmt: skip
    return st.dictionaries(st.sampled_from(names), hostile, max_size=3)


def targets() -> dict[str, tuple[Callable, object]]:
    """{name: (function(drawn..., tmp), strategy of the drawn arguments as a tuple)}."""
    text = st.one_of(
        st.text(max_size=200),
        st.lists(
            st.sampled_from(
                ["pan", "left", "right", "dolly", "in", "out", "then", "slowly", "30", "degrees", "1e309", "NaN",
                 "orbit", "zoom", "tilt", "up", "and", ",", "while", "-5", "0.5", "meters", "crane", "roll"]
            ),
            max_size=30,
        ).map(" ".join),
    )  # fmt: skip
    depth_seeds = _depth_seed_bytes()
    return {
        "text planner": (target_text_planner, st.tuples(text, st.booleans())),
        "camera files (bytes)": (
            target_camera_file,
            st.tuples(mutated_bytes(SEEDS["camera"]), st.sampled_from([".json", ".txt", ".npz"])),
        ),
        "camera files (json values)": (target_camera_json, st.tuples(mutated_json_text(SEEDS["camera"]))),
        "ply and meshes": (target_points_file, st.tuples(mutated_bytes(SEEDS["ply"]))),
        "images": (target_image_file, st.tuples(mutated_bytes([ROOT / "assets" / "astronaut.png"]))),
        "depth files": (
            target_depth_file,
            st.tuples(
                st.one_of(st.sampled_from(depth_seeds), st.binary(max_size=256)).map(bytes),
                st.sampled_from([".npy", ".npz", ".png"]),
            ),
        ),
        "run options": (target_run_options, st.tuples(_run_option_values())),
    }


def run_target(name: str, examples: int, seed: int = 0) -> tuple[int, list[str]]:
    """(cases tried, failure messages) of one target: at most one failure, shrunk by hypothesis."""
    fn, strategy = targets()[name]
    count = [0]
    failures: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def check(args):
        count[0] += 1
        with tempfile.TemporaryDirectory() as tmp:
            before = set(Path(tmp).parent.iterdir())
            fn(*args, Path(tmp))
            assert set(Path(tmp).parent.iterdir()) <= before | {Path(tmp)}, "wrote outside its folder"

    try:
        check()
    except Exception as exc:  # the shrunk counter-example
        failures.append(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}")
    return count[0], failures


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=2000, help="cases per target")
    ap.add_argument("targets", nargs="*", help="a subset of the target names")
    args = ap.parse_args(argv)
    names = [n for n in targets() if not args.targets or any(t in n for t in args.targets)]
    print(f"{'target':30s} {'cases':>7s} {'failures':>9s} {'seconds':>8s}")
    failed = 0
    for name in names:
        t0 = time.perf_counter()
        cases, failures = run_target(name, args.examples)
        failed += len(failures)
        print(f"{name:30s} {cases:7d} {len(failures):9d} {time.perf_counter() - t0:8.1f}", flush=True)
        for f in failures:
            print(f"    {f}")
    print(f"total failures: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    sys.exit(main(sys.argv[1:]))
