"""The `wan` and `cogvideox` generators: guidance math, option handling, and tiny real pipelines on CPU.

Every component is built in code from a seeded random initialisation (tokenizer from an in-code vocabulary;
the `tiny_video_generator` / `tiny_video_components` fixtures, helpers.py), so nothing touches a network. The
neural tests run the real backend for 2 steps at 9 frames of 32x64.
"""

from __future__ import annotations

import numpy as np
import pytest

from shotsmith.backends import _diffusion_guidance as dg
from shotsmith.backends.generate import Constraints, GenerateRequest, get_generator, names
from shotsmith.camera import CameraPath
from shotsmith.errors import BackendUnavailable, InputError

FRAMES, HEIGHT, WIDTH = 9, 32, 64


# -- pure guidance math ------------------------------------------------------------------------------------
class TestLatentFrameGroups:
    def test_causal_groups(self):
        groups = dg.latent_frame_groups(9, 4)
        assert [(g.start, g.stop) for g in groups] == [(0, 1), (1, 5), (5, 9)]
        assert len(dg.latent_frame_groups(81, 4)) == 21
        assert len(dg.latent_frame_groups(49, 4)) == 13

    def test_rejects_wrong_count(self):
        with pytest.raises(InputError, match="4k\\+1"):
            dg.latent_frame_groups(10, 4)


