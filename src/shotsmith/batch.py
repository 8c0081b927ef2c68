"""`shotsmith batch`: many shots from one jobs file, checked first, run in worker processes, resumable.

A jobs file (JSON Lines, CSV or TOML) holds one job per line / row / `[[job]]` table: a `name` (its workspace is
DIR/<name>) and the keys of `run`, or of `recapture` for a job with a `video`; keys are the long options' names
(`size` or `--size`, `depth-model` or `depth_model`), checked and converted by the same `options.option_specs` as
the command line, and relative paths are relative to the jobs file's folder. `load_jobs` validates the whole
file before anything runs and raises `JobsFileError` with one `FILE:LINE: problem` line per problem. `run_batch`
skips jobs whose workspace records say nothing would run (a dry run of the pipeline in this process), runs the
rest with a runner (`SequentialRunner`, `LocalRunner`'s worker processes, or `shotsmith.distributed.RayRunner`),
and keeps DIR/batch.csv (one row per job) up to date. A job that fails is one row with its one-line error; the
others go on. `write_dataset` writes the made shots as a ReCamMaster / SynCamMaster style dataset. This module
owns no stage logic: each job is `pipeline.run_shot` or `pipeline.recapture` in its own workspace.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import functools
import io
import json
import os
import re
import shutil
import signal
import sys
import time
import typing
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shotsmith import workspace as W
from shotsmith.errors import InputError, ShotsmithError, WorkspaceError
from shotsmith.options import OptionSpec, build_config, option_specs

__all__ = [
    "BATCH_CSV",
    "BatchReport",
    "Job",
    "JobResult",
    "JobsFileError",
    "LocalRunner",
    "SequentialRunner",
    "Task",
    "execute_job",
    "load_jobs",
    "run_batch",
    "write_batch_csv",
    "write_dataset",
]

#: The batch's table, in DIR.
BATCH_CSV = "batch.csv"
#: The batch's own folder in DIR (logs, transfers); job names cannot start with "." so none collides with it.
STATE_DIR = ".batch"
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".toml": "toml"}
#: Keys whose value must name an existing file (relative to the jobs file's folder).
FILE_KEYS = ("image", "video", "objects", "trajectory")
#: Keys whose value may name a file or folder (else a name: a preset, a backend, a hub id); a relative value that
#: exists beside the jobs file is made absolute.
MAYBE_FILE_KEYS = (
    "rig",
    "depth",
    "cam",
    "source_camera",
    "clip_model",
    "clip_pretrained",
    "model",
    "depth_model",
    "generator_model",
)
#: Keys a job may not set, with the reason.
REFUSED_KEYS = {
    "workspace": "a job's workspace is DIR/<name>; remove `workspace` (set `name` instead)",
    "w": "a job's workspace is DIR/<name>; remove `w` (set `name` instead)",
    "force": "give --force to `shotsmith batch` instead",
}
VIDEO_MODELS = ("wan", "cogvideox")
#: Separator of several values in one CSV cell (objects, at_pixel, object_height).
CSV_LIST_SEPARATOR = ";"
Status = Literal["ok", "failed", "interrupted", "not run"]


class JobsFileError(InputError):
    """A jobs file with problems: `problems` holds one `FILE:LINE: what, and the fix` line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# ---------------------------------------------------------------------------------------------------------------
# Jobs


@dataclass
class Job:
    """One shot of a batch, validated: its option values by option name (paths absolute)."""

    name: str
    """The job's folder under DIR (no separators, no `..`)."""
    kind: Literal["run", "recapture"]
    """`run` (a photo) or `recapture` (a video: the job has `video`)."""
    values: dict[str, Any]
    """Option name (`OptionSpec.dest`) -> value as the command line would pass it (text forms as text)."""
    where: str
    """FILE:LINE of the job in the jobs file."""

    @property
    def config_class(self) -> type:
        from shotsmith.pipeline import RecaptureConfig, RunConfig

        return RunConfig if self.kind == "run" else RecaptureConfig

    def workspace(self, out_dir: str | os.PathLike) -> Path:
        return Path(out_dir) / self.name

    def config(self, out_dir: str | os.PathLike):
        """The job's RunConfig or RecaptureConfig, its workspace DIR/<name>."""
        values = dict(self.values, workspace=str(self.workspace(out_dir)))
        return build_config(self.config_class, values, specs_of(self.config_class))

    @property
    def generator(self) -> str:
        return str(self.values.get("generator") or "auto")


@functools.cache
def specs_of(cls: type) -> list[OptionSpec]:
    return option_specs(cls)


@functools.cache
def _keys(cls: type) -> dict[str, OptionSpec]:
    """Every name a jobs file may use for an option of `cls` -> its spec: the option names, then the long
    flags' names (`preset` for cam, `object` for objects) where they name no other option."""
    specs = specs_of(cls)
    out = {s.dest: s for s in specs}
    for s in specs:
        for flag in s.flags:
            if flag.startswith("--"):
                out.setdefault(flag[2:].replace("-", "_"), s)
    return out


def _norm_key(key: str) -> str:
    return str(key).strip().lstrip("-").replace("-", "_")


def _choices(cls: type, path: tuple[str, ...]) -> tuple[str, ...]:
    """The Literal choices of the field at `path` in config `cls` (empty when it is not a Literal)."""
    tp: Any = cls
    for part in path:
        tp = typing.get_type_hints(tp)[part]
    args = typing.get_args(tp) if typing.get_origin(tp) is not Literal else (tp,)
    for a in (tp, *args):
        if typing.get_origin(a) is Literal:
            return tuple(str(v) for v in typing.get_args(a))
    return ()


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _scalar(spec: OptionSpec, value: Any, key: str) -> Any:
    """A jobs-file value as the command line would give it; InputError with the fix otherwise."""
    kind = spec.kind
    if isinstance(value, dict):
        raise InputError(f"{key}: expected a value, got a table {json.dumps(value)[:60]}")
    if spec.parse is not None:  # a text form: "832x480", "400,300"
        if isinstance(value, list | tuple) and value and all(isinstance(v, int | float) for v in value):
            candidates = ["x".join(_num(v) for v in value), ",".join(_num(v) for v in value)]
        else:
            candidates = [str(value)]
        error: InputError | None = None
        for text in candidates:
            try:
                spec.parse(text)
                return text
            except ShotsmithError as exc:
                error = error or InputError(str(exc))
        raise error  # type: ignore[misc]
    if isinstance(value, list):
        raise InputError(f"{key}: takes one value, got a list of {len(value)}")
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InputError(f"{key} {value!r}: expected true or false")
    if kind is int:
        if isinstance(value, bool):
            raise InputError(f"{key} {value!r}: expected a whole number, e.g. {key} = 33")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise InputError(f"{key} {value!r}: expected a whole number, e.g. {key} = 33")
    if kind is float:
        if isinstance(value, bool):
            raise InputError(f"{key} {value!r}: expected a number")
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(str(value))
        except ValueError:
            raise InputError(f"{key} {value!r}: expected a number, e.g. {key} = 0.5") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _convert(spec: OptionSpec, value: Any, key: str, from_csv: bool) -> Any:
    if spec.multiple:
        if isinstance(value, list):
            items = value
        elif from_csv and isinstance(value, str):
            items = [v.strip() for v in value.split(CSV_LIST_SEPARATOR) if v.strip()]
        else:
            items = [value]
        return [_scalar(spec, v, key) for v in items]
    return _scalar(spec, value, key)


