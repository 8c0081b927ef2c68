"""Fault injection on a tiny shot: kill -9, a full disk, I/O errors, a read-only workspace, two writers, a
hand-edited trajectory, links out of the workspace. `make faults` runs it and prints the table: fault, stage,
runs, recovered (all of them, or the exit code is 1).

The shot is every stage (build-3d-cache, plan-trajectory, caption, insert-object, render-guidance, generate,
evaluate) on a 128x96 photo at --size 64x48, 9 frames, embedded backends, a fixed seed. "Recovered" means:

- kill -9 at a random moment of a stage's body (a child process runs the CLI; the parent kills it a uniform
  random fraction of that stage's measured duration after the stage starts), and inside one random write of
  the stage (its temporary file complete but not renamed, or renamed but not recorded), then the same command
  again: it exits 0 and every file is byte-identical to a clean run's (shot.json's timings and
  eval/metrics.json's seconds aside), no temporary file or lock is left: no stage trusted a partial artifact.
- ENOSPC on every artifact write (the temporary file is a link to /dev/full, so the real writer fails: numpy,
  Pillow, ffmpeg, json) and EIO on every commit (os.fsync fails): the command exits 1 with one `error:` line,
  the artifact being written keeps its previous bytes, every other file is its previous or its new version
  (nothing half written), no temporary or lock is left; after all of them one clean run gives the clean bytes.
- read-only workspace (without write permission; as root the child drops CAP_DAC_OVERRIDE): one line, exit 1,
  nothing changed. Two writers: the second refuses in one line while the first holds the lock; two `run`s
  started together end with the clean bytes.
- hand-edited trajectory.json: `status` says the stages that read it are stale, and they rerun (not skip).
- links out of the workspace and `..` names: refused in one line or replaced, never written through.

`python tests/faults.py [--kills N] [--races N] [--seed S] [--only kill,enospc,...]`; tests/test_faults.py runs the fast checks.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
STAGES = [
    "build-3d-cache",
    "plan-trajectory",
    "caption",
    "insert-object",
    "render-guidance",
    "generate",
    "evaluate",
]
MARK = "@@fault "
#: Files whose bytes carry timings: compared without them.
VOLATILE_KEYS = ("seconds", "finished")


def tiny_photo(path: Path, flip: bool = False) -> Path:
    import numpy as np

    from shotsmith.media import write_image

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128]
    img = np.clip(np.stack([x * 2, y * 2, x + y], -1) % 256 + rng.integers(0, 60, (96, 128, 3)), 0, 255)
    img = img.astype(np.uint8)
    img[50:90, 40:90] = [230, 60, 40]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, np.ascontiguousarray(img[:, ::-1]) if flip else img)
    return path


def shot_args(ws: Path, photo: Path, cam: str = "dolly_in,pan_left", seed: int = 0) -> list[str]:
    """`shotsmith run` of the tiny shot with every stage."""
    return ["run", "a red box on a textured wall", "--image", str(photo), "-w", str(ws), "--cam", cam,
            "--frames", "9", "--size", "64x48", "--depth", "prior", "--generator", "inpaint", "--seed", str(seed),
            "--object", str(ROOT / "assets" / "cone.ply"), "--at-pixel", "32,30", "--evaluate"]  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Workspace states


def _strip(obj):
    if isinstance(obj, dict):
        return {
            k: _strip(v)
            for k, v in obj.items()
            if k not in VOLATILE_KEYS and not k.endswith(("_s", "seconds"))
        }
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def state(ws: Path) -> dict[str, str]:
    """Workspace name -> content digest of every file (shot.json: stage statuses and options only; timings
    out of eval/metrics.json). Links are listed as links."""
    import hashlib

    from shotsmith import workspace as W

    out: dict[str, str] = {}
    if not ws.exists():
        return out
    for p in sorted(ws.rglob("*")):
        name = str(p.relative_to(ws))
        if p.is_symlink():
            out[name] = "link -> " + os.readlink(p)
        elif not p.is_file() or name == W.LOCK:
            continue
        elif name == W.SHOT:
            data = json.loads(p.read_text())
            out[name] = json.dumps(
                {k: (v["status"], v["options"]) for k, v in sorted(data["stages"].items())}, sort_keys=True
            )
        elif name == W.EVAL_METRICS:
            out[name] = json.dumps(_strip(json.loads(p.read_text())), sort_keys=True)
        else:
            out[name] = hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
    return out


def differences(a: dict, b: dict) -> list[str]:
    return sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))


def leftovers(ws: Path) -> list[str]:
    """Temporary files of atomic writes and a lock still held."""
    from shotsmith import workspace as W

    return sorted(
        str(p.relative_to(ws))
        for p in ws.rglob("*")
        if ".tmp-" in p.name or ".old-" in p.name or p.name == W.LOCK
    )


def copy_ws(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def one_error_line(err: str) -> str:
    """'' when `err` holds exactly one `error:` line and no traceback, else what is wrong."""
    if "Traceback" in err:
        return "traceback: " + err.strip().splitlines()[-1][:200]
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    if len(lines) != 1:
        return f"{len(lines)} error lines: {err.strip()[:200]!r}"
    return ""


# ---------------------------------------------------------------------------------------------------------------
# The child: the CLI with markers when each stage's body starts and ends


def child_main(argv: list[str]) -> int:
    """`faults.py --child [--snapshots DIR] -- ARGS`: run `shotsmith ARGS`, printing MARK lines when a stage's
    body starts and ends and at each artifact write (and copying the workspace to DIR/<stage> as its body
    starts). With SHOTSMITH_FAULT_KILL="STAGE|NAME|before" (or after) it SIGKILLs itself inside that write:
    the temporary file complete but not renamed yet (before), or renamed but not recorded (after)."""
    snapshots = None
    if argv[:1] == ["--snapshots"]:
        snapshots, argv = Path(argv[1]), argv[2:]
    assert argv[:1] == ["--"]
    args = argv[1:]
    from shotsmith import workspace as W
    from shotsmith.cli import main

    root = Path(args[args.index("-w") + 1]).resolve()
    kill_at = os.environ.get("SHOTSMITH_FAULT_KILL", "")
    real, real_atomic = W.run_stage, W.atomic_path
    current = ["(request)"]

    def run_stage(ws, stage, fn, **kw):
        def body():
            current[0] = stage
            if snapshots is not None:
                shutil.copytree(ws.root, snapshots / stage, ignore=shutil.ignore_patterns(W.LOCK))
            print(f"{MARK}start {stage} {time.monotonic()}", flush=True)
            try:
                return fn()
            finally:
                print(f"{MARK}end {stage} {time.monotonic()}", flush=True)

        return real(ws, stage, body, **kw)

    @contextlib.contextmanager
    def atomic_path(final, error=W.WorkspaceError):
        final = Path(final)
        try:
            name = str(final.resolve().relative_to(root))
        except ValueError:
            name = str(final)
        print(f"{MARK}write {current[0]} {name}", flush=True)
        with real_atomic(final, error) as tmp:
            yield tmp
            if kill_at == f"{current[0]}|{name}|before":
                os.kill(os.getpid(), signal.SIGKILL)
        if kill_at == f"{current[0]}|{name}|after":
            os.kill(os.getpid(), signal.SIGKILL)

    W.run_stage, W.atomic_path = run_stage, atomic_path
    print(f"{MARK}ready", flush=True)
    return main(args)


def child_cmd(args: list[str], snapshots: Path | None = None) -> list[str]:
    snap = ["--snapshots", str(snapshots)] if snapshots else []
    return [PY, str(Path(__file__).resolve()), "--child", *snap, "--", *args]


def child_env() -> dict[str, str]:
    import shotsmith

    src = str(Path(shotsmith.__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=src, SHOTSMITH_QUIET="1", GLOG_minloglevel="3")


def run_child(args: list[str], snapshots: Path | None = None, prefix: list[str] | None = None, timeout=600):
    proc = subprocess.run(
        [*(prefix or []), *child_cmd(args, snapshots)], capture_output=True, text=True, env=child_env(),
        timeout=timeout,
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def kill_in_write(args: list[str], stage: str, name: str, when: str) -> bool:
    """Run the CLI so that it SIGKILLs itself inside the write of `name` by `stage` (`when`: before or after
    the rename); True when it died so."""
    env = dict(child_env(), SHOTSMITH_FAULT_KILL=f"{stage}|{name}|{when}")
    proc = subprocess.run(child_cmd(args), capture_output=True, text=True, env=env, timeout=600)
    return proc.returncode == -signal.SIGKILL


def kill_during(args: list[str], stage: str, delay: float) -> bool:
    """Start the CLI, SIGKILL it `delay` seconds after `stage`'s body starts; True when it was killed."""
    proc = subprocess.Popen(
        child_cmd(args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=child_env()
    )
    assert proc.stdout is not None
    killed = False
    for line in proc.stdout:
        if line.startswith(f"{MARK}start {stage} "):
            time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
    proc.stdout.close()
    proc.wait()
    return killed and proc.returncode == -signal.SIGKILL


# ---------------------------------------------------------------------------------------------------------------
# In-process runs with a write fault


def cli(args: list[str]) -> tuple[int, str]:
    """(exit code, stderr) of `shotsmith ARGS` in this process; an escaped exception is a traceback."""
    import traceback

    from shotsmith.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except BaseException:  # noqa: BLE001 - the point: anything but a ShotsmithError is a failure
            traceback.print_exc()
            code = 99
    return code, buf.getvalue()


@contextlib.contextmanager
def write_fault(ws: Path, kind: str, victim: Callable[[str, str], bool], seen: list) -> Iterator[None]:
    """Within: the first artifact write (workspace name, stage) for which `victim` says True fails with `kind`
    (ENOSPC: its temporary file is a link to /dev/full; EIO: os.fsync of it fails); every write is appended to
    `seen` as (stage, name, faulted)."""
    from shotsmith import workspace as W

    real_atomic, real_run_stage, real_fsync = W.atomic_path, W.run_stage, os.fsync
    current = ["(request)"]  # shot.json's request, written before any stage
    armed = [True]
    eio_on: set[int] = set()

    def run_stage(wsobj, stage, fn, **kw):
        current[0] = stage
        return real_run_stage(wsobj, stage, fn, **kw)

    @contextlib.contextmanager
    def atomic_path(final, error=W.WorkspaceError):
        final = Path(final)
        try:
            name = str(final.resolve().relative_to(ws.resolve()))
        except ValueError:
            name = str(final)
        hit = armed[0] and victim(current[0], name)
        seen.append((current[0], name, hit))
        if hit:
            armed[0] = False
        with real_atomic(final, error) as tmp:
            if hit and kind == "ENOSPC" and not final.is_dir():
                os.symlink("/dev/full", tmp)
            if hit and kind == "EIO":
                eio_on.add(os.path.realpath(tmp))
            yield tmp
            if hit and kind == "ENOSPC":
                if tmp.is_symlink():  # the writer did not notice that nothing was written
                    os.unlink(tmp)
                    raise AssertionError(f"{name}: the writer ignored ENOSPC")
                if tmp.is_dir():  # a folder artifact: the disk fills as its last file is written
                    raise OSError(errno.ENOSPC, "No space left on device")

    def fsync(fd):
        target = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else ""
        if eio_on and target in eio_on:
            eio_on.clear()
            raise OSError(errno.EIO, "Input/output error")
        return real_fsync(fd)

    W.atomic_path, W.run_stage, os.fsync = atomic_path, run_stage, fsync
    try:
        yield
    finally:
        W.atomic_path, W.run_stage, os.fsync = real_atomic, real_run_stage, real_fsync


# ---------------------------------------------------------------------------------------------------------------
# The faults


class Table:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[int]] = {}
        self.notes: list[str] = []

    def add(self, fault: str, stage: str, ok: bool, why: str = "") -> None:
        row = self.rows.setdefault((fault, stage), [0, 0])
        row[0] += 1
        row[1] += bool(ok)
        if not ok:
            self.notes.append(f"{fault} / {stage}: {why}")
            print(f"    FAILED {fault} / {stage}: {why}", flush=True)

    def print(self) -> int:
        print(f"{'fault':44s} {'stage':17s} {'runs':>5s} {'recovered':>10s}")
        for (fault, stage), (runs, ok) in self.rows.items():
            print(f"{fault:44s} {stage:17s} {runs:5d} {ok:10d}")
        runs = sum(r for r, _ in self.rows.values())
        ok = sum(k for _, k in self.rows.values())
        print(f"{'all':44s} {'':17s} {runs:5d} {ok:10d}")
        for n in self.notes:
            print(f"  {n}")
        return 0 if runs == ok else 1


