"""Stage and CLI `generate` on tiny workspaces written directly in tmp_path (cache, trajectory, guidance)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shotsmith import formats
from shotsmith import workspace as W
from shotsmith.backends.generate import Constraints, Generator
from shotsmith.backends.inpaint import InpaintGenerator
from shotsmith.errors import InputError, WorkspaceError
from shotsmith.media import read_video, write_image, write_video
from shotsmith.stage import execute
from shotsmith.stages import generate as stage


@pytest.fixture(scope="module")
def scene(two_plane_scene):
    return two_plane_scene(frames=9)


@pytest.fixture
def make_ws(tmp_path, scene):
    """Factory: a workspace holding the synthetic scene's cache, trajectory and guidance."""

    def make(name: str = "ws", guidance: bool = True, caption: str | None = None, scene=scene) -> W.Workspace:
        req = scene.request
        ws = W.Workspace(tmp_path / name).create()
        ws.path(W.CACHE_DIR).mkdir()
        np.save(ws.path(W.CACHE_DEPTH), req.source_depth.astype(np.float32))
        write_image(ws.path(W.CACHE_IMAGE), req.source_rgb)
        h, w = req.source_depth.shape
        info = {
            "schema_version": 1,
            "width": w,
            "height": h,
            "intrinsics": [float(x) for x in req.source_intrinsics],
            "world_from_camera": np.eye(4).tolist(),
        }
        ws.path(W.CACHE_JSON).write_text(json.dumps(info))
        formats.write_trajectory(ws.path(W.TRAJECTORY), req.cameras)
        if caption is not None:
            ws.path(W.CAPTION).write_text(json.dumps({"prompt": caption, "text": caption}))
        if guidance:
            ws.path(W.GUIDANCE_DIR).mkdir()
            fps = req.cameras.fps
            write_video(ws.path(W.GUIDANCE_RGB), req.guidance_rgb, fps)
            write_video(ws.path(W.GUIDANCE_MASK), req.guidance_mask.astype(np.uint8) * 255, fps)
            np.savez_compressed(
                ws.path(W.GUIDANCE_DEPTH), depth=req.guidance_depth.astype(np.float16), mask=req.guidance_mask
            )
        return ws

    return make


def test_writes_shot_with_planned_frames_and_size_then_skips(make_ws, scene):
    ws = make_ws(caption="a red square in front of a blue wall")
    rec = execute(ws, stage.STAGE, stage.Config(generator="inpaint"))
    assert rec.status == "ok" and rec.backend == "inpaint"
    video, fps = read_video(ws.path(W.OUTPUT_VIDEO))
    cams = scene.request.cameras
    assert video.shape == (len(cams), cams.height, cams.width, 3)
    assert fps == pytest.approx(cams.fps, rel=1e-3)
    assert rec.extra["prompt"] == "a red square in front of a blue wall"
    assert 0.0 < rec.extra["fill_fraction"] < 0.5
    assert rec.extra["temporal_instability"] is not None and rec.extra["temporal_instability"] < 5.0
    # holes are filled: no black pixels left where the guidance was empty
    holes = ~scene.request.guidance_mask
    assert (video[holes].max(axis=1) > 30).mean() > 0.99
    again = execute(ws, stage.STAGE, stage.Config(generator="inpaint"))
    assert again.extra.get("skipped") is True
    seeded = execute(ws, stage.STAGE, stage.Config(generator="inpaint", seed=1))
    assert not seeded.extra.get("skipped")


def test_the_shot_encoded_while_it_fills_is_the_one_filled_first(make_ws, monkeypatch):
    """The embedded inpaint hands each frame to the encoder as it is made: the same shot.mp4 as generating
    everything first and encoding after (frames near the source camera blended with the photo either way)."""
    streamed = make_ws("streamed")
    execute(streamed, stage.STAGE, stage.Config(generator="inpaint"))
    monkeypatch.setattr(InpaintGenerator, "streams_frames", False)
    whole = make_ws("whole")
    execute(whole, stage.STAGE, stage.Config(generator="inpaint"))
    a, _ = read_video(streamed.path(W.OUTPUT_VIDEO))
    b, _ = read_video(whole.path(W.OUTPUT_VIDEO))
    assert a.shape == b.shape and np.array_equal(a, b)


