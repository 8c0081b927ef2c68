"""`shotsmith caption` and the open-clip backend, with a tiny CLIP built from a config (no network)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shotsmith import describe, formats
from shotsmith.camera import CameraPath, default_intrinsics, make_pose
from shotsmith.workspace import CAPTION, TRAJECTORY, Workspace

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """(config .json, weights .safetensors) of a randomly initialised tiny open-clip model."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("clip")
    config = folder / "tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    torch.manual_seed(0)
    model = open_clip.CLIP(TINY_CLIP["embed_dim"], TINY_CLIP["vision_cfg"], TINY_CLIP["text_cfg"])
    weights = folder / "tiny-clip.safetensors"
    save_file(model.state_dict(), str(weights))
    return config, weights


def dolly_path(n: int = 33) -> CameraPath:
    s = np.linspace(0, 1, n)
    mats = make_pose(np.tile(np.eye(3), (n, 1, 1)), s[:, None] * np.array([0.0, 0.0, 0.6]))
    return CameraPath(mats, default_intrinsics(64, 48), 64, 48, 16.0)


@pytest.fixture
def workspace(tmp_path, textured_image):
    """A workspace with an input image, a prompt and a dolly-in trajectory."""
    from shotsmith.media import write_image

    ws = Workspace(tmp_path / "ws").create()
    ws.path("input").mkdir()
    write_image(ws.path("input/photo.png"), textured_image)
    ws.update_request(prompt="a quiet street at dawn", image="input/photo.png")
    formats.write_trajectory(ws.path(TRAJECTORY), dolly_path())
    return ws


def test_combine_text():
    from shotsmith.stages.caption import combine_text

    assert combine_text("a cat on a sofa", "The camera moves forward", "a living room, a cat") == (
        "A cat on a sofa. The camera moves forward. Scene: a living room, a cat."
    )
    assert combine_text("", "The camera stays still.", "") == "The camera stays still."
    assert combine_text("", "", "") == ""


def test_caption_movement_and_prompt(workspace, cli):
    from shotsmith.formats import read_trajectory

    code, _, err = cli("caption", "-w", workspace.root)
    assert code == 0, err
    cap = json.loads(workspace.path(CAPTION).read_text())
    expected = describe.describe(read_trajectory(workspace.path(TRAJECTORY)))
    assert cap["Movement"] == cap["movement"] == expected and "forward" in expected
    assert cap["prompt"] == "a quiet street at dawn" and cap["scene"] == ""
    assert cap["text"].startswith("A quiet street at dawn.") and expected.rstrip(".") in cap["text"]
    assert any("CLIP" in n for n in cap["notes"])
    assert workspace.record("caption").status == "ok"
    code, _, err = cli("caption", "-w", workspace.root)  # unchanged: skipped
    assert code == 0 and "unchanged" in err
    code, _, _ = cli("caption", "-w", workspace.root, "--prompt", "a red door")  # new prompt: rerun
    assert json.loads(workspace.path(CAPTION).read_text())["prompt"] == "a red door"


def test_caption_without_trajectory(tmp_path, cli):
    ws = Workspace(tmp_path / "ws").create()
    ws.update_request(prompt="a lighthouse")
    code, _, err = cli("caption", "-w", ws.root, "--scene", "none")
    assert code == 0, err
    cap = json.loads(ws.path(CAPTION).read_text())
    assert cap["movement"] == "" and cap["text"] == "A lighthouse." and "trajectory" in cap["notes"][0]


def test_caption_bad_scene_mode(workspace, cli):
    code, _, err = cli("caption", "-w", workspace.root, "--scene", "llm")
    assert code == 1 and "--scene" in err


def test_scene_clip_without_weights_is_a_clear_error(workspace, cli):
    code, _, err = cli("caption", "-w", workspace.root, "--scene", "clip")
    assert code == 1 and "--clip-pretrained" in err