def check_name(name: Any) -> str:
    """A job name that is one plain folder name, or an InputError saying why not."""
    if not isinstance(name, str | int) or isinstance(name, bool):
        raise InputError(f'name {name!r}: expected a text, e.g. name = "cat-dolly"')
    text = str(name)
    if not text.strip():
        raise InputError("name is empty; every job needs a name (its folder under DIR)")
    if text != text.strip():
        raise InputError(f"name {text!r}: starts or ends with spaces; remove them")
    if text in (".", "..") or "/" in text or "\\" in text or "\0" in text or ".." in text.split(os.sep):
        raise InputError(f"name {text!r}: a job name is one folder under DIR; no `/`, `\\` or `..`")
    if text.startswith("."):
        raise InputError(f"name {text!r}: may not start with '.' (DIR/{STATE_DIR} is the batch's own folder)")
    if any(ord(c) < 32 for c in text) or len(text) > 120:
        raise InputError(f"name {text!r}: use up to 120 printable characters")
    if text == BATCH_CSV:
        raise InputError(f"name {text!r}: DIR/{BATCH_CSV} is the batch's table; choose another name")
    return text


@dataclass
class _Row:
    """One job as read from the file, before validation."""

    line: int
    data: dict[str, Any]
    key_lines: dict[str, int] = field(default_factory=dict)
    from_csv: bool = False


def _read_jsonl(path: Path, text: str) -> tuple[list[_Row], list[str]]:
    rows, problems = [], []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith(("#", "//")):
            continue
        try:
            data = json.loads(s)
        except json.JSONDecodeError as exc:
            problems.append(
                f"{path}:{i}: not valid JSON ({exc.msg} at column {exc.colno}); one object per line"
            )
            continue
        if not isinstance(data, dict):
            problems.append(
                f'{path}:{i}: expected a JSON object {{"name": ..., ...}}, got {type(data).__name__}'
            )
            continue
        rows.append(_Row(i, data))
    return rows, problems


def _read_csv(path: Path, text: str) -> tuple[list[_Row], list[str]]:
    rows, problems = [], []
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells) or (cells and cells[0].lstrip().startswith("#")):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            for k, name in enumerate(header, 1):
                if not name:
                    problems.append(f"{path}:{line}: column {k} of the header has no name")
            dups = sorted({h for h in header if h and header.count(h) > 1})
            for d in dups:
                problems.append(f"{path}:{line}: column {d!r} appears twice in the header")
            continue
        if len(cells) > len(header):
            problems.append(
                f"{path}:{line}: {len(cells)} cells but the header has {len(header)} columns; "
                'quote cells that hold commas ("400,300")'
            )
            continue
        data = {h: c.strip() for h, c in zip(header, cells, strict=False) if h and c.strip()}
        rows.append(_Row(line, data, from_csv=True))
    if header is None:
        problems.append(f"{path}:1: no header row; the first row names the columns (name,prompt,image,...)")
    return rows, problems


_TOML_HEADER = re.compile(r"^\s*\[\[\s*(\"?)(jobs?)\1\s*\]\]")
_TOML_TABLE = re.compile(r"^\s*\[\s*(\"?)([A-Za-z0-9_.-]+)\1\s*\]")
_TOML_KEY = re.compile(r"^\s*(\"?)([A-Za-z0-9_-]+)\1\s*=")


def _read_toml(path: Path, text: str) -> tuple[list[_Row], list[str]]:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        return [], [f"{path}:{m.group(1) if m else 1}: not valid TOML ({exc})"]
    problems = []
    lines = text.splitlines()
    # Line numbers: tomllib gives none, so the k-th [[job]] header is the k-th job, its keys the lines below.
    blocks: list[tuple[str, int, int]] = []  # (section, first line, last line)
    current: tuple[str, int] | None = None
    for i, line in enumerate(lines, 1):
        m = _TOML_HEADER.match(line)
        t = None if m else _TOML_TABLE.match(line)
        if m or t:
            if current is not None:
                blocks.append((current[0], current[1], i - 1))
            current = ("job" if m else t.group(2), i)  # type: ignore[union-attr]
    if current is not None:
        blocks.append((current[0], current[1], len(lines)))

    def key_lines(first: int, last: int) -> dict[str, int]:
        out = {}
        for i in range(first + 1, last + 1):
            m = _TOML_KEY.match(lines[i - 1])
            if m:
                out.setdefault(m.group(2), i)
        return out

    job_blocks = [b for b in blocks if b[0] == "job"]
    defaults_block = next((b for b in blocks if b[0] == "defaults"), None)
    for key in data:
        if key not in ("job", "jobs", "defaults"):
            line = next((b[1] for b in blocks if b[0] == key), 1)
            problems.append(
                f"{path}:{line}: unknown table {key!r}; write jobs as [[job]] tables and shared keys in [defaults]"
            )
    jobs = data.get("job", []) + data.get("jobs", [])
    if not isinstance(jobs, list) or any(not isinstance(j, dict) for j in jobs):
        return [], [*problems, f"{path}:1: `job` must be an array of tables ([[job]])"]
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        return [], [*problems, f"{path}:1: `defaults` must be a table ([defaults])"]
    d_lines = key_lines(defaults_block[1], defaults_block[2]) if defaults_block else {}
    rows = []
    for k, job in enumerate(jobs):
        first, last = job_blocks[k][1:] if k < len(job_blocks) else (1, 1)
        own = {_norm_key(key) for key in job}  # a job's own key wins over [defaults], however it is spelt
        merged = {k: v for k, v in defaults.items() if _norm_key(k) not in own} | job
        k_lines = {key: d_lines.get(key, defaults_block[1] if defaults_block else first) for key in defaults}
        k_lines.update({key: first for key in job})
        k_lines.update(key_lines(first, last))
        rows.append(_Row(first, merged, k_lines))
    return rows, problems


