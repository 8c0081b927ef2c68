"""Fuzz targets: every parser and entry point that takes user data, driven by hypothesis.

The promise each target checks: the call succeeds, or raises a `ShotsmithError` whose message is one line;
never another exception (a traceback), never a hang (hypothesis' deadline), never a file written outside the
temporary folder it was given (a case running past `HANG_SECONDS` is a failure). Inputs are real files of the
repository mutated (truncated, bytes flipped, numbers replaced by NaN / inf / huge values, wrong JSON types), free
text, small videos made with the bundled ffmpeg (H.264, odd sizes, another codec, variable frame rate, audio only,
a still image, empty) and jobs files in the three formats (JSON lines, CSV, TOML).

`tests/test_fuzz.py` runs every target briefly with a fixed seed inside `make test`; `make fuzz` runs
`python tests/fuzzing.py [--examples N]`, which prints per target the cases tried and the failures.
"""

from __future__ import annotations

import json
import signal
import subprocess
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
#: A case that runs longer than this is a hang (checked with SIGALRM, so it fails instead of blocking the run).
HANG_SECONDS = 60
#: Cases of the short seeded run in `make test` (tests/test_fuzz.py); a target that starts ffmpeg gets fewer.
SHORT_EXAMPLES = {"video files": 12}
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


def target_video_file(data: bytes, suffix: str, tmp: Path) -> None:
    """Probe and decode a (mutated) video the way `recapture` does, and read it whole the way the guidance
    reader does: frames, or one InputError line."""
    from shotsmith.media import read_video
    from shotsmith.video import DecodeOptions, decode_video, probe_video

    path = tmp / f"clip{suffix}"
    path.write_bytes(data)
    expect_clean(lambda: probe_video(path))
    expect_clean(lambda: decode_video(path, DecodeOptions(frames=4, width=32, height=24, short="pad")))
    expect_clean(lambda: read_video(path, max_frames=6))


def target_jobs_file(text: str, suffix: str, tmp: Path) -> None:
    """`shotsmith batch`'s reader: jobs, or a JobsFileError whose every line is `FILE:LINE: problem`, or one
    InputError line (unknown file type, unreadable file)."""
    import re

    from shotsmith.batch import JobsFileError, load_jobs

    path = tmp / f"jobs{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_jobs(path, check_backends=False, out_dir=tmp / "out")
    except JobsFileError as exc:
        assert exc.problems, "a JobsFileError without problems"
        for line in exc.problems:
            assert "\n" not in line and re.match(re.escape(str(path)) + r":\d+: ", line), f"bad line {line!r}"
    except ShotsmithError as exc:
        one_line(exc)


# -- seeds made once per process: small videos and jobs files --------------------------------------------------

_SEED_DIR: Path | None = None


def _seed_dir() -> Path:
    """A folder (outside every case's folder) holding the video and jobs seeds, made on first use."""
    global _SEED_DIR
    if _SEED_DIR is None:
        import atexit
        import shutil

        _SEED_DIR = Path(tempfile.mkdtemp(prefix="shotsmith-fuzz-seeds-"))
        atexit.register(shutil.rmtree, _SEED_DIR, ignore_errors=True)
        _make_video_seeds(_SEED_DIR)
        _make_jobs_seeds(_SEED_DIR)
    return _SEED_DIR