def test_a_fill_that_fails_midway_leaves_no_shot(make_ws, monkeypatch):
    ws = make_ws()
    before = sorted(p.relative_to(ws.root) for p in ws.root.rglob("*"))
    real = InpaintGenerator.generate

    def failing(self, request, on_frame=None):
        def hand(t, frame):
            if t == 3:
                raise OSError("disk gone")
            on_frame(t, frame)

        return real(self, request, on_frame=hand)

    monkeypatch.setattr(InpaintGenerator, "generate", failing)
    with pytest.raises(WorkspaceError, match="shot.mp4: could not write [(]disk gone[)]; left as it was"):
        execute(ws, stage.STAGE, stage.Config(generator="inpaint"))
    new = [p for p in ws.root.rglob("*") if p.relative_to(ws.root) not in before and p.name != "shot.json"]
    assert all(p.is_dir() for p in new), new  # no shot.mp4, no half-written temporary


def test_cli_generate(make_ws, cli):
    ws = make_ws()
    code, out, err = cli("generate", "-w", ws.root, "--generator", "inpaint")
    assert code == 0, err
    assert str(ws.path(W.OUTPUT_VIDEO)) == out.strip().splitlines()[-1]  # the output path, last, on stdout
    assert ws.stage_state("generate") == "done"


def test_missing_guidance_names_the_stage(make_ws, cli):
    ws = make_ws(guidance=False)
    with pytest.raises(WorkspaceError, match="render-guidance"):
        execute(ws, stage.STAGE, stage.Config(generator="inpaint"))
    code, _, err = cli("generate", "-w", ws.root)
    assert code == 1 and "render-guidance" in err
    assert not ws.exists(W.OUTPUT_VIDEO)


def test_unknown_generator_is_one_clear_error(make_ws, cli):
    ws = make_ws()
    code, _, err = cli("generate", "-w", ws.root, "--generator", "sora")
    assert code == 1 and "sora" in err and "inpaint" in err


class _FixedGen(Generator):
    """A stand-in neural backend: 5 frames at 64x48 only; returns the guidance colour."""

    name = "fixed-test"
    constraints = Constraints(frame_rule="fixed", frames=5, size=(64, 48))

    def generate(self, request):
        self.seen = request
        return request.guidance_rgb.copy()


def test_backend_constraints_resample_and_resize(make_ws, scene, monkeypatch):
    gen = _FixedGen()
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "test stand-in"))
    ws = make_ws()
    rec = execute(ws, stage.STAGE, stage.Config())
    cams = scene.request.cameras
    assert len(gen.seen.cameras) == 5 and gen.seen.guidance_rgb.shape == (5, 48, 64, 3)
    assert gen.seen.cameras.width == 64 and gen.seen.cameras.intrinsics[0, 0] == pytest.approx(
        cams.intrinsics[0, 0] * 64 / cams.width
    )
    video, fps = read_video(ws.path(W.OUTPUT_VIDEO))
    assert video.shape == (5, cams.height, cams.width, 3)  # back to the planned size
    assert fps == pytest.approx(cams.fps * 5 / len(cams), rel=1e-3)  # same duration
    assert len(rec.extra["notes"]) == 2 and rec.backend == "fixed-test"


def test_fit_frames_4k_plus_1_and_nearest_frames():
    assert Constraints(frame_rule="4k+1").fit_frames(81) == 81
    assert Constraints(frame_rule="4k+1").fit_frames(12) == 13
    idx = stage.nearest_frames(9, 5)
    assert idx.tolist() == [0, 2, 4, 6, 8]
    assert stage.fitted_size(Constraints(multiple_of=16), 840, 480) == (832, 480)


