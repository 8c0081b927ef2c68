"""The viewer in a real browser: Playwright for Python driving Debian's chromium (WebGL in software).

They open the page, wait for the connection, change a preset, add keyframes and move one with the gizmo, click
Save and check trajectory.json; two tabs on one workspace; a broken trajectory.json named in the page; and the
whole way of a new user: `shotsmith view photo.png`, three keyframes, Save, `shotsmith run` renders that path.
Screenshots are checked to show a drawn scene. Without chromium (apt-get install -y chromium) they are skipped
with that reason; everything else missing is a failure.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shotsmith import workspace as W
from shotsmith.formats import read_trajectory
from shotsmith.viewer import keyframes as K
from test_viewer import cached_template, free_port, make_photo, read_url, ws  # noqa: F401 - fixtures

CHROMIUM = Path("/usr/bin/chromium")
SRC = Path(__file__).resolve().parents[1] / "src"
VIEWPORT = {"width": 1400, "height": 900}

if not CHROMIUM.exists():
    pytest.skip(
        "chromium is not installed: the browser tests need `apt-get update && apt-get install -y chromium`",
        allow_module_level=True,
    )

from playwright.sync_api import sync_playwright  # noqa: E402 - a dev dependency (make install)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if bool(value) if isinstance(value, bool | np.bool_) else value is not None:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def open_tab(browser, url: str, viewer=None):
    page = browser.new_page(viewport=VIEWPORT)
    before = len(viewer.server.get_clients()) if viewer is not None else 0
    page.goto(url)
    if viewer is not None:
        wait_for(lambda: len(viewer.server.get_clients()) > before, what="the websocket connection")
    page.get_by_text("Camera words").wait_for(timeout=30_000)
    return page


def row_input(page, label: str):
    """The (last) input of the panel row labelled `label` (a slider's number box, a text or number field)."""
    return page.locator(
        f"xpath=//label[normalize-space(text())='{label}']/ancestor::div[contains(@class,'mantine-Flex-root')][1]"
        "//input"
    ).last


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def set_number(page, label: str, value, reached=None) -> None:
    """Type `value` into the row's number box; with `reached` (a predicate), wait until the server has it,
    typing it once more if the page was still applying an update of its own (a slider's new range...)."""
    box = row_input(page, label)
    for attempt in range(2):
        box.fill(str(value))
        box.press("Enter")
        if reached is None:
            return
        try:
            wait_for(reached, 10.0 if attempt == 0 else 20.0, f"{label} = {value} to reach the session")
            return
        except AssertionError:
            if attempt:
                raise


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def scene_pixels(png: bytes, panel_from: int = 1000) -> np.ndarray:
    """The 3D view's part of a screenshot (the panel is on the right)."""
    import io

    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return img[60:, :panel_from]


def drawn(png: bytes) -> str:
    """ "" when the 3D view shows a scene (the photo's cloud, the path), else what is wrong."""
    px = scene_pixels(png).reshape(-1, 3).astype(int)
    not_background = np.abs(px - px[0]).sum(axis=1) > 30
    if not_background.mean() < 0.03:
        return f"the 3D view looks blank ({100 * not_background.mean():.1f}% drawn)"
    if len(np.unique(px[not_background] // 16, axis=0)) < 50:
        return "the 3D view has almost no colours"
    return ""


def assert_drawn(page, path=None, timeout: float = 30.0) -> None:
    """Wait until a screenshot of the page shows the scene (software WebGL takes a few seconds to start). With
    SHOTSMITH_SCREENSHOTS=DIR the screenshot is also kept there under `path`'s name."""
    keep = os.environ.get("SHOTSMITH_SCREENSHOTS")
    if keep and path is not None:
        Path(keep).mkdir(parents=True, exist_ok=True)
        path = Path(keep) / Path(path).name
    end, why = time.time() + timeout, ""
    while time.time() < end:
        png = page.screenshot(path=None if path is None else str(path))
        why = drawn(png)
        if not why:
            return
        time.sleep(0.5)
    raise AssertionError(why)


def project(client, point) -> tuple[float, float]:
    """Screen position (CSS pixels) of a world point in a tab, from the camera the tab reports."""
    from shotsmith.viewer.app import matrix_from_wxyz

    cam = client.camera
    rot = matrix_from_wxyz(cam.wxyz)
    x = rot.T @ (np.asarray(point, float) - np.asarray(cam.position, float))
    w, h = VIEWPORT["width"], VIEWPORT["height"]  # CSS pixels (the tab may render at a lower resolution)
    f = 0.5 * h / np.tan(cam.fov / 2)
    return w / 2 + f * x[0] / x[2], h / 2 + f * x[1] / x[2]


def point_camera(client, eye, target) -> None:
    with client.atomic():
        client.camera.position = tuple(float(v) for v in eye)
        client.camera.look_at = tuple(float(v) for v in target)
        client.camera.up_direction = (0.0, -1.0, 0.0)


def settle(client, target, timeout: float = 20.0) -> None:
    """Wait until the tab reports a camera that looks at `target` (its camera controls move smoothly, slowly in
    software WebGL)."""
    centre = np.array([VIEWPORT["width"] / 2, VIEWPORT["height"] / 2])
    wait_for(
        lambda: np.abs(np.array(project(client, target)) - centre).max() < 1.5,
        timeout,
        "the camera to settle",
    )
    time.sleep(0.3)


def drag(page, a, b, steps: int = 12) -> None:
    page.mouse.move(*a)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)
        time.sleep(0.03)
    page.mouse.up()


@pytest.fixture
def viewer(ws):  # noqa: F811 - the fixture of test_viewer
    from shotsmith.viewer.server import start

    v = start(ws, port=free_port())
    yield v
    v.stop()


def test_preset_keyframes_gizmo_save_in_the_browser(browser, viewer, ws, tmp_path):  # noqa: F811
    s = viewer.session
    page = open_tab(browser, viewer.url, viewer)
    client = next(iter(viewer.server.get_clients().values()))
    assert_drawn(page)

    choose(page, "Preset", "pan_left")
    wait_for(lambda: s.draft.preset == "pan_left", what="the preset to reach the session")
    # The amount slider takes the preset's range and default (degrees, 20) before it is typed into.
    wait_for(lambda: row_input(page, "Amount").input_value() == "20", what="the preset's default amount")
    set_number(page, "Amount", 30, reached=lambda: s.draft.amount == 30)
    set_number(page, "Frames", 17, reached=lambda: s.draft.frames == 17)
    assert (s.draft.preset, s.draft.amount, s.draft.frames) == ("pan_left", 30.0, 17)

    # Three keyframes from three views of the tab (the server points the tab's camera, the button reads it).
    views = [
        ((0.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
        ((0.25, -0.05, 0.1), (0.0, 0.0, 1.0)),
        ((-0.2, -0.1, 0.35), (0, 0, 1)),
    ]
    for eye, target in views:
        point_camera(client, eye, target)
        time.sleep(0.3)
        n = len(s.draft.keyframes)
        click(page, "Add keyframe (current view)")
        wait_for(lambda n=n: len(s.draft.keyframes) == n + 1, what="a new keyframe")
    for key, (eye, _) in zip(sorted(s.draft.keyframes, key=lambda k: k.time), views, strict=True):
        np.testing.assert_allclose(key.position, eye, atol=1e-6)

    # Move the middle keyframe with the gizmo: drag its x arrow to the right.
    middle = sorted(s.draft.keyframes, key=lambda k: k.time)[1]
    choose(page, "Keyframe", f"key {middle.id} (t=0.50)")
    wait_for(lambda: viewer.app._gizmo_key == middle.id, what="the gizmo on the middle keyframe")
    before = s.keyframe(middle.id).position
    point_camera(client, before + [0.0, -0.3, -0.8], before)
    settle(client, before)
    axis = s.keyframe(middle.id).rotation[:, 0]
    drag(page, project(client, before + 0.125 * axis), project(client, before + 0.3 * axis))
    moved = wait_for(
        lambda: p if (p := s.keyframe(middle.id).position)[0] - before[0] > 0.02 else None,
        what="the gizmo to move the keyframe",
    )
    shift = moved - before
    assert np.linalg.norm(np.cross(shift, axis)) < 1e-3 * max(
        1.0, np.linalg.norm(shift)
    )  # along its own x axis

    click(page, "Save")
    wait_for(lambda: not s.unsaved and ws.exists(W.TRAJECTORY), what="Save")
    cam = read_trajectory(ws.path(W.TRAJECTORY))
    assert len(cam) == 17 and cam.fps == 16
    np.testing.assert_allclose(cam.centers[8], s.keyframe(middle.id).position, atol=1e-9)
    np.testing.assert_allclose(cam.centers[0], views[0][0], atol=1e-9)
    np.testing.assert_allclose(cam.centers[16], views[2][0], atol=1e-9)
    assert len(cam.meta[K.META_KEY]) == 3
    rec = json.loads(ws.path(W.SHOT).read_text())["stages"]["plan-trajectory"]
    assert rec["status"] == "ok" and rec["options"]["trajectory"].endswith("input/viewer_path.json")
    page.get_by_text("(saved)").wait_for(timeout=10_000)
    assert_drawn(page, tmp_path / "viewer.png")
    page.close()


def test_two_tabs_share_the_state_and_a_broken_trajectory_is_named(browser, ws, capfd):  # noqa: F811
    from shotsmith.viewer.server import start

    ws.path(W.TRAJECTORY).write_text('{"frames": [ broken')
    viewer = start(ws, port=free_port())
    try:
        a = open_tab(browser, viewer.url, viewer)
        b = open_tab(browser, viewer.url, viewer)
        for page in (a, b):
            page.get_by_text(re.compile("trajectory.json is broken: .*trajectory.json: line 1")).wait_for(
                timeout=10_000
            )
        err = capfd.readouterr().err
        assert sum("trajectory.json is broken" in line for line in err.splitlines()) == 1  # one console line
        choose(a, "Preset", "pan_right")
        wait_for(
            lambda: b.get_by_label("Preset", exact=True).input_value() == "pan_right", what="tab b to follow"
        )
        set_number(b, "Frames", 9, reached=lambda: viewer.session.draft.frames == 9)
        wait_for(lambda: row_input(a, "Frames").input_value() == "9", what="tab a to follow")
        click(b, "Save")
        wait_for(lambda: a.get_by_text("trajectory.json is broken").count() == 0, what="the error to clear")
        cam = read_trajectory(ws.path(W.TRAJECTORY))
        assert len(cam) == 9 and cam.meta["preset"] == "pan_right"
    finally:
        viewer.stop()


def test_new_user_view_photo_three_keyframes_save_then_run_renders_that_path(browser, tmp_path, cli):
    """`shotsmith view photo.png`, open the printed URL, make a path of three keyframes, Save; then
    `shotsmith run` renders exactly that path."""
    from shotsmith import artifacts as A
    from shotsmith.stages.render_guidance import Config, load_scene, render_camera

    photo = make_photo(tmp_path / "photo.png")
    shot = W.Workspace(tmp_path / "shot")
    env = dict(os.environ, PYTHONPATH=str(SRC), SHOTSMITH_QUIET="1")
    cmd = [sys.executable, "-m", "shotsmith", "view", str(photo), "-w", str(shot.root), "--depth", "prior"]
    proc = subprocess.Popen([*cmd, "--port", str(free_port())], stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = read_url(proc)
        assert url.startswith("http://127.0.0.1:"), url
        page = open_tab(browser, url)
        page.get_by_text(re.compile(r"cache points shown")).wait_for(timeout=20_000)
        set_number(page, "Frames", 9)
        page.get_by_text(re.compile(r"9 frames at 16 fps")).wait_for(timeout=10_000)
        # Three views: as it opens, then orbited by dragging the 3D view, twice.
        for i in range(3):
            if i:
                drag(page, (500, 450), (500 + 120 * (1 if i == 1 else -2), 420))
                time.sleep(0.5)
            click(page, "Add keyframe (current view)")
            page.get_by_text(f"{i + 1} keyframes,").wait_for(timeout=10_000)
        click(page, "Save")
        page.get_by_text(re.compile(r"3 keyframes, 9 frames .*\(saved\)")).wait_for(timeout=20_000)
        assert_drawn(page, tmp_path / "new_user.png")
        page.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()

    planned = read_trajectory(shot.path(W.TRAJECTORY))
    keys = planned.meta[K.META_KEY]
    assert len(planned) == 9 and len(keys) == 3
    assert np.ptp(planned.centers, axis=0).max() > 0.05  # the orbiting moved the keyframes apart
    plan_hash = W.hash_file(shot.path(W.TRAJECTORY))
    code, out, err = cli("run", "-w", shot.root, "--generator", "inpaint")  # the new user's next command
    assert code == 0, err
    assert "plan-trajectory: unchanged, skipping" in err and W.hash_file(shot.path(W.TRAJECTORY)) == plan_hash
    # The guidance is exactly the renderer's view of the saved path.
    depth = A.read_guidance_depth(shot)
    video, _ = render_camera(load_scene(shot), planned, Config())
    assert depth.shape == video.depth.shape
    np.testing.assert_allclose(depth, np.minimum(video.depth, A.FLOAT16_MAX), rtol=2e-3, atol=1e-3)
    assert out.strip().splitlines()[-1] == str(shot.path(W.OUTPUT_VIDEO))


def test_trajectory_html_draws_offline(browser, tmp_path):
    """trajectory.html opens from a file, with nothing else, and draws the path and the cloud."""
    from shotsmith.presets import path_from_spec
    from shotsmith.viewer.static import write_trajectory_html

    cam = path_from_spec("orbit_left+dolly_in", frames=33)
    v, u = np.mgrid[0:120:1.0, 0:208:1.0]
    z = 1.0 + 0.4 * v / 120
    pts = np.stack([(u - 104) / 180 * z, (v - 60) / 180 * z, z], -1).reshape(-1, 3)
    cols = np.stack([u / 208 * 255, v / 120 * 255, np.full_like(u, 90)], -1).reshape(-1, 3).astype(np.uint8)
    html = write_trajectory_html(tmp_path / "trajectory.html", cam, pts, cols)
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    page = context.new_page()
    page.goto(html.as_uri())
    page.get_by_text("33 frames, 16 fps").wait_for(timeout=10_000)
    assert_drawn(page, tmp_path / "trajectory_html.png")
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("document.getElementById('fk').textContent.startsWith('frame 5')", timeout=10_000)
    context.close()