def _make_video_seeds(folder: Path) -> None:
    """Small videos through the bundled ffmpeg: H.264 mp4, odd-sized (33x25) MJPEG avi, MPEG-4 part 2 mkv,
    variable frame rate H.264, audio only (a wav named .mp4), a PNG named .mp4, and an empty file."""
    import imageio_ffmpeg
    import numpy as np

    from shotsmith.media import write_image, write_video

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (24, 32, 3), dtype=np.uint8) for _ in range(6)]
    write_video(folder / "h264.mp4", frames, fps=8)
    write_image(folder / "still.png", frames[0])
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    src = ["-f", "lavfi", "-i", "testsrc=size=33x25:rate=10:duration=0.6"]
    jobs = {
        "odd_mjpeg.avi": [*src, "-c:v", "mjpeg", "-pix_fmt", "yuvj444p"],
        "mpeg4.mkv": ["-f", "lavfi", "-i", "testsrc=size=32x24:rate=12:duration=0.5", "-c:v", "mpeg4"],
        # variable frame rate: frames at irregular times (t^1.5), kept as they are (-fps_mode passthrough)
        "vfr.mp4": ["-f", "lavfi", "-i", "testsrc=size=32x24:rate=10:duration=0.8", "-vf", "setpts=PTS*(1+N/4)",
                    "-fps_mode", "passthrough", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
        "audio_only.mp4": ["-f", "lavfi", "-i", "sine=duration=0.3", "-f", "wav"],
    }  # fmt: skip
    for name, args in jobs.items():
        subprocess.run(
            [ffmpeg, "-hide_banner", "-v", "error", "-y", *args, str(folder / name)], check=True, timeout=60
        )
    (folder / "still.mp4").write_bytes((folder / "still.png").read_bytes())
    (folder / "empty.mp4").write_bytes(b"")


def _video_seeds() -> list[Path]:
    d = _seed_dir()
    return [d / n for n in ("h264.mp4", "odd_mjpeg.avi", "mpeg4.mkv", "vfr.mp4", "audio_only.mp4", "still.mp4",
                            "empty.mp4")]  # fmt: skip


def _make_jobs_seeds(folder: Path) -> None:
    """One valid jobs file per format (two run jobs and one recapture job, absolute paths to the seeds)."""
    image, video = folder / "still.png", folder / "h264.mp4"
    tiny = {"frames": 9, "size": "64x48", "depth": "prior", "generator": "inpaint"}
    jobs = [
        {"name": "a", "prompt": "a wall", "image": str(image), "cam": "dolly_in", **tiny},
        {
            "name": "b",
            "prompt": "a wall, pan left",
            "image": str(image),
            "cam": "pan_left",
            "seed": 3,
            **tiny,
        },
        {"name": "c", "video": str(video), "cam": "orbit_left", "frames": 4, "size": "32x24"},
    ]
    (folder / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in jobs))
    (folder / "jobs.csv").write_text(
        "name,prompt,image,video,cam,frames,size,depth,generator,seed\n"
        f"a,a wall,{image},,dolly_in,9,64x48,prior,inpaint,\n"
        f'b,"a wall, pan left",{image},,pan_left,9,64x48,prior,inpaint,3\n'
        f"c,,,{video},orbit_left,4,32x24,,,\n"
    )
    (folder / "jobs.toml").write_text(
        f'[defaults]\nframes = 9\nsize = "64x48"\ndepth = "prior"\ngenerator = "inpaint"\n\n'
        f'[[job]]\nname = "a"\nprompt = "a wall"\nimage = "{image}"\ncam = "dolly_in"\n\n'
        f'[[job]]\nname = "b"\nprompt = "a wall, pan left"\nimage = "{image}"\ncam = "pan_left"\nseed = 3\n\n'
        f'[[job]]\nname = "c"\nvideo = "{video}"\ncam = "orbit_left"\nframes = 4\nsize = "32x24"\n'
    )


@st.composite
def jobs_text(draw) -> tuple[str, str]:
    """(text, suffix): a seed jobs file mutated as text (lines dropped, duplicated or cut, a value or key replaced
    by something hostile, free text spliced in), sometimes under another format's suffix."""
    d = _seed_dir()
    fmt = draw(st.sampled_from([".jsonl", ".csv", ".toml"]))
    lines = (d / f"jobs{fmt}").read_text().splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["drop", "dup", "cut", "value", "splice"]))
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif kind == "value":
            hostile = draw(
                st.one_of(
                    st.sampled_from(WEIRD_NUMBERS + ['"../../etc"', '"/"', '""', "[]", "{}", "true", '"a\\u0000b"',
                                                     '"x" * 99', "-1", "1e999", '"..\\\\x"', "null", "9" * 40]),
                    st.text(max_size=12),
                )
            )  # fmt: skip
            for sep in (":", "=", ","):
                if sep in lines[i]:
                    head, _, _ = lines[i].rpartition(sep)
                    lines[i] = f"{head}{sep}{hostile}\n"
                    break
        else:
            lines.insert(i, draw(st.text(max_size=40)) + "\n")
    suffix = draw(st.sampled_from([fmt, fmt, fmt, ".jsonl", ".csv", ".toml", ".json", ".txt"]))
    return "".join(lines), suffix


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
        "video files": (
            target_video_file,
            st.tuples(
                st.deferred(lambda: mutated_bytes(_video_seeds())),
                st.sampled_from([".mp4", ".mov", ".mkv", ".avi", ".webm"]),
            ),
        ),
        "jobs files": (target_jobs_file, jobs_text()),
    }


class Hang(Exception):
    """A case ran past HANG_SECONDS."""


def _hang(signum, frame):
    raise Hang(f"the case ran longer than {HANG_SECONDS} s")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else "")[:300]


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
        with tempfile.TemporaryDirectory(prefix="shotsmith-fuzz-") as root:
            # The case's folder inside a private one: anything appearing beside it was written outside.
            case = Path(root) / "case"
            case.mkdir()
            old = signal.signal(signal.SIGALRM, _hang)
            signal.alarm(HANG_SECONDS)
            try:
                fn(*args, case)
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, old)
            outside = sorted(p.name for p in Path(root).iterdir() if p != case)
            assert not outside, f"wrote outside its folder: {outside}"

    try:
        check()
    except Exception as exc:  # the shrunk counter-example
        inner = exc
        while isinstance(inner, BaseExceptionGroup) and inner.exceptions:  # FlakyFailure: say what it was
            inner = inner.exceptions[0]
        failures.append(f"{type(inner).__name__}: {_first_line(inner)}; counter-example {_first_line(exc)}")
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
