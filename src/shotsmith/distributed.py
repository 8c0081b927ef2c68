"""`shotsmith batch --ray ADDRESS|local`: the batch's jobs on a Ray cluster (the optional extra
`shotsmith[distributed]`; ray is imported only here, only when asked for).

`RayRunner` is a runner for `shotsmith.batch.run_batch`: embedded jobs are Ray tasks that ask for one CPU each;
video-model jobs go to actors that ask for one GPU each (`num_gpus=1`) and keep their model loaded across jobs
(`batch.keep_generators_loaded`). Each job is `batch.execute_job` in DIR/<name>, exactly as on this machine.
Outputs: when a worker sees DIR (a shared file system, found by a marker file the driver writes) it writes the
workspace there; otherwise the driver sends the job's input files and its workspace so far, the worker runs it
in a scratch folder and sends the workspace back, which the driver unpacks into DIR/<name> (so a rerun still
skips what is finished). Model weights are never sent: they must be on the workers (`shotsmith models pull`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import socket
import tarfile
import tempfile
import time
import uuid
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from shotsmith.batch import (
    FILE_KEYS,
    MAYBE_FILE_KEYS,
    STATE_DIR,
    JobResult,
    OnDone,
    OnStart,
    Task,
    execute_job,
    keep_generators_loaded,
    usable_cores,
)
from shotsmith.errors import BackendUnavailable, InputError

__all__ = ["RayRunner"]

Transfer = Literal["auto", "shared", "copy"]
_INSTALL_HINT = 'pip install "shotsmith[distributed]" (or pip install "ray[default]>=2.60")'


def _import_ray():
    try:
        import ray
    except ImportError:
        raise BackendUnavailable(f"--ray needs the ray package: {_INSTALL_HINT}") from None
    return ray


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # A RayTaskError's message starts with its traceback header; the cause is on its last line.
    return " ".join((lines[-1] if len(lines) > 1 else lines[0]).split())


class RayRunner:
    """Runs a batch's tasks on Ray (see the module docstring).

    address: "local" (start a Ray on this machine with `num_cpus` CPUs, default all cores) or a cluster address
    ("auto", "ray://head:10001"); a Ray already initialised in this process is used as it is (and left running).
    transfer: "auto" (shared DIR when the worker sees it, else copy), "shared" or "copy".
    gpus_per_actor: GPUs each video-model actor asks for (1; 0 lets tests run the actor path on CPUs).
    """

    name = "ray"
    runs_here = False
    """The jobs run on the cluster's workers: the driver does not check their backends."""

    def __init__(
        self,
        address: str = "local",
        *,
        num_cpus: int | None = None,
        transfer: Transfer = "auto",
        gpus_per_actor: float = 1.0,
    ) -> None:
        if transfer not in ("auto", "shared", "copy"):
            raise InputError(f"transfer {transfer!r}: choose auto, shared or copy")
        self.address = address
        self.num_cpus = num_cpus
        self.transfer = transfer
        self.gpus_per_actor = gpus_per_actor
        _import_ray()  # fail before anything runs when ray is missing

    def describe(self, tasks: list[Task]) -> str:
        gpu = sum(t.lane == "gpu" for t in tasks)
        where = "a local Ray" if self.address == "local" else f"the Ray cluster at {self.address}"
        parts = [f"{len(tasks) - gpu} CPU tasks"] if len(tasks) > gpu else []
        if gpu:
            parts.append(f"{gpu} video-model jobs on GPU actors")
        return f"{' + '.join(parts)} on {where}"

    # -- connection ------------------------------------------------------------------------------------------
    def _connect(self, ray) -> bool:
        """Initialise Ray unless it is; True when this runner started it (and must shut it down)."""
        if ray.is_initialized():
            return False
        env = {"SHOTSMITH_QUIET": "1"}
        if self.address == "local" and os.environ.get("PYTHONPATH"):  # a cluster's nodes have their own paths
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        kwargs: dict[str, Any] = {
            "log_to_driver": False,
            "logging_level": logging.ERROR,
            "runtime_env": {"env_vars": env},
        }
        if self.address == "local":
            ray.init(num_cpus=self.num_cpus or usable_cores(), include_dashboard=False, **kwargs)
        else:
            ray.init(address=self.address, **kwargs)
        return True

    # -- running ---------------------------------------------------------------------------------------------
    def run(self, tasks: list[Task], out_dir: Path, on_start: OnStart, on_done: OnDone) -> None:
        ray = _import_ray()
        out_dir = Path(out_dir).resolve()
        marker = out_dir / STATE_DIR / "ray-marker"
        marker.parent.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        marker.write_text(token)
        started = self._connect(ray)
        inflight: dict[Any, tuple[Task, Any]] = {}
        actors: list[Any] = []
        try:
            resources = ray.cluster_resources()
            cpu_tasks = deque(t for t in tasks if t.lane == "cpu")
            gpu_tasks = deque(t for t in tasks if t.lane == "gpu")
            job_fn = ray.remote(num_cpus=1, max_retries=0)(_ray_job)
            slots = max(1, int(resources.get("CPU", 1)))
            if gpu_tasks:
                actors = self._actors(ray, resources, len(gpu_tasks))
                if not actors:
                    while gpu_tasks:
                        t = gpu_tasks.popleft()
                        on_done(
                            t,
                            JobResult(
                                t.job.name,
                                "failed",
                                f"no GPU in the Ray cluster for generator {t.job.generator!r}; add a GPU node or "
                                "use generator = inpaint",
                            ),
                        )
            idle = deque(actors)
            copy = self.transfer == "copy"

            def submit(task: Task, actor: Any = None, payload: bytes | None = None) -> None:
                args = (task, str(out_dir), str(marker), token, payload, self.transfer)
                ref = actor.run.remote(*args) if actor is not None else job_fn.remote(*args)
                inflight[ref] = (task, actor)

            def payload_of(task: Task) -> bytes | None:
                return _pack(task, out_dir) if copy else None

            def fill() -> None:
                while cpu_tasks and sum(a is None for _, a in inflight.values()) < slots:
                    t = cpu_tasks.popleft()
                    submit(t, None, payload_of(t))
                    on_start(t, "ray task")
                while gpu_tasks and idle:
                    t, a = gpu_tasks.popleft(), idle.popleft()
                    submit(t, a, payload_of(t))
                    on_start(t, "ray GPU actor")

            fill()
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
                for ref in ready:
                    task, actor = inflight.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - a worker that died or raised
                        outcome = (
                            "done",
                            JobResult(task.job.name, "failed", f"on Ray: {_one_line(exc)}"),
                            None,
                            "",
                        )
                    if outcome[0] == "copy":  # the worker does not see DIR: send it what the job needs
                        submit(task, actor, _pack(task, out_dir))
                        continue
                    _, result, archive, log_text = outcome
                    if archive is not None:
                        _unpack(archive, out_dir, task.job.name)
                        if result.output:
                            result.output = str(out_dir / task.job.name / result.output)
                        if log_text and task.log:
                            Path(task.log).parent.mkdir(parents=True, exist_ok=True)
                            with open(task.log, "a", encoding="utf-8") as f:
                                f.write(log_text)
                    if actor is not None:
                        idle.append(actor)
                    on_done(task, result)
                fill()
        finally:
            for ref, (_, actor) in list(inflight.items()):
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=actor is None)
            for actor in actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
            if started:
                ray.shutdown()
            with contextlib.suppress(OSError):
                marker.unlink()

    def _actors(self, ray, resources: dict, jobs: int) -> list[Any]:
        """One actor per GPU (at most one per job); none when the cluster has no GPU and actors need one."""
        gpus = float(resources.get("GPU", 0))
        count = min(jobs, int(gpus // self.gpus_per_actor)) if self.gpus_per_actor > 0 else min(jobs, 1)
        cls = ray.remote(num_gpus=self.gpus_per_actor, num_cpus=1, max_restarts=0)(_ShotActor)
        return [cls.remote() for _ in range(count)]


class _ShotActor:
    """A video-model worker: keeps the generators it built (and their weights) across the jobs it runs."""

    def __init__(self) -> None:
        self._kept = keep_generators_loaded()
        self._kept.__enter__()

    def run(self, task: Task, out_dir: str, marker: str, token: str, payload: bytes | None, transfer: str):
        return _ray_job(task, out_dir, marker, token, payload, transfer)


def _sees(marker: str, token: str) -> bool:
    try:
        return Path(marker).read_text() == token
    except OSError:
        return False


def _ray_job(task: Task, out_dir: str, marker: str, token: str, payload: bytes | None, transfer: str):
    """On a Ray worker: ("copy",) when DIR is not visible and nothing was sent, else ("done", result, the
    workspace as a tar when it was sent, the job's log then)."""
    where = f"ray {socket.gethostname()} pid {os.getpid()}"
    if payload is None:
        if not _sees(marker, token):
            if transfer == "shared":
                msg = f"{out_dir} is not visible on {socket.gethostname()}; use a shared folder or transfer copy"
                return ("done", JobResult(task.job.name, "failed", msg, worker=where), None, "")
            return ("copy",)
        result = execute_job(task.job, out_dir, force=task.force, log=task.log, fd_level=True)
        result.worker = where
        return ("done", result, None, "")
    return _run_copied(task, out_dir, payload, where)


# ---------------------------------------------------------------------------------------------------------------
# Copy mode: what a worker that cannot see DIR gets and gives back


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _files(task: Task) -> list[str]:
    """Absolute paths of the user files the job names (inputs to send)."""
    out = []
    for dest in (*FILE_KEYS, *MAYBE_FILE_KEYS):
        value = task.job.values.get(dest)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str) and os.path.isabs(v) and os.path.isfile(v):
                out.append(v)
    return out


def _pack(task: Task, out_dir: Path) -> bytes:
    """A tar of the job's input files (under files/<key>/<name>) and its workspace so far (under ws/)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for path in _files(task):
            tar.add(path, arcname=f"files/{_key(path)}/{Path(path).name}")
        ws = out_dir / task.job.name
        if ws.is_dir():
            tar.add(ws, arcname="ws", filter=_skip_transient)
    return buf.getvalue()


def _skip_transient(info: tarfile.TarInfo):
    name = Path(info.name).name
    if name == ".shotsmith.lock" or ".tmp-" in name or ".old-" in name:
        return None
    return info


def _extract(data: bytes, dest: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        tar.extractall(dest, filter="data")  # refuses absolute paths, `..` and links out of dest


def _run_copied(task: Task, out_dir: str, payload: bytes, where: str):
    root = Path(tempfile.gettempdir()) / "shotsmith-ray" / _key(out_dir)
    scratch = root / f"job-{_key(task.job.name)}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    _extract(payload, scratch)
    # The inputs live at a path that is the same on every run of this batch on this node.
    inputs = root / "inputs"
    moved: dict[str, str] = {}
    for path in _files(task):
        src = scratch / "files" / _key(path) / Path(path).name
        dst = inputs / _key(path) / Path(path).name
        if src.is_file():
            if not (dst.is_file() and dst.read_bytes() == src.read_bytes()):
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
            moved[path] = str(dst)
    values = {
        k: (
            [moved.get(x, x) for x in v]
            if isinstance(v, list)
            else moved.get(v, v)
            if isinstance(v, str)
            else v
        )
        for k, v in task.job.values.items()
    }
    job = replace(task.job, values=values)
    ws_root = root / "ws"
    ws = ws_root / job.name
    shutil.rmtree(ws, ignore_errors=True)
    ws_root.mkdir(parents=True, exist_ok=True)
    if (scratch / "ws").is_dir():
        os.replace(scratch / "ws", ws)
    log = scratch / "job.log"
    try:
        result = execute_job(job, ws_root, force=task.force, log=str(log), fd_level=True)
        result.worker = where + " (copied)"
        if result.output:
            result.output = str(Path(result.output).relative_to(ws))
        archive = None
        if ws.is_dir():
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
                tar.add(ws, arcname=".", filter=_skip_transient)
            archive = buf.getvalue()
        log_text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        return ("done", result, archive, log_text)
    finally:
        shutil.rmtree(ws, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _unpack(archive: bytes, out_dir: Path, name: str) -> None:
    """Put a workspace sent back by a worker at DIR/<name> (unpacked beside it, then swapped in)."""
    state = out_dir / STATE_DIR
    incoming = state / f"incoming-{name}-{os.getpid()}"
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    _extract(archive, incoming)
    dest = out_dir / name
    old = state / f"old-{name}-{os.getpid()}-{int(time.time() * 1000)}"
    if dest.exists():
        os.replace(dest, old)
    os.replace(incoming, dest)
    shutil.rmtree(old, ignore_errors=True)
