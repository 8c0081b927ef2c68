"""The workspace: the one module that knows artifact file names, plus the manifest, atomic writes and the lock.

A workspace is a folder (DESIGN.md section 4). Stages read and write it only through a `Workspace`: every
artifact is written to a temporary name in the same folder and renamed (`Workspace.atomic`), so an interrupted
stage never leaves a half file; one process at a time holds the lock (`Workspace.locked`); `shot.json` records
what was asked and one record per stage run, which `run_stage` uses to skip a stage whose inputs, options and
backend did not change.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import errno
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from shotsmith import __version__
from shotsmith.console import info
from shotsmith.errors import ShotsmithError, WorkspaceError

SCHEMA_VERSION = 1

# ---------------------------------------------------------------------------------------------------------------
# File names (relative to the workspace root) and the stage that writes each. Nothing else in shotsmith spells
# these; `shotsmith.artifacts` reads and writes what they hold.

#: Workspace name -> the stage (command) that writes it; `Workspace.require` names it in its error.
PRODUCERS: dict[str, str] = {}


def _name(name: str, producer: str) -> str:
    PRODUCERS[name] = producer
    return name


SHOT = "shot.json"
INPUT_DIR = "input"
CAPTION = _name("caption.json", "caption")
TRAJECTORY = _name("trajectory.json", "plan-trajectory")
TRAJECTORY_PNG = _name("trajectory.png", "plan-trajectory")
TRAJECTORY_HTML = _name("trajectory.html", "plan-trajectory")
CACHE_DIR = "cache"
CACHE_DEPTH = _name("cache/depth.npy", "build-3d-cache")
CACHE_POINTS = _name("cache/points.ply", "build-3d-cache")
CACHE_JSON = _name("cache/cache.json", "build-3d-cache")
CACHE_IMAGE = _name("cache/image.png", "build-3d-cache")  # the source colour at cache resolution
CACHE_FRAMES = _name("cache/frames.npz", "build-3d-cache")  # 4D cache of a video: per-frame depth and colour
CACHE_SOURCES = _name("cache/sources.npy", "build-3d-cache")  # several photos: each point's source photo
CACHE_PHOTOS = _name("cache/photos.json", "build-3d-cache")  # several photos: their registered cameras
OBJECTS_DIR = _name("objects", "insert-object")
OBJECTS_JSON = _name("objects/objects.json", "insert-object")
GUIDANCE_DIR = "guidance"
GUIDANCE_RGB = _name("guidance/rgb.mp4", "render-guidance")
GUIDANCE_MASK = _name("guidance/mask.mp4", "render-guidance")
GUIDANCE_DEPTH = _name("guidance/depth.npz", "render-guidance")
GUIDANCE_OBJECT_MASK = _name("guidance/object_mask.mp4", "render-guidance")
GUIDANCE_FRAMES = _name("guidance/frames", "render-guidance")
GUIDANCE_CAMS = _name("guidance/cams", "render-guidance --rig RIG")
RIG_JSON = _name("guidance/cams/rig.json", "render-guidance --rig RIG")
RIG_UE_JSON = _name("guidance/cams/camera_extrinsics.json", "render-guidance --rig RIG")
OUTPUT_VIDEO = _name("output/shot.mp4", "generate")
OUTPUT_SIDE_BY_SIDE = _name("output/side_by_side.mp4", "generate")
OUTPUT_CAMS = _name("output/cams", "generate --rig RIG")
OUTPUT_GRID = _name("output/grid.mp4", "generate --rig RIG")
OUTPUT_CHUNKS = _name("output/chunks", "generate")  # a long shot's chunks: frames + world, keyed
EVAL_METRICS = _name("eval/metrics.json", "evaluate")
EVAL_PLOT = _name("eval/trajectory_vs_estimate.png", "evaluate")
LOCK = ".shotsmith.lock"

#: The files of one camera's guidance, by role: a single camera keeps them under guidance/ (the names above),
#: rig camera k under guidance/cams/kk/ with the same leaf names plus its own trajectory.json.
GUIDANCE_LEAVES = {
    "rgb": "rgb.mp4",
    "mask": "mask.mp4",
    "depth": "depth.npz",
    "object_mask": "object_mask.mp4",
    "trajectory": "trajectory.json",
}


def object_ply(name: str) -> str:
    """Workspace name of a placed object's points."""
    return f"{OBJECTS_DIR}/{name}.ply"