def read_jobs_file(path: str | os.PathLike) -> tuple[list[_Row], list[str]]:
    """The rows of a jobs file and the problems of its syntax (FILE:LINE: ... lines)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unknown jobs file type {path.suffix!r}; use .jsonl, .csv or .toml")
    if not path.is_file():
        raise InputError(f"{path}: no such jobs file; check the path")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the jobs file ({exc})") from exc
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "toml": _read_toml}[fmt]
    return reader(path, text)


def load_jobs(
    path: str | os.PathLike,
    *,
    evaluate: bool = False,
    check_backends: bool = True,
    out_dir: str | os.PathLike | None = None,
) -> list[Job]:
    """Every job of a jobs file, validated; `JobsFileError` (one line per problem) when any is wrong.

    evaluate: set `evaluate` on every run job (`--evaluate`); check_backends: also check that each job's depth
    backend and generator can run in this process (off for a cluster whose workers have what the driver lacks);
    out_dir: DIR, to refuse a job folder that is a link out of it.
    """
    path = Path(path)
    rows, problems = read_jobs_file(path)
    base = path.resolve().parent
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    for row in rows:
        name, job, row_problems = _validate_row(path, base, row, evaluate, check_backends)
        if name is not None:
            where = f"{path}:{row.key_lines.get('name', row.line)}"
            other = seen.get(name.casefold())
            if other is not None:
                row_problems.append(f"{where}: duplicate name {name!r} (first on line {other})")
            else:
                seen[name.casefold()] = row.key_lines.get("name", row.line)
            if out_dir is not None and (Path(out_dir) / name).is_symlink():
                row_problems.append(
                    f"{where}: {Path(out_dir) / name} is a link; refusing to write through it"
                )
        problems += row_problems
        if job is not None and not row_problems:
            jobs.append(job)
    if not rows and not problems:
        problems.append(f"{path}:1: no jobs in the file")
    problems = sorted(
        dict.fromkeys(problems), key=_line_of
    )  # a bad [defaults] key: one problem, not one per job
    if problems:
        raise JobsFileError(problems)
    return jobs


def _line_of(problem: str) -> int:
    m = re.match(r".*?:(\d+): ", problem)
    return int(m.group(1)) if m else 0


def _validate_row(
    path: Path, base: Path, row: _Row, evaluate: bool, check_backends: bool
) -> tuple[str | None, Job | None, list[str]]:
    """(the job's name when it is valid, the job when everything is, the problems)."""
    from shotsmith.pipeline import RecaptureConfig, RunConfig

    problems: list[str] = []

    def at(key: str | None) -> str:
        return f"{path}:{row.key_lines.get(key, row.line) if key else row.line}"

    raw: dict[str, tuple[str, Any]] = {}
    for key, value in row.data.items():
        norm = _norm_key(key)
        if norm in raw:
            problems.append(f"{at(key)}: {key!r} is given twice (also as {raw[norm][0]!r}); keep one")
            continue
        raw[norm] = (key, value)
    name = None
    if "name" not in raw:
        problems.append(f"{at(None)}: no `name`; every job needs one (its folder under DIR)")
    else:
        try:
            name = check_name(raw.pop("name")[1])
        except InputError as exc:
            problems.append(f"{at('name')}: {exc}")
    kind: Literal["run", "recapture"] = "recapture" if "video" in raw else "run"
    cls, other = (RecaptureConfig, RunConfig) if kind == "recapture" else (RunConfig, RecaptureConfig)
    if kind == "recapture" and "image" in raw:
        problems.append(f"{at('image')}: a job has either `image` (a run) or `video` (a recapture), not both")
        raw.pop("image")
    keys = _keys(cls)
    values: dict[str, Any] = {}
    given: dict[str, tuple[str, Any]] = {}  # option name -> (key as written, value as written)
    bad: set[str] = set()
    for norm, (key, value) in raw.items():
        if norm in REFUSED_KEYS:
            problems.append(f"{at(key)}: {key!r} is not allowed in a job: {REFUSED_KEYS[norm]}")
            continue
        spec = keys.get(norm)
        if spec is None:
            problems.append(f"{at(key)}: {_unknown_key(key, norm, kind, keys, _keys(other))}")
            continue
        given[spec.dest] = (key, value)
        if value is None or value == "" or value == []:
            continue
        try:
            converted = _convert(spec, value, spec.dest, row.from_csv)
            choices = _choices(cls, spec.path)
            for v in converted if spec.multiple else [converted]:
                if choices and str(v) not in choices:
                    close = difflib.get_close_matches(str(v), choices, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise InputError(f"{spec.dest} {v!r}: choose one of {', '.join(choices)}{hint}")
        except InputError as exc:
            problems.append(f"{at(key)}: {_one_line(exc)}")
            bad.add(spec.dest)
            continue
        values[spec.dest] = _resolve_paths(spec.dest, converted, base)
    if evaluate and kind == "run":
        values["evaluate"] = True
    required = ("prompt", "image") if kind == "run" else ("video", "cam")
    for k in required:
        if k not in values and k not in bad:
            problems.append(f"{at(None)}: no `{k}`; a {kind} job needs {' and '.join(required)}")
    missing_file = False
    for dest in FILE_KEYS:
        key, written = given.get(dest, (dest, None))
        for shown, p in zip(_as_list(written), _as_list(values.get(dest)), strict=False):
            if not Path(p).is_file():
                missing_file = True
                problems.append(
                    f"{at(key)}: {dest} {str(shown)!r}: no such file ({p}); paths are relative to the jobs "
                    "file's folder"
                )
    if missing_file or any(k not in values for k in required):
        return name, None, problems
    # The option values that are fine, checked together (a bad preset, a missing rig...): one problem a job.
    job = Job(name or "job", kind, values, f"{path}:{row.line}")
    try:
        _check_config(job, check_backends)
    except ShotsmithError as exc:
        problems.append(f"{at(None)}: {_one_line(exc)}")
    if problems or name is None:
        return name, None, problems
    return name, job, problems


def _unknown_key(key: str, norm: str, kind: str, keys: dict, other_keys: dict) -> str:
    if norm in other_keys and norm not in keys:
        other = "recapture" if kind == "run" else "run"
        which = "jobs with `video`" if other == "recapture" else "jobs with `image`"
        return f"unknown key {key!r} for a {kind} job; it is an option of {other} ({which})"
    names = sorted(set(keys) | {"name"})
    close = difflib.get_close_matches(norm, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; see `shotsmith {kind} --help`"
    return f"unknown key {key!r}{hint}"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _resolve_paths(dest: str, value: Any, base: Path) -> Any:
    """Relative paths made absolute from the jobs file's folder: always for FILE_KEYS, for MAYBE_FILE_KEYS when
    such a file or folder exists there."""
    if dest not in FILE_KEYS and dest not in MAYBE_FILE_KEYS:
        return value

    def one(v: Any) -> Any:
        if not isinstance(v, str) or not v.strip():
            return v
        p = Path(v).expanduser()
        if p.is_absolute():
            return str(p)
        candidate = base / p
        if dest in FILE_KEYS or candidate.exists():
            return str(candidate)
        return v

    return [one(v) for v in value] if isinstance(value, list) else one(value)


def _one_line(exc: BaseException) -> str:
    """An error as one line (the first of its message, whitespace collapsed)."""
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.splitlines()[0].split()) if "\n" in text else " ".join(text.split())


@contextlib.contextmanager
def _quiet_console() -> Iterator[None]:
    from shotsmith.console import console

    old = console.quiet
    console.quiet = True
    try:
        yield
    finally:
        console.quiet = old


def _check_config(job: Job, check_backends: bool) -> None:
    """What `run_shot` / `recapture` check before writing, except reading the photo itself (a broken photo is
    a failed job, found when it runs)."""
    from dataclasses import replace

    from shotsmith.errors import PlanError
    from shotsmith.pipeline import camera_plan, fit_plan_to_generator
    from shotsmith.stages import plan_trajectory as plan_stage

    cfg = job.config(Path("."))
    with _quiet_console():
        cfg.validate()
        if job.kind == "recapture":
            return
        replace(cfg.cache, image=cfg.image).validate()
        plan = camera_plan(cfg)
        if check_backends:
            from shotsmith.backends.depth import resolve_depth

            resolve_depth(
                cfg.cache.depth, model=cfg.cache.model, depth_kind=cfg.cache.depth_kind, announce=False
            )
            plan = fit_plan_to_generator(plan, cfg.generate)
        try:
            plan_stage.make_path(plan)
        except PlanError as exc:
            if plan.lenient:
                raise PlanError(
                    f"the prompt {cfg.prompt!r} has no camera motion I can read ({exc}); add cam = PRESET "
                    '(see `shotsmith presets`) or camera = "TEXT"'
                ) from exc
            raise


# ---------------------------------------------------------------------------------------------------------------
# One job


@dataclass
class JobResult:
    """How one job went (a row of batch.csv)."""

    name: str
    status: Status = "not run"
    error: str = ""
    seconds: float = 0.0
    output: str = ""
    """The shot's video (output/shot.mp4, or output/grid.mp4 for a rig), when made."""
    ran: int = 0
    """Stages that ran (the others were unchanged and skipped)."""
    stages: int = 0
    peak_mb: float = 0.0
    """Peak resident memory of the process that ran the job, in MiB."""
    worker: str = ""
    metrics: dict = field(default_factory=dict)
    """evaluate's headline numbers (eval/metrics.json "metrics"), when the job was evaluated."""


@dataclass
class Task:
    """A job handed to a runner."""

    job: Job
    lane: Literal["cpu", "gpu"] = "cpu"
    """cpu: an embedded shot (a core each); gpu: a video model (a GPU each, its weights kept loaded)."""
    force: bool = False
    log: str = ""
    """File the job's console output goes to."""


def _peak_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20) if sys.platform == "darwin" else peak / 1024, 1)


