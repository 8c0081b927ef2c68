"""Depth backends: the registry and auto, the classical prior (scored on real stereo depth), user files, and tiny
randomly initialised Depth Anything V2 and MoGe models run end to end through the real load path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shotsmith.backends.depth import get_depth_backend, is_depth_file, names, resolve_depth
from shotsmith.backends.depth.file import FileDepth
from shotsmith.backends.depth.prior import PriorSettings, prior_depth
from shotsmith.errors import BackendUnavailable, InputError


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


class TestRegistry:
    def test_names(self):
        assert {"prior", "file", "depth-anything-v2", "moge"} <= set(names())

    def test_unknown_backend(self):
        with pytest.raises(InputError, match="unknown depth backend 'nope'"):
            get_depth_backend("nope")

    def test_auto_without_weights_is_prior(self, tmp_path, capsys):
        backend, why = resolve_depth("auto", model=str(tmp_path / "no-such-folder"))
        assert backend.name == "prior" and "auto" in why

    @pytest.mark.parametrize(
        ("config", "expected"),
        [({"model_type": "depth_anything"}, "depth-anything-v2"), ({"encoder": {}, "neck": {}}, "moge")],
    )
    def test_auto_takes_local_model(self, tmp_path, config, expected):
        folder = tmp_path / "weights"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "model.safetensors").write_bytes(b"x")
        backend, why = resolve_depth("auto", model=str(folder))
        assert backend.name == expected and str(folder) in why

    def test_file_detection(self, tmp_path):
        assert is_depth_file("d.npy") and is_depth_file("x/d.png")
        assert not is_depth_file("prior") and not is_depth_file("auto")
        backend, _ = resolve_depth(str(tmp_path / "d.npz"), depth_kind="disparity")
        assert isinstance(backend, FileDepth) and backend.kind == "disparity"


class TestPrior:
    def test_ground_like_image_is_nearer_at_the_bottom(self):
        # sky above, textured ground below
        rng = np.random.default_rng(0)
        img = np.zeros((120, 160, 3), np.uint8)
        img[:50] = (120, 170, 235)
        img[50:] = rng.integers(60, 120, size=(70, 160, 3))
        d = prior_depth(img)
        assert d.shape == (120, 160) and d.dtype == np.float32 and (d > 0).all()
        rows = d.mean(axis=1)
        assert rows[-1] < rows[80] < rows[55] < rows[10]
        assert np.all(np.diff(rows[55:]) <= 1e-4)  # monotone nearer towards the bottom

    def test_rank_correlation_with_real_stereo_depth(self):
        from skimage import data

        left, _, disparity = data.stereo_motorcycle()
        d = prior_depth(left)
        valid = np.isfinite(disparity) & (disparity > 0)
        rho = _spearman(-d[valid], disparity[valid])
        assert rho > 0.5, rho  # measured 0.71 (0.67 before the figure layer)

    @pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
    def test_ordinary_photos_nearer_bottom(self, name):
        from skimage import data

        img = getattr(data, name)()
        d = prior_depth(img)
        h = d.shape[0]
        assert np.median(d[-h // 4 :]) < np.median(d[: h // 4])
        assert np.isfinite(d).all() and (d > 0).all()

    def test_grey_and_tiny_images(self):
        grey = np.repeat(np.linspace(0, 255, 20 * 30, dtype=np.uint8).reshape(20, 30, 1), 3, axis=2)
        assert prior_depth(grey).shape == (20, 30)
        assert prior_depth(np.zeros((3, 4, 3), np.uint8)).shape == (3, 4)

    def test_centre_prior_off(self, textured_image):
        a = prior_depth(textured_image, PriorSettings(center_strength=0.0))
        b = prior_depth(textured_image)
        assert not np.allclose(a, b)

    def test_backend_result(self, textured_image):
        res = get_depth_backend("prior")(textured_image)
        assert (
            res.kind == "relative" and res.intrinsics is None and res.depth.shape == textured_image.shape[:2]
        )


class TestFile:
    @pytest.fixture
    def plane(self):
        v = np.arange(30, dtype=np.float32)[:, None]
        return np.broadcast_to(2.0 + 0.1 * v, (30, 40)).astype(np.float32).copy()

    def test_npy_plane_exact(self, tmp_path, plane):
        np.save(tmp_path / "d.npy", plane)
        res = FileDepth(tmp_path / "d.npy")(np.zeros((30, 40, 3), np.uint8))
        np.testing.assert_array_equal(res.depth, plane)
        assert res.kind == "relative" and not res.notes

    def test_disparity_inverts(self, tmp_path, plane):
        np.savez(tmp_path / "d.npz", depth=1.0 / plane)
        res = FileDepth(tmp_path / "d.npz", kind="disparity")(np.zeros((30, 40, 3), np.uint8))
        np.testing.assert_allclose(res.depth, plane, rtol=1e-6)

    def test_npz_first_array(self, tmp_path, plane):
        np.savez(tmp_path / "d.npz", something=plane)
        res = FileDepth(tmp_path / "d.npz")(np.zeros((30, 40, 3), np.uint8))
        np.testing.assert_array_equal(res.depth, plane)

    def test_png16(self, tmp_path):
        from PIL import Image

        arr = (np.arange(12 * 16, dtype=np.uint16).reshape(12, 16) * 100 + 1000).astype(np.uint16)
        Image.fromarray(arr).save(tmp_path / "d.png")
        res = FileDepth(tmp_path / "d.png")(np.zeros((12, 16, 3), np.uint8))
        np.testing.assert_array_equal(res.depth, arr.astype(np.float32))

    def test_png8_rejected(self, tmp_path):
        from PIL import Image

        Image.fromarray(np.full((4, 4), 9, np.uint8)).save(tmp_path / "d.png")
        with pytest.raises(InputError, match="16-bit"):
            FileDepth(tmp_path / "d.png")(np.zeros((4, 4, 3), np.uint8))

    def test_same_aspect_resized_with_note(self, tmp_path, plane):
        np.save(tmp_path / "d.npy", plane)
        res = FileDepth(tmp_path / "d.npy")(np.zeros((60, 80, 3), np.uint8))
        assert res.depth.shape == (60, 80) and "resized" in res.notes[0]
        assert 2.0 <= res.depth.min() and res.depth.max() <= 2.0 + 0.1 * 29 + 1e-5

    def test_wrong_aspect_names_both_sizes(self, tmp_path, plane):
        np.save(tmp_path / "d.npy", plane)
        with pytest.raises(InputError, match=r"40x30 but the image is 50x50"):
            FileDepth(tmp_path / "d.npy")(np.zeros((50, 50, 3), np.uint8))

    def test_nan_negative_become_invalid(self, tmp_path, plane):
        plane[0, 0], plane[1, 1], plane[2, 2] = np.nan, -1.0, np.inf
        np.save(tmp_path / "d.npy", plane)
        res = FileDepth(tmp_path / "d.npy")(np.zeros((30, 40, 3), np.uint8))
        assert res.depth[0, 0] == res.depth[1, 1] == res.depth[2, 2] == 0.0
        assert "3 NaN" in res.notes[0]

    def test_all_invalid(self, tmp_path):
        np.save(tmp_path / "d.npy", np.full((4, 4), np.nan, np.float32))
        with pytest.raises(InputError, match="no valid depth"):
            FileDepth(tmp_path / "d.npy")(np.zeros((4, 4, 3), np.uint8))

    def test_pickled_object_array_refused(self, tmp_path):
        np.save(tmp_path / "d.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
        with pytest.raises(InputError, match="cannot read"):
            FileDepth(tmp_path / "d.npy")(np.zeros((4, 4, 3), np.uint8))

    @pytest.mark.parametrize("content", [b"", b"not numpy"])
    def test_broken_files(self, tmp_path, content):
        (tmp_path / "d.npy").write_bytes(content)
        with pytest.raises(InputError):
            FileDepth(tmp_path / "d.npy")(np.zeros((4, 4, 3), np.uint8))

    def test_3d_array_rejected(self, tmp_path):
        np.save(tmp_path / "d.npy", np.ones((4, 4, 3), np.float32))
        with pytest.raises(InputError, match=r"shape \(4, 4, 3\)"):
            FileDepth(tmp_path / "d.npy")(np.zeros((4, 4, 3), np.uint8))


# ---------------------------------------------------------------------------------------------------------------
# Tiny neural models through the real load path


@pytest.mark.neural
class TestDepthAnything:
    def test_relative_end_to_end(self, tmp_path, textured_image, tiny_depth_anything):
        import torch

        torch.set_num_threads(1)
        from shotsmith.backends.depth.neural import DepthAnythingSettings, DepthAnythingV2

        folder = tiny_depth_anything(tmp_path / "da2")
        assert (folder / "model.safetensors").is_file()
        backend = DepthAnythingV2(model=str(folder), settings=DepthAnythingSettings(input_size=56))
        assert backend.weights_present()
        res = backend(textured_image)
        assert res.kind == "relative" and res.intrinsics is None
        assert res.depth.shape == textured_image.shape[:2] and res.depth.dtype == np.float32
        assert (res.depth > 0).all() and np.isfinite(res.depth).all()
        # the documented disparity -> depth map: the farthest surfaces sit at relative_range
        assert res.depth.max() == pytest.approx(20.0)

    def test_metric_and_saved_processor(self, tmp_path, textured_image, tiny_depth_anything):
        from shotsmith.backends.depth.neural import DepthAnythingV2

        folder = tiny_depth_anything(tmp_path / "da2m", metric=True, processor=True)
        backend = DepthAnythingV2(model=str(folder))
        backend.load()
        assert backend.metric and backend._processor is not None
        res = backend(textured_image)
        assert res.kind == "metric"
        assert res.depth.shape == textured_image.shape[:2]
        assert (res.depth >= 0).all() and res.depth.max() <= 20.0

    def test_missing_folder_is_unavailable(self, tmp_path):
        from shotsmith.backends.depth.neural import DepthAnythingV2

        backend = DepthAnythingV2(model=str(tmp_path / "nothing-here"))
        assert not backend.weights_present()
        with pytest.raises(BackendUnavailable, match="cannot load"):
            backend.load()


def test_disparity_to_depth_is_monotone():
    from shotsmith.backends.depth.neural import disparity_to_depth

    disp = np.linspace(-1.0, 5.0, 100, dtype=np.float32)[None, :]
    d = disparity_to_depth(disp, relative_range=10.0)
    assert np.all(np.diff(d[0]) <= 0)  # more disparity = nearer
    assert d.max() == pytest.approx(10.0)  # the farthest 2% sit at relative_range
    assert 0.8 < d.min() <= 1.0 / 1.1  # the 98th percentile of disparity sits at 1 / (1 + 1 / range)


TINY_MOGE = {
    "encoder": {"backbone": "dinov2_vits14", "intermediate_layers": 2, "dim_out": 32},
    "neck": {
        "dim_in": [34, 2, 2],
        "dim_res_blocks": [32, 32, 32],
        "dim_out": [32, 32, 32],
        "resamplers": ["bilinear", "bilinear"],
        "num_res_blocks": 1,
        "res_block_hidden_norm": "layer_norm",
    },
    "points_head": {
        "dim_in": [32, 32, 32],
        "dim_res_blocks": [32, 32, 32],
        "dim_out": [None, None, 3],
        "resamplers": ["bilinear", "bilinear"],
        "num_res_blocks": 0,
    },
    "mask_head": {
        "dim_in": [32, 32, 32],
        "dim_res_blocks": [32, 32, 32],
        "dim_out": [None, None, 1],
        "resamplers": ["bilinear", "bilinear"],
        "num_res_blocks": 0,
    },
    "scale_head": {"dims": [384, 16, 1]},
    "remap_output": "exp",
    "num_tokens_range": [16, 64],
}


@pytest.fixture(scope="module")
def tiny_moge_folder(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    from moge.model.v2 import MoGeModel

    from shotsmith.backends.depth.neural import save_moge_safetensors

    net = MoGeModel(**TINY_MOGE).eval()
    return save_moge_safetensors(net, TINY_MOGE, tmp_path_factory.mktemp("moge"))


@pytest.mark.neural
class TestMoGe:
    def test_end_to_end(self, tiny_moge_folder, textured_image):
        from shotsmith.backends.depth.neural import MoGe

        backend = MoGe(model=str(tiny_moge_folder))
        assert backend.available()[0] and backend.weights_present()
        res = backend(textured_image[:48, :64])
        assert res.kind == "metric" and res.depth.shape == (48, 64) and res.depth.dtype == np.float32
        assert np.isfinite(res.depth).all() and (res.depth >= 0).all()
        # intrinsics are in pixels (or dropped with a note when the random model's focal is unusable)
        if res.intrinsics is not None:
            assert res.intrinsics[2] == pytest.approx(32.0) and res.intrinsics[3] == pytest.approx(24.0)
        else:
            assert "focal" in res.notes[0]
        assert "dlr-moge" in backend.version()

    def test_given_fov_gives_those_intrinsics(self, tiny_moge_folder, textured_image):
        from shotsmith.backends.depth.neural import MoGe, MoGeSettings

        res = MoGe(model=str(tiny_moge_folder), settings=MoGeSettings(fov_x=90.0))(textured_image[:48, :64])
        assert res.intrinsics is not None
        assert res.intrinsics[0] == pytest.approx(32.0, rel=1e-3)  # fx = (W / 2) / tan(45 deg)

    def test_pt_file_refused(self, tmp_path):
        from shotsmith.backends.depth.neural import MoGe

        (tmp_path / "model.pt").write_bytes(b"pickle")
        with pytest.raises(BackendUnavailable, match="safetensors only"):
            MoGe(model=str(tmp_path / "model.pt")).load()

    def test_mismatched_weights(self, tiny_moge_folder, tmp_path):
        import shutil

        from shotsmith.backends.depth.neural import MoGe

        bad = tmp_path / "bad"
        shutil.copytree(tiny_moge_folder, bad)
        cfg = json.loads((bad / "config.json").read_text())
        cfg["scale_head"] = {"dims": [384, 8, 1]}
        (bad / "config.json").write_text(json.dumps(cfg))
        with pytest.raises(BackendUnavailable, match="do not fit"):
            MoGe(model=str(bad)).load()


def test_bare_file_name_asks_for_a_path():
    with pytest.raises(InputError, match="path"):
        resolve_depth("file")


# ---------------------------------------------------------------------------------------------------------------
# issue 14: MoGe keys like its own loader, no network, the GPU when there is one


@pytest.mark.neural
class TestMoGeKeys:
    def _copy(self, tiny_moge_folder, tmp_path, edit):
        import shutil

        from safetensors.torch import load_file, save_file

        folder = tmp_path / "edited"
        shutil.copytree(tiny_moge_folder, folder)
        state = load_file(str(folder / "model.safetensors"))
        edit(state)
        save_file(state, str(folder / "model.safetensors"))
        return folder

    def test_missing_constant_buffers_are_tolerated(self, tiny_moge_folder, tmp_path, textured_image):
        """The encoder's ImageNet mean/std are constants the constructor makes; a checkpoint without them loads."""
        from shotsmith.backends.depth.neural import MoGe

        def drop(state):
            del state["encoder.image_mean"], state["encoder.image_std"]

        backend = MoGe(model=str(self._copy(tiny_moge_folder, tmp_path, drop)))
        ref = MoGe(model=str(tiny_moge_folder))
        np.testing.assert_array_equal(
            backend(textured_image[:48, :64]).depth, ref(textured_image[:48, :64]).depth
        )

    def test_a_missing_weight_is_refused(self, tiny_moge_folder, tmp_path):
        from shotsmith.backends.depth.neural import MoGe

        def drop(state):
            del state["scale_head.0.weight"]

        with pytest.raises(BackendUnavailable, match=r"scale_head\.0\.weight"):
            MoGe(model=str(self._copy(tiny_moge_folder, tmp_path, drop))).load()

    def test_an_unknown_tensor_is_refused(self, tiny_moge_folder, tmp_path):
        import torch

        from shotsmith.backends.depth.neural import MoGe

        def add(state):
            state["normal_head.0.weight"] = torch.zeros(3)

        with pytest.raises(BackendUnavailable, match="normal_head"):
            MoGe(model=str(self._copy(tiny_moge_folder, tmp_path, add))).load()