def guidance_frame(index: int) -> str:
    return f"{GUIDANCE_FRAMES}/{index:05d}.png"


def guidance_cam_dir(index: int) -> str:
    """Workspace name of rig camera `index`'s guidance folder (1-based: guidance/cams/01)."""
    return f"{GUIDANCE_CAMS}/{index:02d}"


def guidance_file(role: str, index: int | None = None) -> str:
    """Workspace name of one guidance file (`GUIDANCE_LEAVES` role) of the single camera (index None) or of
    rig camera `index`."""
    leaf = GUIDANCE_LEAVES[role]
    if index is None:
        if role == "trajectory":
            return TRAJECTORY
        return f"{GUIDANCE_DIR}/{leaf}"
    return f"{guidance_cam_dir(index)}/{leaf}"


def output_cam(index: int) -> str:
    return f"{OUTPUT_CAMS}/{index:02d}.mp4"


def output_chunk(index: int) -> str:
    """Workspace name of chunk `index` of a long shot (0-based: output/chunks/000.npz)."""
    return f"{OUTPUT_CHUNKS}/{index:03d}.npz"


def input_file(filename: str) -> str:
    return f"{INPUT_DIR}/{filename}"


# ---------------------------------------------------------------------------------------------------------------
# Hashing


#: Files hashed by this process: absolute path -> (stat key, hash). A stage's outputs are hashed when it ends and
#: again as the next stage's inputs (`run` does both in one process; guidance/depth.npz is ~110 MB), so an
#: unchanged file is hashed once per process.
_HASHED: dict[str, tuple[tuple, str]] = {}

#: A file modified this soon after its last recorded change may keep the same mtime and ctime (the kernel's
#: timestamps are coarse), so its hash is remembered only when the reading ended later than this after it.
_RACY_NS = 50_000_000