class Bench:
    """The tiny shot's files: a photo, the clean run's state, and its workspace before each stage's body."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.photo = tiny_photo(tmp / "photo.png")
        self.other_photo = tiny_photo(tmp / "other" / "photo.png", flip=True)  # same name, other pixels
        self.clean = tmp / "clean"
        self.snapshots = tmp / "before"
        self.snapshots.mkdir()
        code, out, err = run_child(shot_args(self.clean, self.photo), snapshots=self.snapshots)
        if code != 0:
            raise SystemExit(f"the clean run failed: {err.strip()[-500:]}")
        self.reference = state(self.clean)
        marks = [ln.split() for ln in out.splitlines() if ln.startswith(MARK)]
        starts = {m[2]: float(m[3]) for m in marks if m[1] == "start"}
        self.durations = {m[2]: float(m[3]) - starts[m[2]] for m in marks if m[1] == "end"}
        self.writes: dict[str, list[str]] = {}
        for m in marks:
            if m[1] == "write":
                self.writes.setdefault(m[2], []).append(" ".join(m[3:]))
        missing = [s for s in STAGES if s not in self.durations]
        if missing:
            raise SystemExit(f"the clean run did not run {missing}")

    def args(self, ws: Path) -> list[str]:
        return shot_args(ws, self.photo)


def check_recovered(bench: Bench, ws: Path) -> str:
    """'' when a clean rerun of the shot in `ws` exits 0 with the clean run's bytes and nothing left over."""
    code, err = cli(bench.args(ws))
    if code != 0:
        return f"rerun exit {code}: {err.strip()[-200:]}"
    diff = differences(state(ws), bench.reference)
    if diff:
        return f"rerun differs from a clean run in {diff[:4]}"
    if leftovers(ws):
        return f"left over: {leftovers(ws)[:3]}"
    return ""