class TestLatentMask:
    def test_shape_and_left_half(self):
        mask = np.zeros((FRAMES, HEIGHT, WIDTH), bool)
        mask[:, :, : WIDTH // 2] = True
        lat = dg.latent_mask(mask, 4, 8)
        assert lat.shape == (3, 4, 8) and lat.dtype == np.float32
        assert lat[:, :, :4].min() == 1 and lat[:, :, 4:].max() == 0

    def test_conservative_partial_cells(self):
        mask = np.ones((5, 16, 16), bool)
        mask[3, 0, 0] = False  # one pixel missing in one frame of latent frame 1, cell (0, 0)
        cov = dg.latent_coverage(mask, 4, 8)
        assert cov[1, 0, 0] == pytest.approx(1 - 1 / 256)
        assert dg.latent_mask(mask, 4, 8, min_coverage=1.0)[1, 0, 0] == 0
        assert dg.latent_mask(mask, 4, 8, min_coverage=0.98)[1, 0, 0] == 1
        assert dg.latent_mask(mask, 4, 8, min_coverage=1.0)[0].min() == 1  # frame 0 is its own latent frame

    def test_erode(self):
        cells = np.zeros((1, 5, 5), np.float32)
        cells[0, 1:4, 1:4] = 1
        assert dg.erode_cells(cells, 1).sum() == 1 and dg.erode_cells(cells, 1)[0, 2, 2] == 1
        assert dg.erode_cells(cells, 0).sum() == 9

    def test_rejects_size(self):
        with pytest.raises(InputError, match="multiple"):
            dg.latent_mask(np.ones((5, 20, 16), bool), 4, 8)


class TestFillAndBlend:
    def test_fill_keeps_covered_and_fills_smoothly(self):
        rgb = np.zeros((1, 8, 8, 3), np.uint8)
        rgb[0, :, :4] = 200
        mask = np.zeros((1, 8, 8), bool)
        mask[0, :, :4] = True
        out = dg.fill_holes(rgb, mask)
        assert (out[0, :, :4] == 200).all()
        assert (out[0, :, 4:] == 200).all()  # the only colour there is spreads into the hole
        assert (dg.fill_holes(rgb, np.zeros_like(mask)) == 128).all()

    def test_blend_known_values(self):
        cur, guide = np.zeros(4), np.ones(4)
        np.testing.assert_allclose(dg.blend(cur, guide, np.array([1, 0, 1, 0.5])), [1, 0, 1, 0.5])

    def test_steps(self):
        assert dg.start_step(10, 1.0) == 0
        assert dg.start_step(10, 0.3) == 7
        assert dg.start_step(10, 0.01) == 9  # always at least one step
        assert dg.tied_steps(4, 1.0) == 4 and dg.tied_steps(4, 0.5) == 2
        with pytest.raises(InputError):
            dg.start_step(10, 0.0)

    def test_unit_range_round_trip(self):
        rgb = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype(np.uint8)
        assert dg.to_unit_range(rgb).shape == (3, 2, 4, 4)
        np.testing.assert_array_equal(dg.from_unit_range(dg.to_unit_range(rgb)), rgb)


# -- registry, options, constraints, missing weights (cheap: no heavy imports) --------------------------------
def test_registered_and_cheap_import():
    import subprocess
    import sys

    assert {"wan", "cogvideox"} <= set(names())
    code = (
        "import sys, shotsmith.backends.diffusion as d; d.WanGenerator().available();"
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_constraints_fit_frames():
    wan = get_generator("wan")
    assert wan.constraints.frame_rule == "4k+1" and wan.constraints.multiple_of == 16
    assert [wan.constraints.fit_frames(n) for n in (81, 80, 49, 10, 1)] == [81, 81, 49, 9, 1]
    cog = get_generator("cogvideox")
    assert cog.constraints == Constraints(frame_rule="fixed", frames=49, size=(720, 480), multiple_of=16)
    assert cog.constraints.fit_frames(81) == 49


def test_unknown_option_and_bad_mode():
    with pytest.raises(InputError, match="unknown option"):
        get_generator("wan", model_path="x")
    with pytest.raises(InputError, match="mode"):
        get_generator("wan", mode="t2v")


def test_missing_local_folder(tmp_path):
    gen = get_generator("wan", model=str(tmp_path / "nothing-here"))
    ok, why = gen.available()
    # issue 14: huggingface_hub ships `hf` now (`huggingface-cli` is gone)
    assert not ok and "does not exist" in why and "--model" in why and "hf download" in why
    with pytest.raises(BackendUnavailable, match="hf download"):
        gen.load()
    (tmp_path / "empty").mkdir()
    ok, why = get_generator("cogvideox", model=str(tmp_path / "empty")).available()
    assert not ok and "model_index.json" in why


def test_hub_cache_lookup(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))
    gen = get_generator("cogvideox")  # default hub id, not cached here
    ok, why = gen.available()
    # issue 14: the THUDM org is now zai-org, and the command is `hf download`
    assert not ok and "zai-org/CogVideoX-5b-I2V" in why and "hf download zai-org/CogVideoX-5b-I2V" in why
    snap = tmp_path / "models--zai-org--CogVideoX-5b-I2V" / "snapshots" / "abc"
    (snap / "transformer").mkdir(parents=True)
    (snap / "model_index.json").write_text("{}")
    (tmp_path / "models--zai-org--CogVideoX-5b-I2V" / "refs").mkdir()
    (tmp_path / "models--zai-org--CogVideoX-5b-I2V" / "refs" / "main").write_text("abc")
    ok, why = gen.available()
    assert not ok and "safetensors" in why
    (snap / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    assert gen.available() == (True, "")


# -- tiny real pipelines -------------------------------------------------------------------------------------
def make_request(covered: str, strength: float = 1.0, steps: int = 2) -> GenerateRequest:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    base = np.stack([x * 4, y * 6, 255 - x * 3], axis=-1) % 256
    rgb = np.stack([np.roll(base, 2 * t, axis=1) for t in range(FRAMES)]).astype(np.uint8)
    rgb = np.clip(rgb + rng.integers(-10, 10, rgb.shape), 0, 255).astype(np.uint8)
    mask = np.ones((FRAMES, HEIGHT, WIDTH), bool)
    if covered == "left":
        mask[:, :, WIDTH // 2 :] = False
        rgb[~mask] = 0  # undefined where uncovered
    cams = CameraPath(
        world_from_camera=np.tile(np.eye(4), (FRAMES, 1, 1)),
        intrinsics=np.array([WIDTH, WIDTH, WIDTH / 2, HEIGHT / 2], float),
        width=WIDTH,
        height=HEIGHT,
    )
    return GenerateRequest(
        guidance_rgb=rgb,
        guidance_mask=mask,
        guidance_depth=np.ones((FRAMES, HEIGHT, WIDTH), np.float32),
        cameras=cams,
        prompt="the camera moves slowly left",
        seed=0,
        steps=steps,
        strength=strength,
        guidance_scale=2.0,
    )


def vae_round_trip(gen, request) -> np.ndarray:
    """The guidance through the generator's own VAE (what covered regions can at best reproduce)."""
    import torch

    filled = dg.fill_holes(request.guidance_rgb, request.guidance_mask)
    video = torch.from_numpy(dg.to_unit_range(filled))[None].to(gen.pipeline.vae.dtype)
    with torch.inference_mode():
        lat = gen.pipeline.vae.encode(video).latent_dist.mode()
        out = gen.pipeline.vae.decode(lat).sample
    return dg.from_unit_range(out[0].float().numpy())


def region_errors(video, reference):
    diff = np.abs(video.astype(np.float32) - reference.astype(np.float32))
    # Stay two latent cells away from the mask edge: the decoder's receptive field mixes columns there.
    return diff[:, :, : WIDTH // 2 - 16].mean(), diff[:, :, WIDTH // 2 + 16 :].mean()


@pytest.fixture(autouse=True)
def _few_threads():
    import torch

    torch.set_num_threads(2)


@pytest.fixture
def build(tiny_video_generator):
    """Factory: build(family, i2v, **options) -> a tiny generator for FRAMES x HEIGHT x WIDTH videos."""

    def make(family: str, i2v: bool, **options):
        return tiny_video_generator(family, i2v, frames=FRAMES, height=HEIGHT, width=WIDTH, **options)

    return make


@pytest.mark.neural
@pytest.mark.parametrize("i2v", [True, False], ids=["i2v", "v2v"])
@pytest.mark.parametrize("family", ["wan", "cogvideox"])
def test_covered_cells_follow_guidance(build, family, i2v):
    gen = build(family, i2v)
    gen.load()
    req = make_request("left")
    video = gen.generate(req)
    assert video.shape == (FRAMES, HEIGHT, WIDTH, 3) and video.dtype == np.uint8
    run = gen.last_run
    assert run.mode == ("i2v" if i2v else "v2v") and len(run.timesteps) == 2 and run.tied_steps == 2
    assert run.latent_mask.shape == (3, HEIGHT // 8, WIDTH // 8)
    assert run.latent_mask[..., :4].min() == 1 and run.latent_mask[..., 4:].max() == 0
    # Latent space: covered cells end on the guidance, the holes are the model's own.
    cells = np.abs(run.latents - run.guide_latents)
    cells = cells.mean(axis=0 if family == "wan" else 1)  # over channels -> (t, h, w)
    assert cells[..., :4].max() < 1e-5
    assert cells[..., 4:].mean() > 0.1
    if family == "cogvideox":  # its tiny VAE decoder is sensitive enough to see it in pixels too
        covered, hole = region_errors(video, vae_round_trip(gen, req))
        assert covered < 0.5 * hole, (covered, hole)


@pytest.mark.neural
def test_tie_until_leaves_the_last_steps_free(build):
    gen = build("wan", False, tie_until=0.5, steps=4)
    gen.load()
    gen.generate(make_request("left"))
    run = gen.last_run
    assert run.tied_steps == 2
    # The two free steps of a random model move the covered cells off the guidance: the option is wired.
    assert np.abs(run.latents - run.guide_latents)[:, :, :, :4].max() > 1e-3


@pytest.mark.neural
@pytest.mark.parametrize("family", ["wan", "cogvideox"])
def test_full_mask_low_strength_is_the_vae_round_trip(build, family):
    gen = build(family, True)
    gen.load()
    req = make_request("full", strength=0.3)
    video = gen.generate(req)
    assert len(gen.last_run.timesteps) == 1  # SDEdit: only the last of 2 steps runs
    diff = np.abs(video.astype(int) - vae_round_trip(gen, req).astype(int))
    assert diff.max() <= 2


@pytest.mark.neural
@pytest.mark.parametrize("family", ["wan", "cogvideox"])
def test_save_and_load_real_path(build, family, tmp_path):
    mem = build(family, True)
    mem.load()
    mem.pipeline.save_pretrained(tmp_path / family, safe_serialization=True)
    assert not list((tmp_path / family).rglob("*.bin"))
    gen = get_generator(
        family, model=str(tmp_path / family), device="cpu", dtype="float32", max_sequence_length=16
    )
    assert gen.available() == (True, "")
    gen.load()
    assert type(gen.pipeline.tokenizer).__name__ == "T5Tokenizer"
    text = "the camera moves slowly left"
    assert gen.pipeline.tokenizer(text).input_ids == mem.pipeline.tokenizer(text).input_ids
    assert str(tmp_path / family) in gen.version()
    req = make_request("left")
    np.testing.assert_array_equal(gen.generate(req), mem.generate(req))


@pytest.mark.neural
def test_bad_frame_count_and_mode(build):
    gen = build("wan", False)
    gen.load()
    req = make_request("left")
    req.guidance_rgb, req.guidance_mask = req.guidance_rgb[:8], req.guidance_mask[:8]
    with pytest.raises(InputError, match="4k\\+1"):
        gen.generate(req)
    with pytest.raises(InputError, match="i2v"):
        build("wan", False, mode="i2v").load()
    cog = build("cogvideox", True)
    cog.load()
    assert cog.constraints == Constraints(
        frame_rule="fixed", frames=FRAMES, size=(WIDTH, HEIGHT), multiple_of=16
    )


@pytest.mark.neural
def test_not_a_wan_folder(tmp_path, tiny_video_components):
    from diffusers import CogVideoXImageToVideoPipeline

    components = tiny_video_components("cogvideox", True, frames=FRAMES, height=HEIGHT, width=WIDTH)
    CogVideoXImageToVideoPipeline(**components).save_pretrained(tmp_path / "cog", safe_serialization=True)
    with pytest.raises(InputError, match="not a wan checkpoint"):
        get_generator("wan", model=str(tmp_path / "cog"), device="cpu").load()


# -- batched views with shared noise (multi-camera rigs) --------------------------------------------------------
PLANE_Z, SHIFT = 2.0, 0.25  # fx = WIDTH = 64 px: a 0.25 sideways step moves a plane at z = 2 by exactly 8 px


def plane_view(k: int, frames: int = FRAMES, edge: float = 0.5, holes: bool = True):
    """(rgb, mask, depth, CameraPath) of a textured plane at z = PLANE_Z seen by a camera moved k * SHIFT to the
    right: view k's latent cell column c sees what view 0's column c + k sees. Covered where world x < `edge`."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH] + 0.5
    wx = (x - WIDTH / 2) / WIDTH * PLANE_Z + k * SHIFT
    wy = (y - HEIGHT / 2) / WIDTH * PLANE_Z
    tex = np.stack(
        [128 + 100 * np.sin(9 * wx), 128 + 100 * np.cos(7 * wy), 128 + 90 * np.sin(5 * (wx + wy))], -1
    )
    mask = np.broadcast_to((wx < edge) if holes else np.ones_like(wx, bool), (frames, HEIGHT, WIDTH)).copy()
    rgb = np.where(mask[..., None], np.broadcast_to(tex, (frames, HEIGHT, WIDTH, 3)), 0).astype(np.uint8)
    depth = np.where(mask, PLANE_Z, 0.0).astype(np.float32)
    pose = np.eye(4)
    pose[0, 3] = k * SHIFT
    cams = CameraPath(np.tile(pose, (frames, 1, 1)), [WIDTH, WIDTH, WIDTH / 2, HEIGHT / 2], WIDTH, HEIGHT)
    return rgb, mask, depth, cams


def plane_requests(n: int, **kw) -> list[GenerateRequest]:
    out = []
    for k in range(n):
        rgb, mask, depth, cams = plane_view(k, **kw)
        out.append(
            GenerateRequest(
                rgb, mask, depth, cams, prompt="the camera moves slowly left", steps=2, guidance_scale=2.0
            )
        )
    return out


def views_of(requests):
    return [(r.guidance_depth, r.cameras.intrinsics, r.cameras.world_from_camera) for r in requests]


class TestSharedNoise:
    def test_representative_frames(self):
        assert dg.representative_frames(9, 4) == [[0], [2, 1, 3, 4], [6, 5, 7, 8]]

    def test_a_point_seen_in_two_views_gets_the_same_cell_and_noise(self):
        (_, _, d0, c0), (_, _, d1, c1) = plane_view(0), plane_view(1)
        p0, ok0 = dg.cell_points(d0, c0.intrinsics, c0.world_from_camera, 4, 8)
        p1, ok1 = dg.cell_points(d1, c1.intrinsics, c1.world_from_camera, 4, 8)
        assert ok0.shape == (3, 4, 8) and ok0[..., :6].all() and not ok0[..., 6:].any()
        assert ok1[..., :5].all() and not ok1[..., 5:].any()
        # view 1's column c and view 0's column c + 1 are the same 3D points (both on the plane, 8 px apart)
        np.testing.assert_allclose(p1[..., :5, :], p0[..., 1:6, :], atol=1e-9)
        assert np.allclose(p0[ok0][:, 2], PLANE_Z)
        ref = (c0.intrinsics, c0.world_from_camera)
        frames = [g[0] for g in dg.representative_frames(FRAMES, 4)]
        k0, v0 = dg.reference_cells(p0, ok0, *ref, pitch=8.0, frames=frames)
        k1, v1 = dg.reference_cells(p1, ok1, *ref, pitch=8.0, frames=frames)
        np.testing.assert_array_equal(
            k0[v0].reshape(3, 4, 6, 3)[..., 2], np.broadcast_to(np.arange(6), (3, 4, 6))
        )
        np.testing.assert_array_equal(k1[..., :5, :], k0[..., 1:6, :])
        noise = dg.shared_view_noise(views_of(plane_requests(2)), 16, 4, 8, seed=3)
        assert noise.shape == (2, 16, 3, 4, 8) and noise.dtype == np.float32
        np.testing.assert_array_equal(noise[1][..., :5], noise[0][..., 1:6])  # shared 3D content, same noise
        # holes (and view 0's uncovered columns) get fresh noise, shared with nothing
        assert not np.isin(noise[1][..., 5:], noise[0]).any()
        assert not np.isin(noise[0][..., 6:], noise[1]).any()
        np.testing.assert_array_equal(
            dg.shared_view_noise(views_of(plane_requests(2)), 16, 4, 8, seed=3), noise
        )

    def test_unbounded_grid_shares_content_outside_the_reference_frame(self):
        # views 1 and 2 both see content beyond view 0's right border: they still share it
        noise = dg.shared_view_noise(views_of(plane_requests(3, holes=False)), 4, 4, 8, seed=0)
        np.testing.assert_array_equal(noise[2][..., :7], noise[1][..., 1:8])
        np.testing.assert_array_equal(noise[2][..., :6], noise[0][..., 2:8])

    def test_unit_variance_and_iid_reference_view(self):
        noise = dg.shared_view_noise(views_of(plane_requests(3, frames=17)), 16, 4, 8, seed=1)
        for view in noise:
            assert abs(view.mean()) < 0.1 and abs(view.std() - 1.0) < 0.05
        first = noise[0][0].reshape(-1)  # the reference view itself: every cell its own sample
        assert len(np.unique(first)) == first.size

    def test_rejects_nothing_and_bad_pitch(self):
        with pytest.raises(InputError, match="no views"):
            dg.shared_view_noise([], 16, 4, 8)
        pts, ok = np.zeros((1, 1, 1, 3)), np.ones((1, 1, 1), bool)
        with pytest.raises(InputError, match="pitch"):
            dg.reference_cells(pts, ok, [1, 1, 0, 0], np.eye(4), pitch=0.0)


def edited(request: GenerateRequest, shift: int) -> GenerateRequest:
    """The request with its guidance rolled `shift` pixels sideways (another view of the same batch)."""
    from dataclasses import replace

    return replace(
        request,
        guidance_rgb=np.roll(request.guidance_rgb, shift, axis=2),
        guidance_mask=np.roll(request.guidance_mask, shift, axis=2),
    )


@pytest.mark.neural
@pytest.mark.parametrize("family", ["wan", "cogvideox"])
def test_batched_views_equal_sequential_views(build, family):
    gen = build(family, family == "wan")
    gen.load()
    requests = plane_requests(3)
    noise = gen.shared_noise(requests, seed=5)
    assert noise.shape == (3, *gen.latent_shape(FRAMES, HEIGHT, WIDTH))
    batched = gen.generate_views(requests, noise)
    runs = gen.last_runs
    assert len(batched) == 3 and all(
        v.shape == (FRAMES, HEIGHT, WIDTH, 3) and v.dtype == np.uint8 for v in batched
    )
    assert [r.batch_size for r in runs] == [3, 3, 3]
    for k, request in enumerate(requests):
        alone = gen.generate_views([request], noise[k : k + 1])[0]
        np.testing.assert_allclose(runs[k].latents, gen.last_run.latents, atol=1e-5)
        assert np.abs(alone.astype(int) - batched[k]).max() <= 1
    # batches of 2 + 1 give the same; without shared noise every view draws its seed's noise, as `generate` does
    split = gen.generate_views(requests, noise, batch=2)
    assert [r.batch_size for r in gen.last_runs] == [2, 2, 1]
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(split, batched, strict=True)) <= 1
    seeded = gen.generate_views(requests[:2])
    assert np.abs(seeded[1].astype(int) - gen.generate(requests[1])).max() <= 1


@pytest.mark.neural
def test_views_share_noise_and_follow_their_guidance(build):
    gen = build("wan", False)
    gen.load()
    requests = plane_requests(2)
    gen.generate_views(requests, gen.shared_noise(requests, seed=0))
    run0, run1 = gen.last_runs
    # the views started (and were re-noised) from the same noise where they see the same plane points
    np.testing.assert_array_equal(run1.noise[..., :5], run0.noise[..., 1:6])
    assert not np.isin(run1.noise[..., 5:], run0.noise).any()
    for run, covered in ((run0, 6), (run1, 5)):
        assert run.latent_mask[..., :covered].min() == 1 and run.latent_mask[..., covered:].max() == 0
        cells = np.abs(run.latents - run.guide_latents).mean(axis=0)
        assert cells[..., :covered].max() < 1e-5  # covered cells end on this view's guidance
        assert cells[..., covered:].mean() > 0.1  # holes are the model's


@pytest.mark.neural
def test_generate_views_rejects_mixed_views(build):
    from dataclasses import replace

    gen = build("wan", False)
    gen.load()
    a, b = plane_requests(2)
    with pytest.raises(InputError, match="share prompt"):
        gen.generate_views([a, replace(b, prompt="a monkey")])
    with pytest.raises(InputError, match="shared_noise must have shape"):
        gen.generate_views([a, b], np.zeros((1, 16, 3, 4, 8), np.float32))
    assert gen.generate_views([]) == []


@pytest.mark.neural
def test_memory_estimate_and_default_batch(build):
    gen = build("wan", False)
    gen.load()
    assert gen.default_batch(5, FRAMES, HEIGHT, WIDTH) == 5  # CPU: every view in one batch
    small = gen.estimate_view_memory(FRAMES, HEIGHT, WIDTH)
    assert 0 < small < gen.estimate_view_memory(FRAMES, 2 * HEIGHT, 2 * WIDTH)


# -- issue 14: the code paths of the real checkpoints (tiny widths) ---------------------------------------------
@pytest.mark.neural
def test_wan_i2v_added_kv_splits_image_from_512_text_tokens(tiny_video_variant):
    """Wan2.1 I2V-14B's attention takes `encoder_hidden_states` as [image tokens, text tokens] and splits them
    assuming exactly 512 text tokens (diffusers' WanAttnProcessor). With a shorter text the split went negative
    and the text cross-attention silently got image tokens; the text is now padded to 512 like the pipeline's."""
    gen = tiny_video_variant("wan", "i2v-added-kv", negative_prompt="")
    gen.load()
    attn = gen.pipeline.transformer.blocks[0].attn2
    seen = {"image": [], "text": []}
    attn.add_k_proj.register_forward_hook(lambda m, a, o: seen["image"].append(a[0].shape[1]))
    attn.to_k.register_forward_hook(lambda m, a, o: seen["text"].append(a[0].shape[1]))
    req = make_request("left")
    short = gen.generate(req)
    clip_tokens = (32 // 4) ** 2 + 1  # the tiny CLIP: 32 px images, 4 px patches, one class token
    assert set(seen["image"]) == {clip_tokens} and set(seen["text"]) == {512}
    # the same as encoding the text at 512 tokens (the prompt is shorter than 16 tokens)
    full = tiny_video_variant("wan", "i2v-added-kv", negative_prompt="", max_sequence_length=512)
    assert np.abs(full.generate(req).astype(int) - short).max() <= 1


@pytest.mark.neural
def test_wan_i2v_added_kv_refuses_longer_text(tiny_video_variant):
    gen = tiny_video_variant("wan", "i2v-added-kv", max_sequence_length=600)
    gen.load()
    with pytest.raises(InputError, match="512"):
        gen.generate(make_request("left"))


@pytest.mark.neural
def test_wan22_experts_switch_at_the_boundary_like_the_pipeline(tiny_video_variant):
    """Wan2.2 A14B: `transformer` runs the steps with t >= boundary_ratio * num_train_timesteps, `transformer_2`
    the rest (diffusers' WanPipeline / WanImageToVideoPipeline)."""
    gen = tiny_video_variant("wan", "a14b", steps=4)
    gen.load()
    pipe = gen.pipeline
    calls = []
    for name in ("transformer", "transformer_2"):
        getattr(pipe, name).register_forward_hook(
            lambda m, a, k, o, name=name: calls.append((name, float(k["timestep"].flatten()[0]))),
            with_kwargs=True,
        )
    gen.generate(make_request("left"))
    boundary = 0.875 * pipe.scheduler.config.num_train_timesteps
    expected = []
    for t in gen.last_run.timesteps:  # classifier-free guidance: two calls per step
        expected += [("transformer" if t >= boundary else "transformer_2", t)] * 2
    assert [n for n, _ in calls] == [n for n, _ in expected]
    assert {n for n, _ in calls} == {"transformer", "transformer_2"}  # this schedule crosses the boundary


@pytest.mark.neural
def test_wan22_low_noise_guidance_scale(tiny_video_variant):
    gen = tiny_video_variant("wan", "a14b", steps=4, guidance_scale_2=1.0)
    gen.load()
    calls = []
    for name in ("transformer", "transformer_2"):
        getattr(gen.pipeline, name).register_forward_hook(lambda m, a, o, name=name: calls.append(name))
    gen.generate(make_request("left"))
    # guidance_scale_2 <= 1 turns classifier-free guidance off in the low-noise steps only
    assert calls.count("transformer") == 4 and calls.count("transformer_2") == 2


@pytest.mark.neural
def test_cogvideox_dpm_batched_views_equal_one_by_one(tiny_video_variant):
    """CogVideoX's DPM scheduler draws fresh noise at every step: one generator per view (its seed), so a batch
    gives what the views give one at a time."""
    gen = tiny_video_variant("cogvideox", "dpm")
    gen.load()
    requests = plane_requests(3)
    noise = gen.shared_noise(requests, seed=5)
    batched = gen.generate_views(requests, noise)
    runs = list(gen.last_runs)
    for k, request in enumerate(requests):
        alone = gen.generate_views([request], noise[k : k + 1])[0]
        np.testing.assert_allclose(runs[k].latents, gen.last_run.latents, atol=1e-5)
        assert np.abs(alone.astype(int) - batched[k]).max() <= 1


@pytest.mark.neural
@pytest.mark.parametrize("variant", ["1.5", "1.5-i2v"])
def test_cogvideox_15_pads_odd_latent_frames_like_the_pipeline(tiny_video_variant, variant):
    """CogVideoX 1.5 patches latent frames in pairs; 9 frames give 3 latent frames (81 give 21): the pipeline
    prepends padding frames and drops them before decoding, and so does the guided loop."""
    gen = tiny_video_variant("cogvideox", variant)
    gen.load()
    assert gen.constraints == Constraints(frame_rule="fixed", frames=FRAMES, size=None, multiple_of=16)
    seen = []
    gen.pipeline.transformer.register_forward_hook(
        lambda m, a, k, o: seen.append(k["hidden_states"].shape[1]), with_kwargs=True
    )
    video = gen.generate(make_request("left"))
    assert video.shape == (FRAMES, HEIGHT, WIDTH, 3)
    assert set(seen) == {4}  # 3 latent frames + 1 padding frame
    run = gen.last_run
    assert run.latents.shape == run.guide_latents.shape == (3, 4, HEIGHT // 8, WIDTH // 8)
    cells = np.abs(run.latents - run.guide_latents).mean(axis=1)
    assert cells[..., :4].max() < 1e-5 and cells[..., 4:].mean() > 0.1


def test_options_are_validated_when_the_generator_is_built():
    for family in ("wan", "cogvideox"):
        for bad in (
            {"strength": 0.0},
            {"strength": 1.5},
            {"steps": 0},
            {"guidance_scale": -1.0},
            {"tie_until": 1.5},
            {"min_coverage": 0.0},
            {"erode": -1},
            {"offload": "everything"},
        ):
            with pytest.raises(InputError):
                get_generator(family, **bad)
    assert get_generator("wan", strength=1.0, steps=1).config.strength == 1.0


def test_hints_name_the_hf_command(tmp_path):
    _, why = get_generator("wan", model=str(tmp_path / "nothing-here")).available()
    assert "hf download" in why and "huggingface-cli" not in why


def test_cogvideox_ids_are_zai_org_and_old_thudm_caches_still_count(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    from shotsmith.backends.diffusion import COGVIDEOX_DEFAULT_MODEL

    assert COGVIDEOX_DEFAULT_MODEL == "zai-org/CogVideoX-5b-I2V"
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))
    gen = get_generator("cogvideox")
    ok, why = gen.available()
    assert not ok and "hf download zai-org/CogVideoX-5b-I2V" in why
    repo = tmp_path / "models--THUDM--CogVideoX-5b-I2V"  # downloaded before the rename
    (repo / "snapshots" / "abc" / "transformer").mkdir(parents=True)
    (repo / "snapshots" / "abc" / "model_index.json").write_text("{}")
    (repo / "snapshots" / "abc" / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc")
    assert gen.available() == (True, "")
    assert get_generator("cogvideox", model="THUDM/CogVideoX-5b-I2V").available() == (True, "")


@pytest.mark.neural
def test_offload_modes_run_the_same_loop(build):
    """Every offload mode's hooks around the guided loop give the same video (run here with the CPU as the
    "GPU": the hooks and the loop's own freeing are the code that runs on a real GPU)."""
    import torch

    from shotsmith.backends.diffusion import apply_offload

    req = make_request("left")
    expected = build("wan", True).generate(req)
    for mode in ("model", "text-cpu", "group", "sequential"):
        gen = build("wan", True)
        gen.load()
        apply_offload(gen.pipeline, mode, torch.device("cpu"))
        if mode == "text-cpu":
            assert not hasattr(
                gen.pipeline.text_encoder, "_hf_hook"
            )  # the text encoder left out of the hooks
        np.testing.assert_array_equal(gen.generate(req), expected, err_msg=mode)


@pytest.mark.neural
def test_gpu_weight_accounting_per_offload_mode(build):
    from shotsmith.backends.diffusion import gpu_weight_bytes

    gen = build("wan", True)
    gen.load()
    comps = {k: v for k, v in gen.pipeline.components.items() if hasattr(v, "parameters")}
    unique = {k: {id(t): t for t in (*v.parameters(), *v.buffers())}.values() for k, v in comps.items()}
    size = {k: sum(t.numel() * t.element_size() for t in ts) for k, ts in unique.items()}
    weights = {
        mode: gpu_weight_bytes(comps, mode) for mode in ("none", "model", "text-cpu", "group", "sequential")
    }
    assert weights["none"]["peak"] == sum(size.values())
    assert weights["model"]["peak"] == max(size.values())
    assert weights["text-cpu"]["peak"] == max(v for k, v in size.items() if k != "text_encoder")
    assert weights["group"]["resident"] == size["vae"]
    assert weights["sequential"]["peak"] < weights["group"]["peak"] < weights["none"]["peak"]
    with pytest.raises(InputError, match="offload"):
        gpu_weight_bytes(comps, "all-of-it")


@pytest.mark.neural
def test_wan22_ti2v_gives_the_first_frame_as_clean_tokens(tiny_video_variant):
    """Wan2.2 TI2V-5B (`expand_timesteps`): in i2v the first latent frame is the image's latents with timestep 0
    per token (WanImageToVideoPipeline); a view whose first frame has holes runs video-to-video and says so."""
    gen = tiny_video_variant("wan", "ti2v")
    gen.load()
    assert gen._mode == "i2v" and gen.constraints.multiple_of == 32  # 16 px latent cells, 2x2 patches
    seen = []
    gen.pipeline.transformer.register_forward_hook(
        lambda m, a, k, o: seen.append(k["timestep"].clone()), with_kwargs=True
    )
    gen.generate(make_request("full"))
    run = gen.last_run
    assert run.latent_mask.shape == (3, HEIGHT // 16, WIDTH // 16) and not run.notes
    per_frame = (HEIGHT // 32) * (WIDTH // 32)  # tokens of one latent frame
    for timestep, t in zip(seen[::2], run.timesteps, strict=True):
        assert timestep.shape == (1, 3 * per_frame)
        assert (timestep[:, :per_frame] == 0).all() and torch_allclose(timestep[:, per_frame:], t)
    seen.clear()
    gen.generate(make_request("left"))  # holes in the first frame: this view is generated video-to-video
    assert "video-to-video" in gen.last_run.notes[0]
    assert all(
        torch_allclose(timestep, t) for timestep, t in zip(seen[::2], gen.last_run.timesteps, strict=True)
    )
    v2v = tiny_video_variant("wan", "ti2v", mode="v2v")  # the same weights also run video-to-video
    v2v.load()
    assert v2v._mode == "v2v" and v2v.generate(make_request("full")).shape == (FRAMES, HEIGHT, WIDTH, 3)


def torch_allclose(tensor, value: float) -> bool:
    return bool((tensor.float() - float(value)).abs().max() < 1e-3)


@pytest.mark.neural
@pytest.mark.parametrize("family", ["wan", "cogvideox"])
def test_i2v_first_frame_with_holes_is_said(build, family):
    """Wan2.1 I2V / CogVideoX-I2V are conditioned on the whole first frame: with holes there (a rig's side
    cameras) they take the hole fill for content; the run says so (docs/GENERATORS.md)."""
    gen = build(family, True)
    gen.load()
    gen.generate(make_request("full"))
    assert gen.last_run.notes == []
    gen.generate(make_request("left"))
    assert "50% of the first frame" in gen.last_run.notes[0] and "--mode v2v" in gen.last_run.notes[0]


def test_request_strength_zero_is_refused_before_any_weights_load(tmp_path):
    """The `generate` stage hands --strength to the request, not to the backend's options: the request's values
    are checked before `load()` (a missing model would otherwise be reported first, after the wait)."""
    gen = get_generator("wan", model=str(tmp_path / "nothing-here"))
    with pytest.raises(InputError, match="strength"):
        gen.generate(make_request("left", strength=0.0))
