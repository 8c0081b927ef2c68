"""Regression tests of the defects `make faults` (tests/faults.py) found: each failed before its fix.

The full matrix (kill -9 at random moments of every stage, ENOSPC and EIO on every write of a whole shot...) runs
in `make faults`; the slow-marked tests here run parts of it through the same script.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import faults
from shotsmith import workspace as W
from shotsmith.errors import WorkspaceError
from shotsmith.media import write_video

SRC = str(Path(W.__file__).resolve().parents[1])  # the shotsmith under test, for the child processes


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_read_only_workspace_is_one_line_not_a_traceback(tmp_path):
    """Was: PermissionError traceback from os.open of the lock."""
    ws = W.Workspace(tmp_path / "ws").create()
    ws.write_json(W.CAPTION, {"prompt": "x"})
    before = faults.state(ws.root)
    faults._chmod_tree(ws.root, writable=False)
    try:
        code = f"from shotsmith.cli import main; raise SystemExit(main(['caption', '-w', {str(ws.root)!r}]))"
        proc = subprocess.run(
            [*faults._readonly_prefix(), sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=SRC, SHOTSMITH_QUIET="1"),
        )
    finally:
        faults._chmod_tree(ws.root, writable=True)
    assert proc.returncode == 1, proc.stderr
    assert faults.one_error_line(proc.stderr) == "", proc.stderr
    assert "cannot write in the workspace (Permission denied)" in proc.stderr
    assert faults.state(ws.root) == before


def test_a_held_lock_whose_file_is_empty_is_not_taken_over(tmp_path):
    """Was: a lock file without a pid yet (its holder between create and write) counted as stale, so a second
    writer removed it and both wrote."""
    ws = W.Workspace(tmp_path / "ws").create()
    code = (
        "import sys, time; from shotsmith.workspace import Workspace\n"
        f"with Workspace({str(ws.root)!r}).locked():\n    print('locked', flush=True); time.sleep(30)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=SRC)
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        ws.path(W.LOCK).write_text("")  # as if its pid were not written yet
        with pytest.raises(WorkspaceError, match="in use by another shotsmith process") as exc:
            with ws.locked():
                pass
        assert "\n" not in str(exc.value)
    finally:
        holder.kill()
        holder.wait()
    with ws.locked():  # the holder died (kill -9): its flock went with it
        assert ws.path(W.LOCK).read_text().split()[0] == str(os.getpid())
    assert not ws.path(W.LOCK).exists()


def test_the_lock_is_never_followed(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("not yours")
    ws = W.Workspace(tmp_path / "ws").create()
    ws.path(W.LOCK).symlink_to(precious)
    with pytest.raises(WorkspaceError, match="is a symbolic link"):
        with ws.locked():
            pass
    assert precious.read_text() == "not yours"


def test_writes_never_go_through_links_or_dotdot_out_of_the_workspace(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = W.Workspace(tmp_path / "ws").create()
    (ws.root / "output").symlink_to(outside, target_is_directory=True)
    for name in (W.OUTPUT_VIDEO, "../outside/x.json", W.object_ply("../../outside/evil")):
        with pytest.raises(WorkspaceError, match="leads out of the workspace"):
            with ws.atomic(name) as tmp:
                tmp.write_text("x")
    assert list(outside.iterdir()) == []
    # A link inside the workspace to a folder inside it is fine; a final name that is a link is replaced.
    (ws.root / "real").mkdir()
    (ws.root / "alias").symlink_to(ws.root / "real", target_is_directory=True)
    ws.write_json("alias/a.json", {"a": 1})
    (ws.root / "b.json").symlink_to(outside / "b.json")
    ws.write_json("b.json", {"b": 2})
    assert not (ws.root / "b.json").is_symlink() and list(outside.iterdir()) == []


def test_temporaries_of_a_killed_process_are_swept_by_the_next_lock_holder(tmp_path):
    """Was: kill -9 mid-write left `.NAME.tmp-PID` files for ever (counted in folder hashes)."""
    ws = W.Workspace(tmp_path / "ws").create()
    dead = _dead_pid()
    (ws.root / "output").mkdir()
    stale = [ws.root / "output" / f".shot.mp4.tmp-{dead}.mp4", ws.root / f".frames.old-{dead}"]
    stale[0].write_bytes(b"half")
    stale[1].mkdir()
    (stale[1] / "00000.png").write_bytes(b"x")
    alive = ws.root / f".caption.json.tmp-{os.getppid()}.json"  # a live process's: not ours to remove
    alive.write_text("{}")
    with ws.locked():
        assert not any(p.exists() for p in stale) and alive.exists()


def test_ffmpeg_left_running_by_a_killed_writer_writes_only_into_a_swept_folder(tmp_path, monkeypatch):
    """Was: kill -9 while a video encoded left an orphan ffmpeg that finished its file (+faststart reopens it by
    name) after the next run had swept the temporaries, so a `.shot.mp4.tmp-PID.mp4` came back for good.
    ffmpeg now writes into `<temporary>.ffmpeg/`, a name the sweep removes, and the file is moved out."""
    import imageio_ffmpeg

    ws = W.Workspace(tmp_path / "ws").create()
    (ws.root / "output").mkdir()
    dead = _dead_pid()
    orphan = ws.root / "output" / f".shot.mp4.tmp-{dead}.mp4.ffmpeg"
    orphan.mkdir()
    (orphan / "video.mp4").write_bytes(b"still being finished")
    with ws.locked():
        assert not orphan.exists()
    real, opened = imageio_ffmpeg.write_frames, []

    def write_frames(path, *args, **kwargs):
        opened.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", write_frames)
    with ws.atomic(W.OUTPUT_VIDEO) as tmp:
        write_video(tmp, _frames(), fps=8)
        assert opened == [str(tmp.with_name(tmp.name + ".ffmpeg") / "video.mp4")]  # ffmpeg's own folder
        left = sorted(p.name for p in tmp.parent.iterdir())
        assert left == [tmp.name]  # the folder is gone, the file moved onto the temporary
    assert faults.leftovers(ws.root) == [] and ws.exists(W.OUTPUT_VIDEO)


def _frames(n: int = 3):
    return [np.full((16, 16, 3), 40 * k, np.uint8) for k in range(n)]


def test_write_video_raises_when_ffmpeg_fails_and_the_old_artifact_stays(tmp_path):
    """Was: imageio-ffmpeg ignores ffmpeg's exit status, so a full disk gave a truncated mp4 that was renamed
    into place and trusted (and ffmpeg's log on stderr)."""
    with pytest.raises(OSError, match=r"ffmpeg could not write the video \(exit status [1-9]") as exc:
        write_video("/dev/full", _frames(), fps=8)
    assert "\n" not in str(exc.value)
    ws = W.Workspace(tmp_path / "ws").create()
    with ws.atomic(W.OUTPUT_VIDEO) as tmp:
        write_video(tmp, _frames(), fps=8)
    old = ws.path(W.OUTPUT_VIDEO).read_bytes()
    with pytest.raises(WorkspaceError, match="could not write") as exc:
        with ws.atomic(W.OUTPUT_VIDEO) as tmp:
            os.symlink("/dev/full", tmp)
            write_video(tmp, _frames(5), fps=8)
    assert "\n" not in str(exc.value)
    assert ws.path(W.OUTPUT_VIDEO).read_bytes() == old
    assert faults.leftovers(ws.root) == []


def test_an_io_error_at_commit_keeps_the_old_artifact(tmp_path, monkeypatch):
    ws = W.Workspace(tmp_path / "ws").create()
    ws.write_json(W.CAPTION, {"prompt": "old"})

    def eio(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", eio)
    with pytest.raises(WorkspaceError, match=r"could not write \(Input/output error\); left as it was"):
        ws.write_json(W.CAPTION, {"prompt": "new"})
    monkeypatch.undo()
    assert ws.read_json(W.CAPTION) == {"prompt": "old"} and faults.leftovers(ws.root) == []


def test_the_state_comparison_can_fail(tmp_path):
    """The faults script's own yardstick: a changed byte, a new file and a link are differences."""
    a = tmp_path / "a"
    a.mkdir()
    (a / "x.bin").write_bytes(b"1")
    s = faults.state(a)
    (a / "x.bin").write_bytes(b"2")
    (a / "y").symlink_to(tmp_path)
    assert faults.differences(s, faults.state(a)) == ["x.bin", "y"]
    shutil.rmtree(a)


@pytest.mark.slow
def test_faults_script_recovers_from_kills_inside_writes_hand_edits_and_links(capsys):
    """Part of `make faults` (~1 min): kill -9 inside one write of every stage (this found the lingering
    temporaries), the hand-edited trajectory and the links; the whole table is `make faults`."""
    code = faults.main(["--kills", "0", "--only", "kill,edit,links"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "kill -9 inside a write, then rerun" in out and "hand-edited trajectory.json" in out
