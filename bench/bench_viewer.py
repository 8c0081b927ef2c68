"""Viewer benchmark (issue 15): server start, scene build for a 1M-point cache, preview fps, Save round trip.

A 1200x860 photo (1.03 M cache points with the prior) in a fresh workspace; then, in this process:
- server start: `viewer.server.start` (viser server + scene + panel) until it serves HTTP;
- scene build: reading the 1M-point cache into a session (PLY read + subsample to 200k) and drawing the scene;
- preview: frames of the 81-frame 832x480 path through the project's renderer (`ViewerSession.preview`), cold
  (each frame rendered) and as played (the play loop's real-time frame rate); target >= 10 fps on 2 cores;
- Save round trip: three keyframes saved through plan-trajectory (path file + stage + record), in process, and,
  when /usr/bin/chromium exists, from a click on Save in a real page until trajectory.json changed.
Run: .venv/bin/python bench/bench_viewer.py
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

os.environ.setdefault("SHOTSMITH_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TARGET_PREVIEW_FPS = 10.0
#: Issue 19: the preview keeps at least this frame rate while the renderer gets faster.
TARGET_PREVIEW_FPS_19 = 15.0
#: Frames the page draws in 2 s (requestAnimationFrame), per second.
FPS_JS = (
    "new Promise(r=>{let n=0,t=performance.now();function f(){n++;if(performance.now()-t<2000)"
    "requestAnimationFrame(f);else r(n/2)};requestAnimationFrame(f)})"
)


def _photo(path: Path, width: int = 1200, height: int = 860) -> None:
    import cv2
    from PIL import Image
    from skimage import data

    img = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    Image.fromarray(img).save(path, quality=92)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _browser_save(viewer, ws) -> dict:
    """Page load to connected, then a click on Save until trajectory.json changed (seconds)."""
    from playwright.sync_api import sync_playwright

    from shotsmith import workspace as W

    out = {}
    with sync_playwright() as p:
        t0 = time.perf_counter()
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        out["browser_launch_s"] = time.perf_counter() - t0
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        t0 = time.perf_counter()
        page.goto(viewer.url)
        while not viewer.server.get_clients():
            time.sleep(0.02)
        out["page_connected_s"] = time.perf_counter() - t0
        page.get_by_text("Camera words").wait_for(timeout=60_000)
        time.sleep(2.0)
        out["page_fps"] = page.evaluate(FPS_JS)
        calls = []
        app = viewer.app
        app.save_btn.on_click(lambda e: calls.append(time.perf_counter()))
        viewer.session.set_shot(frames=49)  # an unsaved edit for the click to write
        before = W.hash_file(ws.path(W.TRAJECTORY))
        t0 = time.perf_counter()
        page.get_by_role("button", name="Save", exact=True).click()
        while viewer.session.unsaved or W.hash_file(ws.path(W.TRAJECTORY)) == before:
            time.sleep(0.005)
        out["browser_save_round_trip_s"] = time.perf_counter() - t0
        out["browser_click_to_callback_s"] = calls[0] - t0 if calls else float("nan")
        browser.close()
    return out


def main() -> int:
    from shotsmith import workspace as W
    from shotsmith.camera import look_at
    from shotsmith.stage import execute
    from shotsmith.stages.build_cache import STAGE, Config
    from shotsmith.viewer.server import start
    from shotsmith.viewer.session import ViewerSession

    rows: dict[str, float | int | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.jpg"
        _photo(photo)
        ws = W.Workspace(Path(tmp) / "ws")
        t0 = time.perf_counter()
        execute(ws, STAGE, Config(image=str(photo), depth="prior"))
        rows["cache_build_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        session = ViewerSession(ws)
        rows["session_load_1M_s"] = time.perf_counter() - t0
        rows["cache_points"] = session.cache.total
        rows["points_sent"] = len(session.cache.points)

        t0 = time.perf_counter()
        viewer = start(ws, port=_free_port())
        rows["server_start_s"] = time.perf_counter() - t0  # includes a second session load and the scene
        with urllib.request.urlopen(viewer.url, timeout=10) as r:
            r.read()
        rows["server_start_to_http_s"] = time.perf_counter() - t0
        try:
            app, s = viewer.app, viewer.session
            t0 = time.perf_counter()
            app._cloud_key = None  # force the cloud to be sent again
            app.redraw(force=True)
            rows["scene_redraw_1M_s"] = time.perf_counter() - t0

            # Preview: 81 frames at 832x480 through the renderer (the scene: 1M points).
            s.set_preset("orbit_left")
            cam = s.path()
            s.preview(0, cam)  # load the scene, compile
            n, times = 20, []

            def cold() -> (
                None
            ):  # in a worker thread, as viser runs the callbacks (numba's main thread is slower)
                for k in range(1, 80, 80 // n):
                    t0 = time.perf_counter()
                    s.preview(k, cam)
                    times.append(time.perf_counter() - t0)

            worker = threading.Thread(target=cold)
            worker.start()
            worker.join()
            per_frame = float(np.median(times))  # the median: other processes share these cores
            rows["preview_render_ms_min"] = min(times) * 1000
            rows["preview_render_ms"] = per_frame * 1000
            rows["preview_cold_fps"] = 1.0 / per_frame
            # Prefetch renders every frame ahead; then Play shows them in real time from memory.
            t0 = time.perf_counter()
            s.prefetch(0).join()
            rows["prefetch_81_frames_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for k in range(len(cam)):
                app._show_frame(k)  # a held frame: encode and send to the panel
            rows["preview_held_fps"] = len(cam) / (time.perf_counter() - t0)
            app.frame = 0
            app._toggle_play()
            while app.playing:
                time.sleep(0.05)
            rows["play_fps"] = app.preview_fps
            rows["path_fps"] = cam.fps

            # Save round trip (in process): three keyframes -> path file -> plan-trajectory -> record.
            for eye in ([0, 0, 0], [0.2, -0.05, 0.1], [-0.2, -0.1, 0.3]):
                s.add_keyframe(look_at(eye, [0, 0, 1.0]))
            t0 = time.perf_counter()
            s.save()
            rows["save_round_trip_s"] = time.perf_counter() - t0
            if Path("/usr/bin/chromium").exists():
                rows.update(_browser_save(viewer, ws))
            else:
                rows["browser"] = "skipped: no /usr/bin/chromium (apt-get install -y chromium)"
        finally:
            viewer.stop()

    width = max(len(k) for k in rows)
    for key, value in rows.items():
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {text}")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows.items()}))
    load = os.getloadavg()[0]
    cold_ok = float(rows["preview_cold_fps"]) >= TARGET_PREVIEW_FPS
    play_ok = float(rows["play_fps"]) >= TARGET_PREVIEW_FPS
    print(
        f"preview at 832x480, 1M points, load {load:.1f} on {os.cpu_count()} cores: "
        f"rendered {rows['preview_cold_fps']:.1f} fps ({'ok' if cold_ok else 'below'} {TARGET_PREVIEW_FPS:g}), "
        f"played {rows['play_fps']:.1f} fps ({'ok' if play_ok else 'BELOW TARGET'})"
    )
    fps = float(rows["preview_cold_fps"])
    verdict = "met" if fps >= TARGET_PREVIEW_FPS_19 else "missed"
    print(f"target (issue 19): preview >= {TARGET_PREVIEW_FPS_19:g} fps (rendered): {fps:.1f} fps  {verdict}")
    return 0 if play_ok else 1


if __name__ == "__main__":
    sys.exit(main())