@pytest.mark.neural
def test_caption_with_clip_scene_tags(workspace, cli, tiny_clip):
    from shotsmith.backends.clip import SCENE_VOCABULARY

    config, weights = tiny_clip
    code, _, err = cli(
        "caption",
        "-w",
        workspace.root,
        "--scene",
        "clip",
        "--clip-model",
        config,
        "--clip-pretrained",
        weights,
    )
    assert code == 0, err
    cap = json.loads(workspace.path(CAPTION).read_text())
    tags = [t["tag"] for t in cap["scene_tags"]]
    assert len(tags) == 3 and all(t in SCENE_VOCABULARY for t in tags)
    assert cap["scene"] == ", ".join(tags) and cap["text"].endswith(f"Scene: {cap['scene']}.")
    assert cap["scene_tags"][0]["source"] == "input/photo.png"
    assert workspace.record("caption").backend == "open-clip"


@pytest.mark.neural
def test_caption_reads_a_recaptured_video(tmp_path, cli, tiny_clip):
    from shotsmith.media import write_video

    ws = Workspace(tmp_path / "ws").create()
    ws.path("input").mkdir()
    frames = np.random.default_rng(0).integers(0, 255, (5, 48, 64, 3), dtype=np.uint8)
    write_video(ws.path("input/source.mp4"), frames, fps=8)
    ws.update_request(prompt="", video="input/source.mp4")
    config, weights = tiny_clip
    code, _, err = cli("caption", "-w", ws.root, "--clip-model", config, "--clip-pretrained", weights)
    assert code == 0, err
    cap = json.loads(ws.path(CAPTION).read_text())
    assert cap["scene_tags"][0]["source"] == "input/source.mp4 (frame 2)"
    assert cap["text"].startswith("Scene: ")


@pytest.mark.neural
class TestClipBackend:
    def test_measures(self, tiny_clip):
        from shotsmith.backends.clip import ClipBackend, sample_frames

        config, weights = tiny_clip
        clip = ClipBackend(str(config), weights).load()
        frames = np.random.default_rng(1).integers(0, 255, (20, 40, 56, 3), dtype=np.uint8)
        same = np.repeat(frames[:1], 4, axis=0)
        assert clip.frame_consistency(same) == pytest.approx(100.0, abs=1e-3)
        assert -100.0 <= clip.frame_consistency(frames) <= 100.0
        assert 0.0 <= clip.text_frame_score(frames, "a dog on a beach") <= 100.0
        assert clip.encode_images(frames[:3]).shape == (3, 32)
        assert len(sample_frames(frames)) == 16 and np.array_equal(sample_frames(frames)[-1], frames[-1])
        tags = clip.scene_tags(frames[0], top_k=5)
        assert len(tags) == 5 and sum(t.probability for t in tags) <= 1.0 + 1e-6

    def test_weights_must_be_safetensors(self, tiny_clip, tmp_path):
        from shotsmith.backends.clip import ClipBackend
        from shotsmith.errors import InputError

        config, _ = tiny_clip
        pickle = tmp_path / "model.bin"
        pickle.write_bytes(b"not really")
        with pytest.raises(InputError, match="safetensors"):
            ClipBackend(str(config), pickle).load()
        with pytest.raises(InputError, match="no such"):
            ClipBackend(str(config), tmp_path / "missing.safetensors").load()

    def test_wrong_weights_for_the_model(self, tiny_clip, tmp_path):
        import torch
        from safetensors.torch import save_file

        from shotsmith.backends.clip import ClipBackend
        from shotsmith.errors import InputError

        config, _ = tiny_clip
        other = tmp_path / "other.safetensors"
        save_file({"w": torch.zeros(2)}, str(other))
        with pytest.raises(InputError, match="do not fit"):
            ClipBackend(str(config), other).load()

    def test_evaluate_clip_measures(self, tiny_clip):
        from shotsmith.stages.evaluate import Config as EvaluateConfig
        from shotsmith.stages.evaluate import clip_measures

        config, weights = tiny_clip
        frames = np.random.default_rng(2).integers(0, 255, (6, 40, 56, 3), dtype=np.uint8)
        out = clip_measures(
            frames, "a room", EvaluateConfig(clip_model=str(config), clip_pretrained=str(weights))
        )
        assert out["clip_text_score"] is not None and out["clip_frame_consistency"] is not None
        skipped = clip_measures(frames, "a room", EvaluateConfig())
        assert "skipped" in skipped