def test_bad_options_rejected():
    from shotsmith.errors import InputError

    with pytest.raises(InputError, match="strength"):
        stage.Config(strength=2.0).validate()
    with pytest.raises(InputError, match="steps"):
        stage.Config(steps=0).validate()


class _BlackGen(_FixedGen):
    """A stand-in that invents nothing right: black frames (5 at 64x48)."""

    name = "black-test"

    def generate(self, request):
        self.seen = request
        return np.zeros_like(request.guidance_rgb)


def test_frame_zero_is_the_photo_for_any_generator(make_ws, scene, monkeypatch):
    """The frame-0 promise sits in the stage, after the generator: even a generator that returns black frames
    (at another size and frame count) gives frame 0 = the photo, and its own frames once the camera has moved."""
    gen = _BlackGen()
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "test stand-in"))
    ws = make_ws()
    rec = execute(ws, stage.STAGE, stage.Config())
    video, _ = read_video(ws.path(W.OUTPUT_VIDEO))
    src = scene.request.source_rgb  # the shot has the photo's size: frame 0 is the photo itself
    err = np.abs(video[0].astype(float) - src.astype(float)).mean()
    assert err < 4.0, err  # H.264 only
    assert video[-1].max() < 20  # the last frame is the generator's (black)
    assert gen.seen.guidance_mask[0].all()  # the generator was shown the photo as frame 0
    assert rec.extra["source_view_frames"][0] >= 1


def test_strength_zero_and_unknown_offload_are_refused():
    with pytest.raises(InputError, match=r"\(0, 1\]"):
        stage.Config(strength=0.0).validate()
    with pytest.raises(InputError, match="text-cpu"):
        stage.Config(offload="half").validate()
    assert stage.Config(offload="group").backend_kwargs()["offload"] == "group"
    assert "offload" not in stage.Config().backend_kwargs()


# ---------------------------------------------------------------------------------------------------------------
# Long shots: chunks that grow the world cache (docs/WORLD.md)


@pytest.fixture(scope="module")
def long_scene(two_plane_scene):
    return two_plane_scene(frames=25, shift=0.8, pan_deg=12.0)


class _CopyGen(Generator):
    """A stand-in for any length: the guidance, its holes painted one flat colour; keeps every request."""

    name = "copy-test"

    def __init__(self):
        self.requests, self.outputs = [], []

    def generate(self, request):
        self.requests.append(request)
        out = request.guidance_rgb.copy()
        out[~request.guidance_mask] = (40, 200, 90)
        self.outputs.append(out)
        return out


def _steps(video: np.ndarray) -> np.ndarray:
    """Mean absolute change from each frame to the next (T - 1,)."""
    return np.abs(np.diff(video.astype(np.float32), axis=0)).mean(axis=(1, 2, 3))


def assert_seams_continuous(video: np.ndarray, chunks: list[dict]) -> None:
    """At each seam the picture moves about as much as it does inside the chunks. The camera moves smoothly, so
    the mean change from one frame to the next is about the same all along; a seam may change up to 3 x the
    median step (+2 levels of H.264 noise): a cut or a jump of colour changes far more, a repeated frame (a step
    under 0.2 x the median) far less."""
    steps = _steps(video)
    seams = [c["own_from"] - 1 for c in chunks[1:]]
    inner = np.delete(steps, seams)
    for k in seams:
        assert 0.2 * np.median(inner) < steps[k] < 3.0 * np.median(inner) + 2.0, (
            k,
            steps[k],
            np.median(inner),
        )