def fault_kill(bench: Bench, table: Table, kills: int, rng: random.Random) -> None:
    for stage in STAGES:
        for k in range(kills):
            ws = copy_ws(bench.snapshots / stage, bench.tmp / "kill")
            delay = rng.uniform(0.0, 1.1) * bench.durations[stage]
            killed = kill_during(bench.args(ws), stage, delay)
            why = check_recovered(bench, ws)
            table.add("kill -9 at a random moment, then rerun", stage, not why, why or "")
            if not killed:
                table.notes.append(f"kill -9 / {stage}: trial {k} finished before the kill at {delay:.3f} s")
        # And inside one of its writes (random): the temporary complete but not renamed, or renamed unrecorded.
        ws = copy_ws(bench.snapshots / stage, bench.tmp / "kill")
        name, when = rng.choice(bench.writes[stage]), rng.choice(["before", "after"])
        killed = kill_in_write(bench.args(ws), stage, name, when)
        why = check_recovered(bench, ws) if killed else f"did not die writing {name}"
        table.add("kill -9 inside a write, then rerun", stage, not why, f"{name} ({when} the rename): {why}")


def fault_writes(bench: Bench, table: Table, kind: str) -> None:
    """Fail every artifact write of the shot once, in order, starting from a workspace holding another shot
    (another photo of the same name, camera and seed: so every stage reruns and each artifact has a previous
    version to keep)."""
    ws = bench.tmp / f"writes-{kind}"
    if ws.exists():
        shutil.rmtree(ws)
    code, err = cli(shot_args(ws, bench.other_photo, cam="orbit_left", seed=1))
    assert code == 0, err
    done: set[tuple[str, str]] = set()
    label = {"ENOSPC": "ENOSPC on an artifact write (/dev/full)", "EIO": "EIO on an artifact commit (fsync)"}[
        kind
    ]
    for _ in range(200):
        before = state(ws)
        seen: list = []
        with write_fault(ws, kind, lambda stage, name: (stage, name) not in done, seen):
            code, err = cli(bench.args(ws))
        hit = [(s, n) for s, n, h in seen if h]
        if not hit:
            break  # every write has failed once
        stage, name = hit[0]
        done.add((stage, name))
        after = state(ws)
        problems = []
        if code != 1:
            problems.append(f"exit {code}")
        if one_error_line(err):
            problems.append(one_error_line(err))
        if after.get(name) != before.get(name):
            problems.append(f"{name} changed")
        mixed = [n for n in differences(before, after) if after.get(n) not in (bench.reference.get(n), None)]
        mixed = [n for n in mixed if n != "shot.json"]  # it records the failed run: that is its job
        if mixed:
            problems.append(f"neither old nor new: {mixed[:3]}")
        if leftovers(ws):
            problems.append(f"left over {leftovers(ws)[:3]}")
        table.add(label, stage, not problems, f"{name}: {'; '.join(problems)}")
    why = check_recovered(bench, ws)
    table.add(label.split(" on ")[0] + " on every write, then rerun", "run", not why, why)