# -- issue 14: OpenAI CLIP weights need QuickGELU; the hub really offline -------------------------------------
def _activation(model) -> str:
    """The MLP activation of an open-clip model's first vision block: "QuickGELU" or "GELU"."""
    return type(model.visual.transformer.resblocks[0].mlp.gelu).__name__


@pytest.fixture(scope="module")
def quickgelu_clip(tmp_path_factory):
    """(folder, gelu config .json, quickgelu config .json, weights): a tiny CLIP trained-as-QuickGELU (random),
    saved the way open-clip hub repos ship it: open_clip_model.safetensors + open_clip_config.json."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("clip-quickgelu")
    gelu = folder / "tiny-clip-g.json"
    gelu.write_text(json.dumps(TINY_CLIP))
    quick = folder / "tiny-clip-q.json"
    quick.write_text(json.dumps({**TINY_CLIP, "quick_gelu": True}))
    torch.manual_seed(0)
    model = open_clip.CLIP(
        TINY_CLIP["embed_dim"], TINY_CLIP["vision_cfg"], TINY_CLIP["text_cfg"], quick_gelu=True
    )
    hub = folder / "hub"
    hub.mkdir()
    weights = hub / "open_clip_model.safetensors"
    save_file(model.state_dict(), str(weights))
    (hub / "open_clip_config.json").write_text(json.dumps({"model_cfg": {**TINY_CLIP, "quick_gelu": True}}))
    return folder, gelu, quick, weights


@pytest.mark.neural
class TestClipActivation:
    def test_sidecar_config_decides_the_activation(self, quickgelu_clip):
        from shotsmith.backends.clip import ClipBackend

        _, gelu, _, weights = quickgelu_clip
        clip = ClipBackend(str(gelu), weights).load()
        assert _activation(clip.model) == "QuickGELU" and "QuickGELU" in clip.describe()

    def test_openai_weights_without_a_config_need_quickgelu(self, quickgelu_clip, tmp_path):
        import shutil

        from shotsmith.backends.clip import ClipBackend
        from shotsmith.errors import InputError

        _, gelu, quick, weights = quickgelu_clip
        openai = tmp_path / "ViT-tiny-openai.safetensors"
        shutil.copy(weights, openai)
        with pytest.raises(InputError, match="QuickGELU"):
            ClipBackend(str(gelu), openai).load()
        assert _activation(ClipBackend(str(quick), openai).load().model) == "QuickGELU"

    def test_sidecar_disagreeing_with_a_quickgelu_model(self, quickgelu_clip, tmp_path):
        import shutil

        from shotsmith.backends.clip import ClipBackend
        from shotsmith.errors import InputError

        _, _, quick, weights = quickgelu_clip
        shutil.copy(weights, tmp_path / "open_clip_model.safetensors")
        (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CLIP}))
        with pytest.raises(InputError, match="GELU"):
            ClipBackend(str(quick), tmp_path / "open_clip_model.safetensors").load()


def test_offline_reaches_an_already_imported_hub(monkeypatch):
    """HF_HUB_OFFLINE is read once, when huggingface_hub is imported: setting the variable later does nothing,
    so the backend also sets huggingface_hub's own flag for the call."""
    import huggingface_hub.constants as hub_constants

    from shotsmith.backends.clip import _offline

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    with _offline():
        assert hub_constants.HF_HUB_OFFLINE is True and hub_constants.is_offline_mode()
    assert hub_constants.HF_HUB_OFFLINE is False


@pytest.mark.neural
def test_pretrained_tag_not_in_the_cache_never_reaches_open_clip(monkeypatch, tmp_path):
    """A pretrained tag loads only from a cached .safetensors file: nothing is downloaded, nothing unpickled."""
    import huggingface_hub.constants as hub_constants
    import open_clip

    from shotsmith.backends.clip import ClipBackend
    from shotsmith.errors import BackendUnavailable

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(
        open_clip, "create_model_and_transforms", lambda *a, **k: pytest.fail("open_clip would download")
    )
    with pytest.raises(BackendUnavailable, match="not on this machine"):
        ClipBackend("ViT-B-32", "openai").load()