def test_hub_ids_are_looked_up_in_the_cache_only(monkeypatch):
    import huggingface_hub

    from shotsmith.backends.depth.neural import moge_files

    calls = []

    def fake_download(**kwargs):
        calls.append(kwargs)
        raise FileNotFoundError("not cached")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    with pytest.raises(BackendUnavailable, match="hf download"):
        moge_files("Ruicheng/moge-2-vitl-normal")
    assert calls and all(c.get("local_files_only") is True for c in calls)


@pytest.mark.neural
def test_depth_anything_never_downloads_and_names_hf(monkeypatch):
    from transformers import DepthAnythingForDepthEstimation

    from shotsmith.backends.depth.neural import DepthAnythingV2

    calls = []

    def fake(*args, **kwargs):
        calls.append(kwargs)
        raise OSError("not cached")

    monkeypatch.setattr(DepthAnythingForDepthEstimation, "from_pretrained", fake)
    with pytest.raises(BackendUnavailable, match="hf download") as err:
        DepthAnythingV2().load()
    assert "huggingface-cli" not in str(err.value)
    assert calls and calls[0].get("local_files_only") is True


@pytest.mark.neural
def test_depth_models_go_to_the_gpu(monkeypatch, tmp_path, tiny_depth_anything, tiny_moge_folder):
    """On a machine with CUDA the depth networks move there (they used to stay on the CPU)."""
    import torch
    from moge.model.v2 import MoGeModel
    from transformers import DepthAnythingForDepthEstimation

    from shotsmith.backends.depth.neural import DepthAnythingV2, MoGe

    moved = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    for cls in (DepthAnythingForDepthEstimation, MoGeModel):
        monkeypatch.setattr(
            cls, "to", lambda self, *a, **k: moved.append((type(self).__name__, a, k)) or self
        )
    DepthAnythingV2(model=str(tiny_depth_anything(tmp_path / "da2"))).load()
    MoGe(model=str(tiny_moge_folder)).load()
    assert [(name, a) for name, a, _ in moved] == [
        ("DepthAnythingForDepthEstimation", ("cuda",)),
        ("MoGeModel", ("cuda",)),
    ]