def test_long_shot_in_chunks_has_every_frame_once_and_grows_the_world(make_ws, long_scene, monkeypatch):
    gen = _CopyGen()
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "test stand-in"))
    ws = make_ws("long", scene=long_scene)
    rec = execute(ws, stage.STAGE, stage.Config(chunk=9, source_fade=0))
    video, _ = read_video(ws.path(W.OUTPUT_VIDEO))
    cams = long_scene.request.cameras
    assert video.shape == (25, cams.height, cams.width, 3)  # every planned frame, none resampled
    assert [(c["start"], c["own_from"], c["stop"]) for c in rec.extra["chunks"]] == [
        (0, 0, 9),
        (8, 9, 17),
        (16, 17, 25),
    ]
    assert [len(r.cameras) for r in gen.requests] == [9, 9, 9]
    for k in (1, 2):  # each chunk continues from the frame made before it: shown to it, marked covered
        first = gen.requests[k]
        assert first.guidance_mask[0].all()
        assert np.array_equal(first.guidance_rgb[0], gen.outputs[k - 1][-1])
        assert np.allclose(first.cameras.world_from_camera, cams.world_from_camera[8 * k : 8 * k + 9])
    # the world grew from the generated frames, and later chunks see it where the source cache had holes
    assert rec.extra["world_points"] > 100
    assert rec.extra["cache_points_after"] > rec.extra["cache_points_before"]
    base_holes = (~long_scene.request.guidance_mask[17:25]).sum()
    assert (~gen.requests[2].guidance_mask[1:]).sum() < 0.8 * base_holes
    assert_seams_continuous(video, rec.extra["chunks"])
    assert ws.exists(W.output_chunk(2)) and not ws.exists(W.output_chunk(3))


class _Interrupted(Exception):
    pass


class _Counting(_CopyGen):
    """The copy stand-in, counting its calls; raises at call `fail_at` (an interruption mid-shot)."""

    name = "counting-test"

    def __init__(self, fail_at: int | None = None):
        super().__init__()
        self.calls, self.fail_at = 0, fail_at

    def generate(self, request):
        self.calls += 1
        if self.calls == self.fail_at:
            raise _Interrupted("interrupted")
        return super().generate(request)


def test_chunks_resume_after_an_interruption_and_rerun_only_what_the_path_changes(
    make_ws, long_scene, monkeypatch
):
    def use(gen):
        monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "test stand-in"))
        return gen

    cfg = stage.Config(chunk=9)
    ws = make_ws("resume", scene=long_scene)
    gen = use(_Counting(fail_at=3))
    with pytest.raises(_Interrupted):
        execute(ws, stage.STAGE, cfg)
    assert ws.exists(W.output_chunk(1)) and not ws.exists(W.output_chunk(2))
    assert not ws.exists(W.OUTPUT_VIDEO)
    gen = use(_Counting())
    rec = execute(ws, stage.STAGE, cfg)
    assert gen.calls == 1 and rec.extra["chunks_reused"] == 2  # resumed at the first missing chunk
    resumed, _ = read_video(ws.path(W.OUTPUT_VIDEO))
    fresh_ws = make_ws("fresh", scene=long_scene)
    use(_Counting())
    execute(fresh_ws, stage.STAGE, cfg)
    fresh, _ = read_video(fresh_ws.path(W.OUTPUT_VIDEO))
    assert np.array_equal(resumed, fresh)  # resuming gives the shot an uninterrupted run gives

    # a change to the path's last frames reruns the last chunk only; one at its start reruns them all
    cams = long_scene.request.cameras.copy()
    cams.world_from_camera[22:, 0, 3] += 0.02
    formats.write_trajectory(ws.path(W.TRAJECTORY), cams)
    gen = use(_Counting())
    rec = execute(ws, stage.STAGE, cfg)
    assert gen.calls == 1 and rec.extra["chunks_reused"] == 2
    cams.world_from_camera[8, 0, 3] += 0.02  # in chunk 0, and the frame chunk 1 continues from
    formats.write_trajectory(ws.path(W.TRAJECTORY), cams)
    gen = use(_Counting())
    rec = execute(ws, stage.STAGE, cfg)
    assert gen.calls == 3 and rec.extra["chunks_reused"] == 0