def _readonly_prefix() -> list[str]:
    """As root, permissions do not stop writes: the child drops the capabilities that bypass them."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
    return []


def _chmod_tree(path: Path, writable: bool) -> None:
    for p in [path, *path.rglob("*")]:
        if not p.is_symlink():
            mode = p.stat().st_mode
            p.chmod(mode | 0o200 if writable else mode & ~0o222)


def fault_readonly(bench: Bench, table: Table) -> None:
    if os.geteuid() == 0 and not _readonly_prefix():
        table.notes.append("read-only workspace: skipped (root without setpriv)")
        return
    ws = copy_ws(bench.clean, bench.tmp / "ro")
    before = state(ws)
    _chmod_tree(ws, writable=False)
    try:
        for stage, args in (
            ("run", [*bench.args(ws), "--force"]),
            ("plan-trajectory", ["plan-trajectory", "-w", str(ws), "--cam", "pan_left", "--frames", "9"]),
        ):
            code, _out, err = run_child(args, prefix=_readonly_prefix())
            problems = [f"exit {code}"] if code != 1 else []
            problems += [p for p in [one_error_line(err)] if p]
            if state(ws) != before:
                problems.append("the workspace changed")
            table.add("read-only workspace", stage, not problems, "; ".join(problems))
    finally:
        _chmod_tree(ws, writable=True)
    # Only output/ read-only: the stages before generate run, generate refuses in one line.
    ws = copy_ws(bench.clean, bench.tmp / "ro-out")
    _chmod_tree(ws / "output", writable=False)
    try:
        code, _out, err = run_child([*bench.args(ws), "--force"], prefix=_readonly_prefix())
        problems = [f"exit {code}"] if code != 1 else []
        problems += [p for p in [one_error_line(err)] if p]
        if leftovers(ws):
            problems.append(f"left over {leftovers(ws)[:3]}")
        table.add("read-only output/ folder", "generate", not problems, "; ".join(problems))
    finally:
        _chmod_tree(ws / "output", writable=True)


def fault_two_writers(bench: Bench, table: Table, races: int) -> None:
    ws = copy_ws(bench.clean, bench.tmp / "two")
    holder = subprocess.Popen(
        [PY, "-c", "import sys, time; from shotsmith.workspace import Workspace\n"
         f"with Workspace({str(ws)!r}).locked():\n    print('locked', flush=True); time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True, env=child_env(),
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, _out, err = run_child([*bench.args(ws), "--force"])
        problems = [f"exit {code}"] if code != 1 else []
        problems += [p for p in [one_error_line(err)] if p]
        if "in use by another shotsmith process" not in err:
            problems.append(f"unexpected message {err.strip()[:160]!r}")
        table.add("second writer while the lock is held", "run", not problems, "; ".join(problems))
    finally:
        holder.kill()
        holder.wait()
    for _ in range(races):
        ws = bench.tmp / "race"
        if ws.exists():
            shutil.rmtree(ws)
        procs = [
            subprocess.Popen(child_cmd(bench.args(ws)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, env=child_env())
            for _ in range(2)
        ]  # fmt: skip
        results = [(p.wait(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
        problems = []
        for code, err in results:
            if code == 1 and "in use by another shotsmith process" in err and not one_error_line(err):
                continue
            if code != 0:
                problems.append(f"exit {code}: {err.strip()[-160:]!r}")
        if not any(code == 0 for code, _ in results):
            problems.append("neither finished")
        elif differences(state(ws), bench.reference):
            problems.append(f"differs from a clean run in {differences(state(ws), bench.reference)[:3]}")
        table.add("two `run`s started together", "run", not problems, "; ".join(problems))


def fault_hand_edit(bench: Bench, table: Table) -> None:
    from shotsmith import workspace as W

    ws = copy_ws(bench.clean, bench.tmp / "edit")
    data = json.loads((ws / W.TRAJECTORY).read_text())
    m = data["frames"][-1]["transform_matrix"]
    m[0][3] += 0.2  # the last camera 0.2 further right, by hand
    (ws / W.TRAJECTORY).write_text(json.dumps(data, indent=1))
    before = state(ws)
    from shotsmith.stages import STAGES as REGISTRY

    stale = {name: W.Workspace(ws).stage_state(name) for name in ("render-guidance", "generate", "evaluate")}

    def record(stage: str) -> dict:
        return json.loads((ws / W.SHOT).read_text())["stages"][stage]

    for stage, outputs in (
        ("render-guidance", [W.GUIDANCE_RGB]),
        ("generate", [W.OUTPUT_VIDEO]),
        ("evaluate", []),  # on a 64x48 shot the mapper registers too few frames: its numbers need not move
    ):
        assert stage in {s.name for s in REGISTRY}
        old = record(stage)
        code, err = cli([stage, "-w", str(ws)])
        problems = [f"exit {code}: {err.strip()[-160:]}"] if code != 0 else []
        if record(stage) == old:
            problems.append("skipped (its record did not change)")
        if stale[stage] != "stale" and stage == "render-guidance":
            problems.append(f"status said {stale[stage]!r}")
        if outputs and all(state(ws).get(o) == before.get(o) for o in outputs):
            problems.append(f"{outputs} unchanged")
        table.add("hand-edited trajectory.json", stage, not problems, "; ".join(problems))


def fault_links(bench: Bench, table: Table) -> None:
    from shotsmith import workspace as W

    outside = bench.tmp / "outside"
    if outside.exists():
        shutil.rmtree(outside)
    outside.mkdir()
    victim = outside / "precious.mp4"
    victim.write_bytes(b"not yours")

    def fresh_outside() -> None:
        for p in outside.iterdir():
            if p != victim:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        victim.write_bytes(b"not yours")

    def untouched() -> list[str]:
        names = sorted(p.name for p in outside.iterdir())
        bad = [] if names == ["precious.mp4"] else [f"outside now holds {names}"]
        return bad + ([] if victim.read_bytes() == b"not yours" else ["precious.mp4 was overwritten"])

    # output/ is a link to a folder outside: refused.
    fresh_outside()
    ws = copy_ws(bench.clean, bench.tmp / "links")
    shutil.rmtree(ws / "output")
    (ws / "output").symlink_to(outside, target_is_directory=True)
    code, err = cli(["generate", "-w", str(ws), "--force"])
    problems = ([f"exit {code}"] if code != 1 else []) + [p for p in [one_error_line(err)] if p] + untouched()
    table.add("output/ is a link out of the workspace", "generate", not problems, "; ".join(problems))
    # guidance/rgb.mp4 is a link to a file outside: replaced by the new file, the outside file untouched.
    fresh_outside()
    ws = copy_ws(bench.clean, bench.tmp / "links")
    (ws / W.GUIDANCE_RGB).unlink()
    (ws / W.GUIDANCE_RGB).symlink_to(victim)
    code, err = cli(["render-guidance", "-w", str(ws), "--force"])
    problems = ([f"exit {code}: {err[-160:]}"] if code != 0 else []) + untouched()
    if (ws / W.GUIDANCE_RGB).is_symlink():
        problems.append("the link is still there")
    table.add("an artifact is a link to a file outside", "render-guidance", not problems, "; ".join(problems))
    # objects.json names an object `../../evil`: --reapply refuses to write there.
    fresh_outside()
    ws = copy_ws(bench.clean, bench.tmp / "links")
    data = json.loads((ws / W.OBJECTS_JSON).read_text())
    data["objects"][0]["name"] = "../../outside/evil"
    (ws / W.OBJECTS_JSON).write_text(json.dumps(data))
    code, err = cli(["insert-object", "-w", str(ws), "--reapply"])
    problems = ([f"exit {code}"] if code != 1 else []) + [p for p in [one_error_line(err)] if p] + untouched()
    table.add("an object named ../../outside/evil", "insert-object", not problems, "; ".join(problems))
    # The lock file is a link to a file outside: refused, never truncated.
    fresh_outside()
    ws = copy_ws(bench.clean, bench.tmp / "links")
    (ws / W.LOCK).symlink_to(victim)
    code, err = cli(["generate", "-w", str(ws), "--force"])
    problems = ([f"exit {code}"] if code != 1 else []) + [p for p in [one_error_line(err)] if p] + untouched()
    table.add("the lock is a link to a file outside", "generate", not problems, "; ".join(problems))


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=3, help="kill -9 trials per stage")
    ap.add_argument("--races", type=int, default=2, help="two-writer races")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    ap.add_argument("--only", default="", help="comma-separated: run only these faults (kill, enospc, eio, "
                    "readonly, writers, edit, links)")  # fmt: skip
    args = ap.parse_args(argv)
    os.environ["SHOTSMITH_QUIET"] = "1"
    os.environ.setdefault(
        "GLOG_minloglevel", "3"
    )  # pycolmap's log of the tiny shot's failed mapping: noise here
    rng = random.Random(args.seed)
    table = Table()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shotsmith-faults-") as tmp:
        bench = Bench(Path(tmp))
        print(f"clean run: {len(bench.reference)} files; stage seconds "
              + ", ".join(f"{s} {d:.2f}" for s, d in bench.durations.items()), flush=True)  # fmt: skip
        faults = {
            "kill": lambda: fault_kill(bench, table, args.kills, rng),
            "enospc": lambda: fault_writes(bench, table, "ENOSPC"),
            "eio": lambda: fault_writes(bench, table, "EIO"),
            "readonly": lambda: fault_readonly(bench, table),
            "writers": lambda: fault_two_writers(bench, table, args.races),
            "edit": lambda: fault_hand_edit(bench, table),
            "links": lambda: fault_links(bench, table),
        }
        for name, fn in faults.items():
            if not args.only or name in args.only.split(","):
                t = time.perf_counter()
                fn()
                print(f"  {name}: {time.perf_counter() - t:.1f} s", flush=True)
    code = table.print()
    print(f"{time.perf_counter() - t0:.0f} s")
    return code


if __name__ == "__main__":
    import importlib.util

    if importlib.util.find_spec("shotsmith") is None:  # not installed: this checkout's
        sys.path.insert(0, str(ROOT / "src"))
    if sys.argv[1:2] == ["--child"]:
        sys.exit(child_main(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