@contextlib.contextmanager
def _output_to(log: str | None, fd_level: bool) -> Iterator[None]:
    """Send the job's console output (and, with fd_level, everything written to fds 1 and 2) to `log`."""
    if not log:
        yield
        return
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8", buffering=1) as f:
        f.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}\n")
        if fd_level:
            sys.stdout.flush()
            sys.stderr.flush()
            saved = [os.dup(1), os.dup(2)]
            os.dup2(f.fileno(), 1)
            os.dup2(f.fileno(), 2)
        try:
            with contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
                yield
        finally:
            if fd_level:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                for fd in saved:
                    os.close(fd)


def execute_job(
    job: Job,
    out_dir: str | os.PathLike,
    *,
    force: bool = False,
    log: str | None = None,
    fd_level: bool = False,
) -> JobResult:
    """Run one job in DIR/<name> (skipping its unchanged stages); a failure is a result, not an exception,
    except KeyboardInterrupt (the stage in progress is recorded as interrupted and the interrupt goes on)."""
    import traceback

    from shotsmith.pipeline import recapture, run_shot

    start = time.perf_counter()
    result = JobResult(job.name, worker=f"pid {os.getpid()}")
    with _output_to(log, fd_level):
        try:
            cfg = job.config(out_dir)
            ws, lines = run_shot(cfg, force=force) if job.kind == "run" else recapture(cfg, force=force)
            result.status = "ok"
            result.ran = sum(1 for line in lines if line.status == "ran")
            result.stages = len(lines)
            result.output = str(ws.path(W.OUTPUT_GRID if cfg.rig else W.OUTPUT_VIDEO))
            if getattr(cfg, "evaluate", False) and not cfg.rig and ws.exists(W.EVAL_METRICS):
                result.metrics = _metrics(ws)
        except KeyboardInterrupt:
            result.status, result.error = "interrupted", "interrupted"
            result.seconds = round(time.perf_counter() - start, 3)
            raise
        except ShotsmithError as exc:
            result.status, result.error = "failed", _one_line(exc)
            if log:
                print(f"error: {exc}", file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - a bug in one job must not stop the batch
            result.status, result.error = "failed", f"{type(exc).__name__}: {_one_line(exc)}"
            if log:
                traceback.print_exc()
        finally:
            result.seconds = round(time.perf_counter() - start, 3)
            result.peak_mb = _peak_mb()
    return result


def _metrics(ws: W.Workspace) -> dict:
    try:
        data = ws.read_json(W.EVAL_METRICS)
    except ShotsmithError:
        return {}
    out = {"eval_ok": bool(data.get("ok"))}
    for k, v in (data.get("metrics") or {}).items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = v
    return out


def finished_results(
    tasks: list[Task], out_dir: str | os.PathLike
) -> Iterator[tuple[Task, JobResult | None]]:
    """(task, its result when its workspace says nothing would run, else None) for every task, in order.

    A dry run in this process of each job whose workspace exists (every stage's skip check: hashes and
    records, nothing run or recorded), a few at a time in threads (hashing releases the GIL), so a rerun of a
    finished batch starts no worker."""
    from concurrent.futures import ThreadPoolExecutor

    def probe(task: Task) -> JobResult | None:
        if task.force or not task.job.workspace(out_dir).joinpath(W.SHOT).is_file():
            return None
        try:
            with W.dry_run():
                result = execute_job(task.job, out_dir)
        except W.WouldRun:
            return None
        return result if result.status == "ok" and result.ran == 0 else None

    pool = ThreadPoolExecutor(
        max(1, min(len(tasks), usable_cores(), 8)), thread_name_prefix="shotsmith-dry-run"
    )
    try:
        with _quiet_console():
            yield from zip(tasks, pool.map(probe, tasks), strict=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------------------------
# Lanes and workers


def visible_gpus() -> list[str]:
    """The GPU ids this process may use: CUDA_VISIBLE_DEVICES, else those `nvidia-smi -L` lists (no torch)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    import subprocess

    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def job_lane(job: Job) -> Literal["cpu", "gpu"]:
    """gpu for a job whose generator is a video model (named, or `auto` finding weights here), else cpu."""
    gen = job.generator
    if gen in VIDEO_MODELS:
        return "gpu"
    if gen != "auto":
        return "cpu"
    try:
        with _quiet_console():
            resolved, _ = job.config(".").generate.resolve()
    except ShotsmithError:
        return "cpu"
    return "gpu" if resolved.name in VIDEO_MODELS else "cpu"


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS
        return max(1, os.cpu_count() or 1)


#: Memory one embedded worker may take at 832x480 x 81 frames (measured peak ~0.6 GiB, bench/bench_batch.py,
#: doubled for margin): the default worker count keeps that much free per worker.
WORKER_MEMORY = 1.5 * (1 << 30)


def default_workers(cpu_jobs: int, gpu_workers: int = 0) -> int:
    """Embedded workers: one per core (less one per GPU worker, which needs a core to feed it), bounded by the
    jobs and by the free memory."""
    cores = usable_cores() - gpu_workers
    try:
        import psutil

        by_memory = int(psutil.virtual_memory().available // WORKER_MEMORY)
    except ImportError:
        by_memory = cores
    return max(1, min(cpu_jobs, cores, max(1, by_memory)))


@contextlib.contextmanager
def keep_generators_loaded() -> Iterator[dict]:
    """Within (a worker process): a video-model generator built by name is kept, with its loaded weights, and
    handed out again to the next job that asks for the same model and options."""
    from shotsmith.backends.generator import GENERATORS

    kept: dict = {}
    create = GENERATORS.create

    def cached(name: str, **kwargs):
        if name not in VIDEO_MODELS:
            return create(name, **kwargs)
        key = (name, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
        if key not in kept:
            kept[key] = create(name, **kwargs)
        return kept[key]

    GENERATORS.create = cached  # type: ignore[method-assign]
    try:
        yield kept
    finally:
        GENERATORS.create = create  # type: ignore[method-assign]


def _thread_env(threads: int) -> dict[str, str]:
    n = str(max(1, threads))
    return {
        "OMP_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "NUMBA_NUM_THREADS": n,
        "SHOTSMITH_QUIET": "1",
    }


@contextlib.contextmanager
def _environ(extra: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------------------------------------------
# Runners: run(tasks, out_dir, on_start(task, where), on_done(task, result)); KeyboardInterrupt stops them.

OnStart = Callable[[Task, str], None]
OnDone = Callable[[Task, JobResult], None]


class SequentialRunner:
    """Every job in this process, one after the other (`--workers 0`; the bench's baseline)."""

    name = "sequential"
    runs_here = True

    def describe(self, tasks: list[Task]) -> str:
        return "in this process, one job at a time"

    def run(self, tasks: list[Task], out_dir: Path, on_start: OnStart, on_done: OnDone) -> None:
        with keep_generators_loaded():
            for task in tasks:
                on_start(task, "this process")
                on_done(task, execute_job(task.job, out_dir, force=task.force, log=task.log))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _worker_main(conn, out_dir: str, lane: str, threads: int) -> None:
    """A worker process: jobs in, results out, until None (or SIGTERM: the job in progress is interrupted)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _raise_interrupt)
    with contextlib.suppress(Exception):
        import cv2

        cv2.setNumThreads(threads)
    kept = keep_generators_loaded() if lane == "gpu" else contextlib.nullcontext()
    with kept:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError, KeyboardInterrupt):
                return
            if task is None:
                return
            try:
                result = execute_job(task.job, out_dir, force=task.force, log=task.log, fd_level=True)
            except KeyboardInterrupt:
                with contextlib.suppress(Exception):
                    conn.send(
                        JobResult(task.job.name, "interrupted", "interrupted", worker=f"pid {os.getpid()}")
                    )
                return
            conn.send(result)


@dataclass
class _Worker:
    lane: str
    process: Any
    conn: Any
    gpu: str | None = None
    task: Task | None = None


class LocalRunner:
    """Worker processes on this machine: embedded jobs one per core, video-model jobs one per GPU (each worker
    keeps its model loaded across jobs). A worker that dies fails its job and is replaced."""

    name = "local"
    runs_here = True

    def __init__(self, workers: int | None = None, gpus: list[str] | None = None) -> None:
        if workers is not None and workers < 1:
            raise InputError(f"--workers {workers}: give at least 1 (0 runs the jobs in this process)")
        self.workers = workers
        self.gpus = gpus

    def counts(self, tasks: list[Task]) -> tuple[int, int]:
        """(embedded workers, video-model workers) for these tasks."""
        gpu_jobs = sum(t.lane == "gpu" for t in tasks)
        cpu_jobs = len(tasks) - gpu_jobs
        gpus = self.gpus if self.gpus is not None else visible_gpus()
        n_gpu = min(gpu_jobs, max(1, len(gpus))) if gpu_jobs else 0
        n_cpu = (
            (min(cpu_jobs, self.workers) if self.workers else default_workers(cpu_jobs, n_gpu))
            if cpu_jobs
            else 0
        )
        return n_cpu, n_gpu

    def describe(self, tasks: list[Task]) -> str:
        n_cpu, n_gpu = self.counts(tasks)
        parts = [f"{n_cpu} embedded worker{'s' * (n_cpu != 1)}"] if n_cpu else []
        if n_gpu:
            parts.append(f"{n_gpu} video-model worker{'s' * (n_gpu != 1)} (one per GPU)")
        return " + ".join(parts) + " on this machine"

    def run(self, tasks: list[Task], out_dir: Path, on_start: OnStart, on_done: OnDone) -> None:
        import multiprocessing as mp
        from multiprocessing.connection import wait

        ctx = mp.get_context("spawn")  # no fork: a worker may use CUDA, the parent has threads (the bar)
        n_cpu, n_gpu = self.counts(tasks)
        pending = {lane: deque(t for t in tasks if t.lane == lane) for lane in ("cpu", "gpu")}
        gpus = (self.gpus if self.gpus is not None else visible_gpus()) or [None]  # type: ignore[list-item]
        cores = usable_cores()
        workers: list[_Worker] = []

        def start(lane: str, gpu: str | None) -> _Worker:
            threads = max(1, cores // max(1, n_cpu + n_gpu))
            env = _thread_env(threads)
            if gpu is not None:
                env["CUDA_VISIBLE_DEVICES"] = gpu
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_worker_main,
                args=(child, str(out_dir), lane, threads),
                daemon=True,
                name=f"shotsmith-{lane}",
            )
            with _environ(env):
                proc.start()
            child.close()
            w = _Worker(lane, proc, parent, gpu)
            workers.append(w)
            return w

        def feed(w: _Worker) -> None:
            queue = pending[w.lane]
            if queue:
                w.task = queue.popleft()
                w.conn.send(w.task)
                on_start(
                    w.task, f"worker pid {w.process.pid}" + (f", GPU {w.gpu}" if w.gpu is not None else "")
                )
            else:
                w.task = None
                with contextlib.suppress(OSError):
                    w.conn.send(None)

        try:
            for _ in range(n_cpu):
                feed(start("cpu", None))
            for k in range(n_gpu):
                feed(start("gpu", gpus[k % len(gpus)]))
            while any(w.task is not None for w in workers):
                busy = [w for w in workers if w.task is not None]
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
                for w in busy:
                    if w.conn in ready:
                        try:
                            result = w.conn.recv()
                        except (EOFError, OSError):
                            continue  # died: its sentinel says so
                        task, w.task = w.task, None
                        on_done(task, result)  # type: ignore[arg-type]
                        feed(w)
                    elif w.process.sentinel in ready and w.task is not None:
                        w.process.join(1)
                        task, w.task = w.task, None
                        code = w.process.exitcode
                        why = " (killed: out of memory?)" if code == -signal.SIGKILL else ""
                        on_done(
                            task,
                            JobResult(
                                task.job.name, "failed", f"the worker process died (exit code {code}){why}"
                            ),
                        )
                        workers.remove(w)
                        if pending[w.lane]:
                            feed(start(w.lane, w.gpu))
        finally:
            _stop(workers)


def _stop(workers: list[_Worker]) -> None:
    """Stop every worker: idle ones get None, busy ones SIGTERM (their stage is recorded as interrupted)."""
    for w in workers:
        if w.process.is_alive() and w.task is not None:
            w.process.terminate()
    deadline = time.monotonic() + 15
    for w in workers:
        w.process.join(max(0.1, deadline - time.monotonic()))
        if w.process.is_alive():
            w.process.kill()
            w.process.join(2)
        with contextlib.suppress(OSError):
            w.conn.close()


# ---------------------------------------------------------------------------------------------------------------
# The batch


@dataclass
class BatchReport:
    """What `run_batch` did."""

    results: dict[str, JobResult]
    """name -> result, in the jobs file's order."""
    csv: Path
    seconds: float
    interrupted: bool = False
    skipped: int = 0
    """Jobs found finished by their records (nothing run, no worker started)."""
    runner: str = ""

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results.values() if r.status == "failed"]

    @property
    def made(self) -> list[JobResult]:
        return [r for r in self.results.values() if r.status == "ok"]


def log_path(out_dir: str | os.PathLike, name: str) -> str:
    return str(Path(out_dir) / STATE_DIR / "logs" / f"{name}.log")


def check_out_dir(out_dir: str | os.PathLike) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise WorkspaceError(f"-o {out}: exists and is not a folder; choose another output folder")
    return out


def run_batch(
    jobs: list[Job],
    out_dir: str | os.PathLike,
    runner: Any = None,
    *,
    force: bool = False,
    progress: bool = True,
) -> BatchReport:
    """Run every job (skipping finished ones) with `runner` (default `LocalRunner()`), keeping DIR/batch.csv
    current. Ctrl-C stops the workers; finished shots stay, and the report says `interrupted`."""
    out = check_out_dir(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runner = runner if runner is not None else LocalRunner()
    start = time.perf_counter()
    results = {j.name: JobResult(j.name) for j in jobs}
    csv_path = out / BATCH_CSV
    for j in jobs:
        with contextlib.suppress(FileNotFoundError):
            os.remove(log_path(out, j.name))
    tasks = [Task(j, "cpu", force, log_path(out.resolve(), j.name)) for j in jobs]  # absolute: workers' cwd
    bar = _Bar(len(tasks), progress)
    report = BatchReport(results, csv_path, 0.0, runner=getattr(runner, "name", type(runner).__name__))
    interrupted = False
    try:
        with bar:
            todo = []
            probes = contextlib.closing(finished_results(tasks, out))
            with probes as found:
                finished = list(found)
            for t, done in finished:  # found finished by their own records, here
                if done is None:
                    todo.append(t)
                    continue
                done.worker, done.peak_mb = "skipped (unchanged)", 0.0
                results[t.job.name] = done
                report.skipped += 1
                bar.done(t, done)
            if todo:
                for t in todo:
                    t.lane = job_lane(t.job)
                bar.note(f"{len(todo)} job{'s' * (len(todo) != 1)} to run: {runner.describe(todo)}")
                write_batch_csv(csv_path, jobs, results)

                def on_start(task: Task, where: str) -> None:
                    results[task.job.name].worker = where
                    bar.start(task)

                def on_done(task: Task, result: JobResult) -> None:
                    result.worker = result.worker or results[task.job.name].worker
                    results[task.job.name] = result
                    write_batch_csv(csv_path, jobs, results)
                    bar.done(task, result)

                runner.run(todo, out, on_start, on_done)
    except KeyboardInterrupt:
        interrupted = True
        for r in results.values():
            if r.status == "not run" and r.worker and not r.worker.startswith("skipped"):
                r.status, r.error = "interrupted", "interrupted (Ctrl-C)"
    write_batch_csv(csv_path, jobs, results)
    report.seconds = round(time.perf_counter() - start, 3)
    report.interrupted = interrupted
    return report


class _Bar:
    """A rich progress bar over the batch (stderr; per-job lines when it is not a terminal)."""

    def __init__(self, total: int, enabled: bool) -> None:
        from rich.console import Console

        self.total, self.finished, self.running = total, 0, set()
        self.quiet = not enabled or bool(os.environ.get("SHOTSMITH_QUIET"))
        self.console = Console(file=sys.stderr, highlight=False)
        self.progress = None
        if not self.quiet and self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("[bold]batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[running]}"),
                console=self.console,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.task = self.progress.add_task("batch", total=total, running="")

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _refresh(self) -> None:
        if self.progress is not None:
            names = sorted(self.running)
            text = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
            self.progress.update(self.task, completed=self.finished, running=text)

    def note(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, markup=False, soft_wrap=True)

    def start(self, task: Task) -> None:
        self.running.add(task.job.name)
        self._refresh()

    def done(self, task: Task, result: JobResult) -> None:
        self.running.discard(task.job.name)
        self.finished += 1
        self._refresh()
        if self.quiet:
            return
        color = {"ok": "green", "failed": "red"}.get(result.status, "yellow")
        what = result.error if result.status != "ok" else f"{result.ran}/{result.stages} stages ran"
        self.console.print(
            f"[{self.finished}/{self.total}] {task.job.name}: [{color}]{result.status}[/{color}] "
            f"({result.seconds:.1f} s, {what})",
            soft_wrap=True,
        )


# ---------------------------------------------------------------------------------------------------------------
# batch.csv

CSV_COLUMNS = ("name", "kind", "status", "error", "seconds", "output", "stages_ran", "peak_mb", "worker")


def write_batch_csv(path: str | os.PathLike, jobs: list[Job], results: dict[str, JobResult]) -> Path:
    """DIR/batch.csv: one row per job in the jobs file's order (CSV_COLUMNS, then evaluate's numbers); output
    paths are relative to DIR."""
    metric_keys: list[str] = []
    for r in results.values():
        for k in r.metrics:
            if k not in metric_keys:
                metric_keys.append(k)
    path = Path(path)
    with W.atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CSV_COLUMNS, *metric_keys])
        for job in jobs:
            r = results.get(job.name) or JobResult(job.name)
            ran = f"{r.ran}/{r.stages}" if r.stages else ""
            row = [
                r.name,
                job.kind,
                r.status,
                r.error,
                f"{r.seconds:.3f}",
                _relative(r.output, path.parent),
                ran,
                r.peak_mb or "",
                r.worker,
            ]
            writer.writerow(row + [_fmt(r.metrics.get(k)) for k in metric_keys])
    return path


def _relative(path: str, root: Path) -> str:
    """`path` relative to DIR when it is inside (batch.csv stays valid when DIR moves), else as it is."""
    if not path:
        return ""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def read_batch_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------------------------------------------
# The dataset

DATASET_MARKER = "shotsmith batch dataset"
DATASET_STYLES = ("recammaster", "syncammaster")


@dataclass
class _Camera:
    job: Job
    name: str
    """The camera's key in camera_extrinsics.json (cam01...)."""
    video: Path
    path: Any
    """Its CameraPath (scene units, the cache's world)."""
    text: str


def write_dataset(
    dataset_dir: str | os.PathLike,
    jobs: list[Job],
    results: dict[str, JobResult],
    out_dir: str | os.PathLike,
    style: str = "recammaster",
) -> tuple[Path, int]:
    """(the folder, how many videos): the made shots written as a dataset in ReCamMaster's MultiCamVideo layout (README.md says what each file
    holds): jobs on the same source (same file content, depth options and frame count) are one scene, each of
    their cameras (a rig's every camera) one video. Replaces an earlier dataset in the same folder."""
    from shotsmith import artifacts as A
    from shotsmith.formats import write_camera_file
    from shotsmith.formats.ue import UE_SCALES

    if style not in DATASET_STYLES:
        raise InputError(f"--dataset-style {style!r}: choose {' or '.join(DATASET_STYLES)}")
    dest = Path(dataset_dir)
    out = Path(out_dir)
    _check_dataset_dir(dest, out)
    scale = UE_SCALES[style]
    scenes: dict[tuple, list[_Camera]] = {}
    scene_source: dict[tuple, Path] = {}
    for job in jobs:
        r = results.get(job.name)
        if r is None or r.status != "ok":
            continue
        ws = W.Workspace(job.workspace(out))
        source = Path(_as_list(job.values["image" if job.kind == "run" else "video"])[0])
        cams = _job_cameras(ws, job, A)
        if not cams:
            continue
        depth = tuple(
            str(job.values.get(k, "")) for k in ("depth", "depth_model", "model", "depth_kind", "fov")
        )
        key = (W.hash_file(source), depth, len(cams[0][2]))
        text = A.generator_text(ws, job.values.get("prompt") if job.kind == "recapture" else None)
        group = scenes.setdefault(key, [])
        scene_source.setdefault(key, source)
        for label, video, path in cams:
            group.append(_Camera(job, label, video, path, text))
    with W.atomic_path(dest) as tmp:
        tmp.mkdir(parents=True)
        rows = []
        used: set[str] = set()
        for key, cams in scenes.items():
            scene = _scene_name(scene_source[key], used)
            root = tmp / "train" / scene
            for k, cam in enumerate(cams, 1):
                cam.name = f"cam{k:02d}"
                _link_or_copy(cam.video, root / "videos" / f"{cam.name}.mp4")
                write_camera_file(root / "transforms" / f"{cam.name}.json", cam.path, "transforms")
                rows.append(
                    {
                        "file_name": f"{scene}/videos/{cam.name}.mp4",
                        "text": cam.text,
                        "scene": scene,
                        "camera": cam.name,
                        "job": cam.job.name,
                        "rig_camera": getattr(cam.path, "meta", {}).get("rig_camera", ""),
                        "frames": len(cam.path),
                        "fps": f"{cam.path.fps:g}",
                        "width": cam.path.width,
                        "height": cam.path.height,
                        "transforms": f"{scene}/transforms/{cam.name}.json",
                        "source": str(scene_source[key]),
                    }
                )
            write_camera_file(
                root / "cameras" / "camera_extrinsics.json",
                {c.name: c.path for c in cams},
                "ue",
                ue_scale=scale,
            )
        with open(tmp / "metadata.csv", "w", newline="", encoding="utf-8") as f:
            columns = [
                "file_name", "text", "scene", "camera", "job", "rig_camera", "frames", "fps", "width", "height",
                "transforms", "source",
            ]  # fmt: skip
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        (tmp / "README.md").write_text(
            _dataset_readme(style, scale, len(scenes), len(rows)), encoding="utf-8"
        )
    return dest, len(rows)


def _check_dataset_dir(dest: Path, out: Path) -> None:
    d, o = dest.resolve(), out.resolve()
    if d == o or o.is_relative_to(d) or d.is_relative_to(o):
        raise InputError(
            f"--dataset {dest}: must be outside -o {out} (and not hold it); choose another folder"
        )
    if dest.exists():
        if not dest.is_dir():
            raise InputError(f"--dataset {dest}: exists and is not a folder; choose another folder")
        readme = dest / "README.md"
        ours = (
            readme.is_file() and DATASET_MARKER in readme.read_text(encoding="utf-8", errors="replace")[:300]
        )
        if any(dest.iterdir()) and not ours:
            raise InputError(
                f"--dataset {dest}: not empty and not a shotsmith dataset; choose an empty or new folder"
            )


def _job_cameras(ws: W.Workspace, job: Job, A) -> list[tuple[str, Path, Any]]:
    """(label, video, CameraPath) of each camera the job made: its one camera, or every rig camera; each path
    fitted to its video (frame count and size) when the generator resampled or resized the plan."""
    from shotsmith.camera import resample
    from shotsmith.formats import read_trajectory

    rig = bool(job.values.get("rig"))
    rec = ws.record("generate-rig" if rig else "generate")
    made = rec.extra if rec is not None and isinstance(rec.extra, dict) else {}

    def fitted(cam):
        frames, size = made.get("frames"), made.get("size")
        if frames and int(frames) != len(cam):
            cam = resample(cam, int(frames))
        if size and tuple(size) != (cam.width, cam.height):
            cam = cam.with_size(int(size[0]), int(size[1]))
        return cam

    if not rig:
        video = ws.path(W.OUTPUT_VIDEO)
        return [("cam01", video, fitted(read_trajectory(ws.path(W.TRAJECTORY))))] if video.is_file() else []
    out = []
    k = 1
    while ws.path(W.output_cam(k)).is_file():
        cam = fitted(read_trajectory(ws.path(W.guidance_file("trajectory", k))))
        cam.meta = dict(cam.meta or {}, rig_camera=f"{k:02d}")
        out.append((f"{k:02d}", ws.path(W.output_cam(k)), cam))
        k += 1
    return out


def _scene_name(source: Path, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", source.stem.lower()).strip("-") or "scene"
    name, k = base, 2
    while name in used:
        name, k = f"{base}-{k}", k + 1
    used.add(name)
    return name


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _dataset_readme(style: str, scale: float, scenes: int, videos: int) -> str:
    return f"""# {DATASET_MARKER}

Written by `shotsmith batch --dataset` ({style} style): {videos} videos in {scenes} scenes. The layout is
ReCamMaster's MultiCamVideo layout (`train/<scene>/videos/camNN.mp4` + `train/<scene>/cameras/
camera_extrinsics.json`, `metadata.csv` with `file_name` relative to `train/` and `text`), so its loaders read
it as they read theirs; `transforms/` holds shotsmith's own camera files beside it.

| file | what it holds |
|---|---|
| `metadata.csv` | one row per video: `file_name` (relative to `train/`), `text` (the caption the generator got), `scene`, `camera`, `job` (the batch job that made it), `rig_camera` (the rig's camera number, for rig jobs), `frames`, `fps`, `width`, `height`, `transforms` (its shotsmith camera file, relative to `train/`), `source` (the photo or video) |
| `train/<scene>/videos/camNN.mp4` | one shot (H.264); a scene is every job on the same source photo or video (same file content, depth options and frame count), so its cameras see one 3D scene |
| `train/<scene>/cameras/camera_extrinsics.json` | every camera of the scene, `frame0`..`frameN-1` x `camNN`, as Unreal-Engine row-vector strings `"[r r r 0] [r r r 0] [r r r 0] [x y z 1]"` (rows: camera forward, right, up, position; left-handed, Z up, centimetres): {scale:g} cm per shotsmith scene unit ({style}'s loader divides by {scale:g}), in the scene's world (the source camera's frame) |
| `train/<scene>/transforms/camNN.json` | the same camera in shotsmith's trajectory.json (nerfstudio transforms: OpenGL camera-to-world per frame, intrinsics in pixels, fps), which the extrinsics JSON cannot hold |

Scene units: 1.0 = the subject distance of the source photo (docs/CONVENTIONS.md). ReCamMaster's videos are
81 frames at 1280x1280 and 15 fps; these have the batch's own frame counts and sizes (`metadata.csv`).
Read the cameras back with `shotsmith convert train/<scene>/cameras/camera_extrinsics.json cam01.json
--camera 1 --ue-scale {scale:g}` (relative to that camera's first frame) or use the transforms file as it is.
"""


# ---------------------------------------------------------------------------------------------------------------
# The command


def batch_command(
    jobs_file: Path,
    output: Path,
    *,
    workers: int | None = None,
    runner: Any = None,
    evaluate: bool = False,
    dataset: Path | None = None,
    dataset_style: str = "recammaster",
    force: bool = False,
    check: bool = False,
) -> int:
    """`shotsmith batch`: validate, run, report; returns the exit code (0, 1 when a job failed, 130 on Ctrl-C)."""
    from rich.table import Table

    from shotsmith.console import console

    if dataset_style not in DATASET_STYLES:
        raise InputError(f"--dataset-style {dataset_style!r}: choose {' or '.join(DATASET_STYLES)}")
    if workers is not None and workers < 0:
        raise InputError(f"--workers {workers}: give 0 (this process) or more")
    out = check_out_dir(output)
    if dataset is not None:
        _check_dataset_dir(Path(dataset), out)
    try:
        # A cluster's workers may have packages and weights this machine lacks: only they can check those.
        here = getattr(runner, "runs_here", True)
        jobs = load_jobs(jobs_file, evaluate=evaluate, check_backends=here, out_dir=out)
    except JobsFileError as exc:
        for line in exc.problems:
            console.print(line, markup=False, soft_wrap=True)
        n = len(exc.problems)
        raise InputError(
            f"{jobs_file}: {n} problem{'s' * (n != 1)} (listed above); nothing ran. Fix the file and run again"
        ) from None
    if check:
        n = len(jobs)
        console.print(f"{jobs_file}: {n} job{'s' * (n != 1)}, no problems", markup=False, soft_wrap=True)
        return 0
    if runner is None:
        runner = SequentialRunner() if workers == 0 else LocalRunner(workers)
    report = run_batch(jobs, out, runner, force=force)
    table = Table(
        "job", "status", "seconds", "stages ran", "error", title=f"batch in {out} ({report.seconds:.1f} s)"
    )
    colors = {"ok": "green", "failed": "red"}
    for r in report.results.values():
        c = colors.get(r.status, "yellow")
        table.add_row(
            r.name,
            f"[{c}]{r.status}[/{c}]",
            f"{r.seconds:.1f}",
            f"{r.ran}/{r.stages}" if r.stages else "",
            r.error,
        )
    console.print(table)
    if dataset is not None and report.made:
        where, videos = write_dataset(dataset, jobs, report.results, out, dataset_style)
        console.print(
            f"dataset: {where} ({len(report.made)} shots, {videos} videos)", markup=False, soft_wrap=True
        )
    print(report.csv)
    if report.interrupted:
        console.print("[yellow]interrupted[/yellow]: finished shots are kept; run the same command to go on")
        return 130
    if report.failed:
        names = ", ".join(r.name for r in report.failed[:3]) + (" ..." if len(report.failed) > 3 else "")
        raise ShotsmithError(
            f"{len(report.failed)} of {len(jobs)} jobs failed ({names}); their errors are in {report.csv}"
        )
    return 0