def test_the_embedded_inpaint_joins_the_chunks_its_fills_become_cache_points(make_ws, long_scene):
    ws = make_ws("inpaint-long", scene=long_scene)
    rec = execute(ws, stage.STAGE, stage.Config(generator="inpaint", chunk=9))
    video, _ = read_video(ws.path(W.OUTPUT_VIDEO))
    assert len(video) == 25 and rec.extra["world_points"] > 100
    later = [c for c in rec.extra["chunks"] if c["index"] > 0]
    assert all(
        c["fill_fraction"] < 0.9 * f for c, f in zip(later, _base_fill(long_scene, later), strict=True)
    )
    assert_seams_continuous(video, rec.extra["chunks"])


def _base_fill(scene, chunks):
    """Hole fraction of the source cache's own guidance over each chunk's frames."""
    m = scene.request.guidance_mask
    return [float((~m[c["start"] : c["stop"]]).mean()) for c in chunks]


def test_a_shot_that_fits_is_made_in_one_go(make_ws, monkeypatch):
    ws = make_ws("one")
    rec = execute(ws, stage.STAGE, stage.Config(generator="inpaint"))
    assert "chunks" not in rec.extra and not ws.exists(W.OUTPUT_CHUNKS)
    gen = _CopyGen()
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "test stand-in"))
    rec = execute(ws, stage.STAGE, stage.Config(chunk=9))  # 9 frames: one chunk of 9
    assert len(gen.requests) == 1 and "chunks" not in rec.extra


def test_bad_chunk_options_are_refused(make_ws, long_scene, monkeypatch):
    with pytest.raises(InputError, match="--chunk 1"):
        stage.Config(chunk=1).validate()
    with pytest.raises(InputError, match="--chunk-overlap 9"):
        stage.Config(chunk=9, chunk_overlap=9).validate()
    with pytest.raises(InputError, match="--lift-every"):
        stage.Config(lift_every=0).validate()
    gen = _FixedGen()  # exactly 5 frames per chunk
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "test stand-in"))
    ws = make_ws("bad-chunk", scene=long_scene)
    with pytest.raises(InputError, match="use --chunk 5"):
        execute(ws, stage.STAGE, stage.Config(chunk=9))
    assert not ws.exists(W.OUTPUT_VIDEO) and not ws.exists(W.OUTPUT_CHUNKS)


def _run_chunked(cli, tmp_path, monkeypatch, gen, frames: int, chunk: int):
    from shotsmith.media import write_image as write_photo

    rng = np.random.default_rng(3)
    img = np.clip(rng.normal(120, 40, (96, 128, 3)), 0, 255).astype(np.uint8)
    img[40:80, 40:90] = [230, 60, 40]
    write_photo(tmp_path / "photo.png", img)
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "tiny test model"))
    ws = tmp_path / "ws"
    code, _, err = cli(
        "run", "a red box on a wall", "--image", tmp_path / "photo.png", "-w", ws, "--cam", "orbit_left",
        "--frames", str(frames), "--chunk", str(chunk), "--size", "64x48", "--depth", "prior",
        "--generator", "wan",
    )  # fmt: skip
    assert code == 0, err
    return W.Workspace(ws)


def _check_chunked_run(ws: W.Workspace, frames: int, chunks: int) -> None:
    video, _ = read_video(ws.path(W.OUTPUT_VIDEO))
    assert video.shape == (frames, 48, 64, 3)  # not squeezed into the generator's length
    extra = ws.record("generate").extra
    assert len(extra["chunks"]) == chunks
    own = np.concatenate([np.arange(c["own_from"], c["stop"]) for c in extra["chunks"]])
    assert np.array_equal(own, np.arange(frames))  # no repeated or dropped frame
    assert extra["cache_points_after"] > extra["cache_points_before"]
    assert_seams_continuous(video, extra["chunks"])


