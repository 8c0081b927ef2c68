"""Workspace: atomic writes, the lock, the manifest and the skip-if-unchanged runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shotsmith import workspace as W
from shotsmith.errors import WorkspaceError


def test_interrupted_write_keeps_old_file(tmp_path):
    ws = W.Workspace(tmp_path / "ws").create()
    ws.write_json(W.CAPTION, {"text": "old"})
    with pytest.raises(RuntimeError):
        with ws.atomic(W.CAPTION) as tmp:
            tmp.write_text('{"text": "half')
            raise RuntimeError("power cut")
    assert json.loads(ws.path(W.CAPTION).read_text()) == {"text": "old"}
    assert [p.name for p in ws.path(W.CAPTION).parent.iterdir() if p.name.startswith(".")] == []


def test_atomic_folder_replaces_whole(tmp_path):
    ws = W.Workspace(tmp_path).create()
    with ws.atomic(W.GUIDANCE_FRAMES) as tmp:
        tmp.mkdir()
        (tmp / "a.png").write_text("1")
    with ws.atomic(W.GUIDANCE_FRAMES) as tmp:
        tmp.mkdir()
        (tmp / "b.png").write_text("2")
    assert sorted(p.name for p in ws.path(W.GUIDANCE_FRAMES).iterdir()) == ["b.png"]


def test_second_process_gets_clear_error(tmp_path):
    ws = W.Workspace(tmp_path / "ws").create()
    code = (
        "import sys, time; from shotsmith.workspace import Workspace\n"
        f"ws = Workspace({str(ws.root)!r})\n"
        "with ws.locked():\n    print('locked', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(WorkspaceError, match=r"in use by another shotsmith process \(pid \d+\)"):
            with ws.locked():
                pass
    finally:
        proc.kill()
        proc.wait()
    # The dead process's lock is stale and is taken over.
    with ws.locked():
        assert ws.path(W.LOCK).exists()
    assert not ws.path(W.LOCK).exists()


def test_workspace_that_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(WorkspaceError, match="not a folder"):
        W.Workspace(f).create()


def _stage(ws, calls, value="a", force=False, options=None):
    def work():
        calls.append(1)
        ws.write_json(W.CAPTION, {"text": value})
        return W.StageResult(outputs=[W.CAPTION])

    return W.run_stage(
        ws, "caption", work, options=options or {"v": value}, inputs=[W.TRAJECTORY], force=force
    )


def test_runner_skips_unchanged_and_reruns_on_change(tmp_path):
    ws = W.Workspace(tmp_path).create()
    ws.write_json(W.TRAJECTORY, {"frames": [1]})
    calls = []
    rec = _stage(ws, calls)
    assert rec.status == "ok" and len(calls) == 1
    _stage(ws, calls)
    assert len(calls) == 1  # skipped
    assert ws.stage_state("caption") == "done"
    _stage(ws, calls, force=True)
    assert len(calls) == 2
    _stage(ws, calls, options={"v": "other"})
    assert len(calls) == 3
    time.sleep(0.01)
    ws.write_json(W.TRAJECTORY, {"frames": [1, 2]})
    assert ws.stage_state("caption") == "stale"
    _stage(ws, calls, options={"v": "other"})
    assert len(calls) == 4
    # An output edited by hand makes the stage rerun.
    ws.path(W.CAPTION).write_text("{}")
    assert ws.stage_state("caption") == "stale"
    _stage(ws, calls, options={"v": "other"})
    assert len(calls) == 5


def test_runner_records_failure(tmp_path):
    ws = W.Workspace(tmp_path).create()

    def boom():
        raise WorkspaceError("nope")

    with pytest.raises(WorkspaceError):
        W.run_stage(ws, "generate", boom, options={}, inputs=[])
    rec = ws.record("generate")
    assert rec.status == "failed" and "nope" in rec.error
    assert ws.stage_state("generate") == "missing"


def test_newer_manifest_rejected(tmp_path):
    ws = W.Workspace(tmp_path).create()
    ws.path(W.SHOT).write_text(json.dumps({"schema_version": 99, "stages": {}}))
    with pytest.raises(WorkspaceError, match="newer shotsmith"):
        ws.manifest()


def test_status_cli(tmp_path, cli):
    ws = W.Workspace(tmp_path).create()
    code, _, err = cli("status", "-w", tmp_path)
    assert code == 1 and "not a shotsmith workspace" in err
    ws.update_request(prompt="x")
    code, _, err = cli("status", "-w", tmp_path)
    assert code == 0 and "missing" in err


def test_a_new_backend_version_reruns_the_stage(tmp_path):
    """The skip key holds the backend's version when the stage knows it before running (a new prior reruns)."""
    ws = W.Workspace(tmp_path / "ws")
    runs = []

    def body():
        runs.append(1)
        with ws.atomic("out.txt") as tmp:
            tmp.write_text("x")
        return W.StageResult(outputs=["out.txt"], backend_version="prior 3")

    for version in ("prior 3", "prior 3", "prior 4"):
        W.run_stage(ws, "s", body, options={}, inputs=[], backend="prior", version=version)
    assert len(runs) == 2


def test_an_unchanged_file_is_hashed_once_per_process(tmp_path, monkeypatch):
    import builtins

    p = tmp_path / "big.bin"
    p.write_bytes(np.random.default_rng(0).bytes(3 << 20))
    old = time.time_ns() - 10**9
    os.utime(p, ns=(old, old))
    time.sleep(W._RACY_NS / 1e9 + 0.02)  # past the racy window of the file's ctime too
    first = W.hash_file(p)
    real_open = builtins.open
    reads = []

    def counting_open(file, mode="r", *a, **k):
        if Path(file) == p:
            f = real_open(file, mode, *a, **k)
            real_read = f.read
            f.read = lambda *ra: reads.append(1) or real_read(*ra)  # type: ignore[method-assign]
            return f
        return real_open(file, mode, *a, **k)

    monkeypatch.setattr(builtins, "open", counting_open)
    assert W.hash_file(p) == first and not reads  # remembered: not read again
    with real_open(p, "r+b") as f:  # same size, same mtime: only the ctime says it changed
        f.write(b"\x00" * 16)
    os.utime(p, ns=(old, old))
    changed = W.hash_file(p)
    assert reads and changed != first


def test_a_file_changed_within_the_racy_window_is_not_remembered(tmp_path):
    p = tmp_path / "fresh.bin"
    p.write_bytes(b"a" * 1000)
    W.hash_file(p)
    assert str(p.resolve()) not in W._HASHED and os.path.abspath(p) not in W._HASHED