def _stat_key(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def hash_file(path: Path) -> str:
    """blake2b of a file's bytes, or of a folder's sorted (name, hash) listing.

    A file whose (device, inode, size, mtime, ctime) is the one this process hashed before is not read again;
    any write or rename changes its ctime. A file still "racy" when read (changed within `_RACY_NS` of the end
    of the reading, so a second change could keep its timestamps) is not remembered."""
    path = Path(path)
    h = hashlib.blake2b(digest_size=16)
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file():
                h.update(str(child.relative_to(path)).encode())
                h.update(hash_file(child).encode())
        return h.hexdigest()
    key = os.path.abspath(path)
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        seen = _HASHED.get(key)
        if seen is not None and seen[0] == _stat_key(st):
            return seen[1]
        while chunk := f.read(1 << 20):
            h.update(chunk)
    digest = h.hexdigest()
    after = os.stat(path)
    if _stat_key(after) == _stat_key(st) and time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS:
        _HASHED[key] = (_stat_key(st), digest)
    else:
        _HASHED.pop(key, None)
    return digest


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, paths, numpy scalars and arrays as plain JSON values."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return obj


# ---------------------------------------------------------------------------------------------------------------
# The workspace


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class StageRecord:
    """One stage run as kept in shot.json."""

    stage: str
    status: str
    """"ok", "failed" or "interrupted"."""
    options: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    """Input name -> content hash (workspace artifacts and files named on the command line)."""
    backend: str = ""
    backend_version: str = ""
    outputs: dict = field(default_factory=dict)
    """Output name -> content hash."""
    seconds: float = 0.0
    finished: str = ""
    shotsmith_version: str = __version__
    error: str = ""
    extra: dict = field(default_factory=dict)
    """Stage-specific facts (chosen backend's reason, resampling notes, timings per part)."""


class Workspace:
    """A shot's folder. `Workspace(path)` does not touch the disk; `create()` makes it."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._lock_depth = 0

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- paths -----------------------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """Absolute path of a workspace artifact (use the module's constants for `name`)."""
        return self.root / name

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def require(self, name: str, stage_hint: str | None = None) -> Path:
        """The artifact's path, or a `WorkspaceError` saying which stage makes it (`PRODUCERS`, or the hint)."""
        p = self.path(name)
        if not p.exists():
            hint = stage_hint or PRODUCERS.get(name) or _producer_of_folder(name)
            raise WorkspaceError(f"{p}: missing; run `shotsmith {hint} -w {self.root}` first")
        return p

    def create(self) -> Workspace:
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(f"{self.root}: exists and is not a folder; choose another -w path")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"{self.root}: cannot create the workspace folder ({exc.strerror})") from exc
        return self

    # -- atomic writes ---------------------------------------------------------------------------------------
    def atomic(self, name: str) -> contextlib.AbstractContextManager[Path]:
        """Yield a temporary path beside `name`; on success it is renamed to `name` (file or folder), on any
        error it is removed and the old artifact is left as it was. A name that leaves the workspace (`..`, or
        a folder on the way that is a link out of it) is refused: writes never follow links out."""
        return atomic_path(self.writable(name))

    def writable(self, name: str) -> Path:
        """The path of `name` for writing, or a WorkspaceError when it would land outside the workspace (an
        absolute name, `..`, or a folder of the path that is a symbolic link pointing out of it)."""
        path = self.path(name)
        root = self.root.resolve()
        try:
            inside = path.parent.resolve().is_relative_to(root) and ".." not in Path(name).parts
        except (OSError, RuntimeError):  # a link loop
            inside = False
        if not inside or Path(name).is_absolute():
            raise WorkspaceError(
                f"{path}: leads out of the workspace {self.root} (a `..` in the name or a link on the way); "
                "refusing to write there: remove the link or rename it"
            )
        return path

    def write_json(self, name: str, data: Any) -> Path:
        with self.atomic(name) as tmp:
            tmp.write_text(json.dumps(to_jsonable(data), indent=2) + "\n")
        return self.path(name)

    def read_json(self, name: str, stage_hint: str = "") -> Any:
        p = self.require(name, stage_hint) if stage_hint else self.path(name)
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError as exc:
            raise WorkspaceError(
                f"{p}: not valid JSON (line {exc.lineno}: {exc.msg}); rerun the stage that makes it"
            ) from exc

    def copy_input(self, source: str | os.PathLike, filename: str | None = None) -> str:
        """Copy a user's file into input/ (never modified afterwards) and return its workspace name."""
        source = Path(source)
        name = input_file(filename or source.name)
        dest = self.path(name)
        if (
            dest.exists()
            and dest.stat().st_size == source.stat().st_size
            and hash_file(dest) == hash_file(source)
        ):
            return name
        with self.atomic(name) as tmp:
            shutil.copyfile(source, tmp)
        return name

    # -- lock ------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[Workspace]:
        """Hold the workspace lock (re-entrant within one process). A second process gets a WorkspaceError."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield self
            finally:
                self._lock_depth -= 1
            return
        created = not self.root.exists()
        self.create()
        lock = self.path(LOCK)
        fd = _take_lock(lock, self.root)
        self._lock_depth = 1
        failed = False
        try:
            _sweep_temporaries(self.root)  # left by a process killed mid-write; only the lock holder writes
            yield self
        except ShotsmithError:
            failed = True
            raise
        finally:
            self._lock_depth = 0
            _release_lock(lock, fd)
            if created and failed:  # a user error leaves no workspace behind where there was none
                shutil.rmtree(self.root, ignore_errors=True)
            elif created:  # a run that failed before writing anything leaves no empty folder behind
                with contextlib.suppress(OSError):
                    self.root.rmdir()

    # -- manifest --------------------------------------------------------------------------------------------
    def manifest(self) -> dict:
        p = self.path(SHOT)
        if not p.exists():
            return {"schema_version": SCHEMA_VERSION, "request": {}, "stages": {}}
        data = self.read_json(SHOT)
        if int(data.get("schema_version", 0)) > SCHEMA_VERSION:
            raise WorkspaceError(
                f"{p}: written by a newer shotsmith (schema {data['schema_version']} > {SCHEMA_VERSION}); upgrade"
            )
        data.setdefault("stages", {})
        data.setdefault("request", {})
        return data

    def update_request(self, **request: Any) -> None:
        """Record what was asked (prompt, inputs, sizes) in shot.json."""
        with self.locked():
            data = self.manifest()
            data["request"].update(to_jsonable(request))
            self.write_json(SHOT, data)

    def record(self, stage: str) -> StageRecord | None:
        raw = self.manifest()["stages"].get(stage)
        if not raw:
            return None
        known = {f for f in StageRecord.__dataclass_fields__}
        return StageRecord(**{k: v for k, v in raw.items() if k in known})

    def save_record(self, rec: StageRecord) -> None:
        with self.locked():
            data = self.manifest()
            data["stages"][rec.stage] = to_jsonable(rec)
            self.write_json(SHOT, data)

    def input_hashes(self, names: list[str], external: dict[str, str | os.PathLike] | None = None) -> dict:
        """Hashes of workspace artifacts `names` (missing -> "missing") and of external files."""
        out = {}
        for n in names:
            p = self.path(n)
            out[n] = hash_file(p) if p.exists() else "missing"
        for key, p in (external or {}).items():
            p = Path(p)
            out[key] = hash_file(p) if p.exists() else "missing"
        return out

    def stage_state(self, stage: str, inputs: list[str] | None = None) -> str:
        """ "done", "stale" (inputs or outputs changed since the run) or "missing"."""
        rec = self.record(stage)
        if rec is None or rec.status != "ok":
            return "missing"
        names = list(rec.inputs) if inputs is None else inputs
        for n in names:
            if "/" in n or n.endswith((".json", ".png", ".ply", ".npy", ".npz", ".mp4")):
                p = self.path(n)
                if p.exists() and hash_file(p) != rec.inputs.get(n):
                    return "stale"
                if not p.exists() and rec.inputs.get(n) != "missing":
                    return "stale"
        for n, h in rec.outputs.items():
            p = self.path(n)
            if not p.exists() or hash_file(p) != h:
                return "stale"
        return "done"


@contextlib.contextmanager
def atomic_path(final: Path, error: type[ShotsmithError] = WorkspaceError) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it is renamed to `final` (file or folder), on any
    error it is removed and `final` is left as it was. Errors writing are `error`s naming `final`."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = (
            "part of the path is a file"
            if isinstance(exc, FileExistsError | NotADirectoryError)
            else exc.strerror
        )
        raise error(f"{final.parent}: cannot create the folder ({why or exc}); choose another path") from exc
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}{final.suffix}")
    _remove(tmp)
    try:
        yield tmp
        if not tmp.exists():
            raise error(f"{final}: the stage did not write it")
        if tmp.is_file():  # on the disk before it replaces the old file (an I/O error shows up here)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if final.is_dir() and tmp.is_dir():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(tmp, final)
            _remove(old)
        else:
            os.replace(tmp, final)
    except OSError as exc:
        _remove(tmp)
        raise error(f"{final}: could not write ({exc.strerror or exc}); left as it was") from exc
    except BaseException:
        _remove(tmp)
        raise


def _take_lock(lock: Path, root: Path) -> int:
    """An open descriptor of `lock` holding an exclusive flock (released by the kernel when the process dies,
    so a lock left by kill -9 is free), with our pid written in it; a WorkspaceError in one line when another
    process holds it, the workspace is read-only, or the lock is a link."""
    import fcntl

    for _ in range(5):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise WorkspaceError(
                    f"{lock}: is a symbolic link; remove it (the lock is never followed)"
                ) from exc
            raise WorkspaceError(
                f"{root}: cannot write in the workspace ({exc.strerror or exc}); a read-only folder cannot hold a "
                "shot: choose a -w folder you can write to, or copy it (`cp -r`)"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            with contextlib.suppress(OSError, ValueError, IndexError):
                holder = f" (pid {int(os.pread(fd, 32, 0).split()[0])})"
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise WorkspaceError(
                    f"{root}: in use by another shotsmith process{holder}; wait for it to finish (one writer at "
                    "a time)"
                ) from None
            raise WorkspaceError(
                f"{lock}: could not take the workspace lock ({exc.strerror or exc})"
            ) from exc
        try:
            same = os.fstat(fd).st_ino == os.stat(lock, follow_symlinks=False).st_ino
        except FileNotFoundError:  # its previous holder removed it between our open and flock: take a new one
            same = False
        if same:
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError as exc:
                _release_lock(lock, fd)
                raise WorkspaceError(
                    f"{lock}: cannot write the workspace lock ({exc.strerror or exc}); free some disk space"
                ) from exc
            return fd
        os.close(fd)
    raise WorkspaceError(f"{lock}: could not take the workspace lock; try again")


def _release_lock(lock: Path, fd: int) -> None:
    """Remove the lock file while still holding it, then let it go."""
    with contextlib.suppress(OSError):
        lock.unlink()
    os.close(fd)


_TEMPORARY = re.compile(r"^\..+\.(?:tmp|old)-(\d+)")


def _sweep_temporaries(root: Path) -> None:
    """Remove the temporary files and folders of `atomic_path` (`.NAME.tmp-PID...`, `.NAME.old-PID`) that a
    process no longer alive left in the workspace (kill -9 mid-write), so nothing half written lingers or counts
    in a folder's hash. Called by the lock holder; links are not followed."""
    for folder, dirs, files in os.walk(root):
        for entry in [*dirs, *files]:
            m = _TEMPORARY.match(entry)
            pid = int(m.group(1)) if m else 0
            if m and pid != os.getpid() and (pid > 1 << 22 or not _pid_alive(pid)):  # pids stay below 2**22
                with contextlib.suppress(OSError):
                    _remove(Path(folder) / entry)
        dirs[:] = [d for d in dirs if not _TEMPORARY.match(d)]


def _producer_of_folder(name: str) -> str:
    """The stage that writes a file inside a produced folder (guidance/cams/01/rgb.mp4 -> render-guidance)."""
    for folder, producer in PRODUCERS.items():
        if name.startswith(folder + "/"):
            return producer
    return "run"


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------------------------------------------------------
# The skip-if-unchanged runner


_DRY_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar("shotsmith_dry_run", default=False)


class WouldRun(BaseException):
    """Raised inside `dry_run()` by a stage whose skip check fails (nothing is run or recorded)."""


@contextlib.contextmanager
def dry_run() -> Iterator[None]:
    """Within (this thread or task): `run_stage` skips what is unchanged and raises `WouldRun` for the first
    stage that would run, so a caller learns whether a workspace is finished without running anything."""
    token = _DRY_RUN.set(True)
    try:
        yield
    finally:
        _DRY_RUN.reset(token)


@dataclass
class StageResult:
    """What a stage function returns to the runner."""

    outputs: list[str]
    """Workspace names written (their hashes are recorded)."""
    backend_version: str = ""
    extra: dict = field(default_factory=dict)


def run_stage(
    ws: Workspace,
    stage: str,
    fn: Callable[[], StageResult],
    *,
    options: dict,
    inputs: list[str],
    external: dict[str, str | os.PathLike] | None = None,
    backend: str = "",
    version: str | None = None,
    force: bool = False,
) -> StageRecord:
    """Run `fn` under the workspace lock unless an identical successful run is recorded; record the run.

    `inputs` are workspace artifacts the stage reads, `external` the user's files by option name, `backend` the
    resolved backend name (never "auto"), `version` its version when known before running (a new version of a
    backend, the embedded depth prior say, reruns the stage).
    """
    with ws.locked():
        opts = to_jsonable(options)
        hashes = ws.input_hashes(inputs, external)
        prev = ws.record(stage)
        if (
            not force
            and prev is not None
            and prev.status == "ok"
            and prev.options == opts
            and prev.inputs == hashes
            and prev.backend == backend
            and (version is None or prev.backend_version == version)
            and prev.outputs
            and all(ws.path(n).exists() and hash_file(ws.path(n)) == h for n, h in prev.outputs.items())
        ):
            info(f"[dim]{stage}: unchanged, skipping[/dim]")
            prev.extra = dict(prev.extra, skipped=True)
            return prev
        if _DRY_RUN.get():
            raise WouldRun(stage)
        start = time.perf_counter()
        rec = StageRecord(stage=stage, status="failed", options=opts, inputs=hashes, backend=backend)
        try:
            result = fn()
        except KeyboardInterrupt:
            rec.status, rec.error = "interrupted", "interrupted by the user"
            rec.seconds = time.perf_counter() - start
            ws.save_record(rec)
            raise
        except Exception as exc:
            rec.error = f"{type(exc).__name__}: {exc}"
            rec.seconds = time.perf_counter() - start
            with contextlib.suppress(Exception):
                ws.save_record(rec)
            raise
        rec.status = "ok"
        rec.seconds = round(time.perf_counter() - start, 3)
        rec.outputs = {n: hash_file(ws.path(n)) for n in result.outputs}
        rec.backend_version = result.backend_version
        rec.extra = to_jsonable(result.extra)
        rec.finished = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        ws.save_record(rec)
        return rec