@pytest.mark.slow
@pytest.mark.neural
def test_run_with_a_video_model_makes_every_frame_in_chunks(cli, tmp_path, monkeypatch, tiny_video_generator):
    gen = tiny_video_generator("wan", True, steps=2)
    ws = _run_chunked(cli, tmp_path, monkeypatch, gen, frames=17, chunk=9)
    _check_chunked_run(ws, 17, 3)  # overlap 5: chunks start at 0, 4, 8


@pytest.mark.slow
@pytest.mark.neural
def test_run_161_frames_in_chunks_of_41(cli, tmp_path, monkeypatch, tiny_video_generator):
    """The issue's check: `run --frames 161 --chunk 41` with a video model makes 161 frames, in 5 chunks."""
    gen = tiny_video_generator("wan", True, steps=2)
    ws = _run_chunked(cli, tmp_path, monkeypatch, gen, frames=161, chunk=41)
    _check_chunked_run(ws, 161, 5)  # overlap 5: chunks start at 0, 36, 72, 108, 120


@pytest.mark.slow
@pytest.mark.neural
def test_a_video_model_continues_each_chunk_from_the_last(
    make_ws, long_scene, monkeypatch, tiny_video_generator
):
    gen = tiny_video_generator("wan", True, steps=2)
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "tiny test model"))
    ws = make_ws("wan-long", scene=long_scene)
    rec = execute(ws, stage.STAGE, stage.Config(chunk=9, source_fade=0))
    video, _ = read_video(ws.path(W.OUTPUT_VIDEO))
    assert len(video) == 25 and rec.extra["chunk_overlap"] == 5  # one latent group tied past frame 0
    assert [c["start"] for c in rec.extra["chunks"]] == [0, 4, 8, 12, 16]
    assert rec.extra["cache_points_after"] > rec.extra["cache_points_before"]
    assert_seams_continuous(video, rec.extra["chunks"])


def test_run_chunks_a_plan_longer_than_the_generator_and_fits_a_shorter_one(monkeypatch):
    from shotsmith import pipeline
    from shotsmith.stages import plan_trajectory as plan_stage

    gen = _FixedGen()  # 5 frames at 64x48
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "test stand-in"))
    long_plan = plan_stage.Config(cam="orbit_left", frames=25)
    chunked = pipeline.chunk_for_generator(long_plan, stage.Config())
    assert chunked.chunk == 5  # the generator's native length
    fitted = pipeline.fit_plan_to_generator(long_plan, chunked)
    assert fitted.frames == 25 and fitted.size == (64, 48)  # not squeezed into 5 frames; the size still fits
    assert pipeline.chunk_for_generator(long_plan, stage.Config(), rig="ring:n=2").chunk is None
    short = plan_stage.Config(cam="orbit_left", frames=3)
    assert pipeline.chunk_for_generator(short, stage.Config()).chunk is None
    assert pipeline.fit_plan_to_generator(short, stage.Config()).frames == 5  # fitted as before


def test_a_damaged_chunk_file_is_made_again(make_ws, long_scene, monkeypatch):
    gen = _Counting()
    monkeypatch.setattr(stage, "resolve_generator", lambda name, **kw: (gen, "test stand-in"))
    ws = make_ws("damaged", scene=long_scene)
    execute(ws, stage.STAGE, stage.Config(chunk=9))
    first, _ = read_video(ws.path(W.OUTPUT_VIDEO))
    ws.path(W.output_chunk(1)).write_bytes(b"not a zip")
    gen.calls = 0
    rec = execute(ws, stage.STAGE, stage.Config(chunk=9))
    # chunk 1 is made again; it comes out the same, so chunk 2 (same start) is read back
    assert gen.calls == 1 and rec.extra["chunks_reused"] == 2
    again, _ = read_video(ws.path(W.OUTPUT_VIDEO))
    assert np.array_equal(first, again)
