"""Neural depth backends: Depth Anything V2 (transformers) and MoGe v2 (dlr-moge). torch, transformers and moge
are imported only inside methods, so importing this module is cheap.

Weights load from safetensors only, from a hub id or a local folder:
- `depth-anything-v2`: `DepthAnythingForDepthEstimation.from_pretrained(model, use_safetensors=True)`. Relative
  checkpoints predict an affine-invariant *disparity*; it is turned into depth as
  `depth = 1 / (d_norm + 1 / relative_range)` with `d_norm = (d - q02) / (q98 - q02)` clipped to [0, inf), so the
  nearest surfaces sit near 1 and the farthest (sky) at `relative_range` (20 by default) times farther. Metric
  checkpoints (`config.depth_estimation_type == "metric"`) predict metres and are used as they are.
- `moge`: MoGe v2's own `from_pretrained` reads a pickled `model.pt` through `torch.load`; shotsmith never does
  that. It builds `moge.model.v2.MoGeModel(**config)` from `config.json` (the checkpoint's `model_config`) and
  loads `model.safetensors` beside it (a local folder, a .safetensors file with config.json next to it, or a hub
  repo holding those two files). docs/DEPTH.md shows the one-time conversion of an official checkpoint.
"""

from __future__ import annotations

import abc
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shotsmith.backends.depth.base import DepthBackend, DepthResult, register
from shotsmith.backends.packages import package_available, package_version, resolve_device
from shotsmith.errors import BackendUnavailable, InputError

DA2_DEFAULT_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"
MOGE_DEFAULT_MODEL = "Ruicheng/moge-2-vitl-normal"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def _hub_cached(repo_id: str, filenames: tuple[str, ...]) -> bool:
    """True when every file of `repo_id` is in the local Hugging Face hub cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for filename in filenames:
        try:
            hit = try_to_load_from_cache(repo_id=repo_id, filename=filename)
        except Exception:  # noqa: BLE001 - an invalid repo id is simply "not cached"
            return False
        if not isinstance(hit, str):
            return False
    return True


def _folder_config(folder: Path) -> dict:
    """config.json of a local model folder ({} when missing or unreadable); tells which backend it is for."""
    try:
        data = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


#: Tensors a MoGe v2 checkpoint may lack because the constructor makes them (constants, not weights): the
#: encoder's ImageNet normalisation (moge/model/modules.py DINOv2Encoder). MoGe's own loader is not strict.
MOGE_CONSTANT_BUFFERS: frozenset[str] = frozenset({"encoder.image_mean", "encoder.image_std"})


def _torch_threads() -> None:
    import torch

    n = os.environ.get("SHOTSMITH_TORCH_THREADS")
    if n:
        torch.set_num_threads(max(1, int(n)))


class _NeuralDepth(DepthBackend):
    """What the neural backends share: their packages, their version, and `load` guarded by `available`."""

    packages: tuple[str, ...] = ()
    """Python modules the backend imports (checked with find_spec only)."""
    distribution: str = ""
    """The installed package whose version `version()` reports."""
    _net = None

    def available(self) -> tuple[bool, str]:
        return package_available(*self.packages)

    def version(self) -> str:
        return package_version(self.distribution)

    device: str = "cpu"
    """Where the loaded network runs (the settings' `device`, resolved by `load`)."""

    def load(self) -> None:
        if self._net is not None:
            return
        ok, reason = self.available()
        if not ok:
            raise BackendUnavailable(f"{self.name}: {reason}")
        self._load_net()
        self.device = resolve_device(getattr(self.settings, "device", "auto"), f"depth {self.name}")
        if self.device != "cpu":  # the networks load on the CPU; a GPU machine runs them there
            self._net = self._net.to(self.device)

    @abc.abstractmethod
    def _load_net(self) -> None:
        """Build `self._net` (and what goes with it) from the weights; `available()` has passed."""


# ---------------------------------------------------------------------------------------------------------------
# Depth Anything V2


@dataclass
class DepthAnythingSettings:
    """Inference settings of the Depth Anything V2 backend."""

    input_size: int = 518
    """Shorter image side fed to the network (rounded to a multiple of 14), when no image processor is saved."""
    relative_range: float = 20.0
    """For relative checkpoints: how many times farther the farthest surface is than the nearest."""
    device: str = "auto"
    """Torch device: "auto" = CUDA when available, else the CPU; "cpu", "cuda", "cuda:N"."""
    fetch: bool = False
    """Download the hub checkpoint on first use when it is not on this machine (`--depth auto` online)."""


@register("depth-anything-v2")
class DepthAnythingV2(_NeuralDepth):
    """Depth Anything V2 through transformers' `DepthAnythingForDepthEstimation`."""

    name = "depth-anything-v2"
    packages = ("torch", "transformers")
    distribution = "transformers"

    def __init__(self, model: str | None = None, settings: DepthAnythingSettings | None = None) -> None:
        self.model = str(model or DA2_DEFAULT_MODEL)
        self.settings = settings or DepthAnythingSettings()
        self._net = None
        self._processor = None

    def weights_present(self) -> bool:
        p = Path(self.model)
        if p.is_dir():
            is_da = _folder_config(p).get("model_type") == "depth_anything"
            return is_da and any(p.glob("*.safetensors"))
        return _hub_cached(self.model, ("config.json", "model.safetensors"))

    def _load_net(self) -> None:
        if self.settings.fetch and not self.weights_present():
            from shotsmith.console import info
            from shotsmith.models import find, pull

            known = find(self.model)
            info(
                f"depth: fetching {known.hub_id} ({known.licence}, ~{known.size_gb:g} GB) once, for --depth auto"
            )
            pull(known)
        self._load_weights()

    def _load_weights(self) -> None:
        _torch_threads()
        from transformers import DepthAnythingForDepthEstimation

        try:  # never a download: a local folder, or a hub id already in the local cache
            net = DepthAnythingForDepthEstimation.from_pretrained(
                self.model, use_safetensors=True, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            hub_id = (
                self.model
                if not Path(self.model).exists() and self.model.count("/") == 1
                else DA2_DEFAULT_MODEL
            )
            raise BackendUnavailable(
                f"depth-anything-v2: cannot load {self.model!r} ({str(exc).splitlines()[0][:200]}); give a local "
                f"folder with config.json + model.safetensors via --model, or run `hf download {hub_id}` once on "
                "a machine with network"
            ) from exc
        self._net = net.eval()
        self._processor = self._load_processor()

    def _load_processor(self):
        p = Path(self.model)
        has_processor = (
            (p / "preprocessor_config.json").is_file()
            if p.is_dir()
            else _hub_cached(self.model, ("preprocessor_config.json",))
        )
        if not has_processor:
            return None
        try:
            from transformers import DPTImageProcessor

            return DPTImageProcessor.from_pretrained(self.model, local_files_only=True)
        except Exception:  # noqa: BLE001 - fall back to the documented own preprocessing
            return None

    @property
    def metric(self) -> bool:
        return getattr(self._net.config, "depth_estimation_type", "relative") == "metric"

    def preprocess(self, rgb: np.ndarray):
        """(1, 3, h, w) float32 tensor: the saved image processor, or a resize of the shorter side to
        `input_size` (multiple of 14) and ImageNet normalisation."""
        import cv2
        import torch

        if self._processor is not None:
            return self._processor(images=rgb, return_tensors="pt")["pixel_values"]
        h, w = rgb.shape[:2]
        s = self.settings.input_size / min(h, w)
        th = max(14, int(round(h * s / 14)) * 14)
        tw = max(14, int(round(w * s / 14)) * 14)
        x = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
        x = (x.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]

    def __call__(self, rgb: np.ndarray) -> DepthResult:
        self.load()
        import torch
        import torch.nn.functional as F  # noqa: N812

        h, w = rgb.shape[:2]
        with torch.inference_mode():
            pixels = self.preprocess(rgb).to(self.device, next(self._net.parameters()).dtype)
            pred = self._net(pixel_values=pixels).predicted_depth
            pred = F.interpolate(pred[:, None].float(), (h, w), mode="bilinear", align_corners=False)[0, 0]
        out = pred.cpu().numpy().astype(np.float32)
        if self.metric:
            depth = np.where(np.isfinite(out) & (out > 0), out, 0).astype(np.float32)
            return DepthResult(depth=depth, kind="metric", mask=depth > 0)
        depth = disparity_to_depth(out, self.settings.relative_range)
        return DepthResult(depth=depth, kind="relative", mask=depth > 0)


def disparity_to_depth(disparity: np.ndarray, relative_range: float = 20.0) -> np.ndarray:
    """(H, W) float32 depth from an affine-invariant disparity map (Depth Anything's relative output).

    The 2nd and 98th percentiles of disparity map to 0 and 1 (clipped below at 0), then
    `depth = 1 / (d_norm + 1 / relative_range)`: the nearest surfaces lie near depth 1, the farthest at
    `relative_range`. The unknown affine shift of the disparity makes any such choice a guess; this one keeps the
    sky at a finite, large distance instead of infinity.
    """
    d = np.asarray(disparity, dtype=np.float64)
    finite = np.isfinite(d)
    if not finite.any():
        return np.zeros(d.shape, np.float32)
    lo, hi = np.percentile(d[finite], [2.0, 98.0])
    span = max(hi - lo, 1e-12)
    dn = np.clip((np.where(finite, d, lo) - lo) / span, 0.0, None)
    depth = 1.0 / (dn + 1.0 / max(relative_range, 1.0 + 1e-6))
    return np.where(finite, depth, 0.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# MoGe v2


@dataclass
class MoGeSettings:
    """Inference settings of the MoGe backend."""

    resolution_level: int = 9
    """MoGe's speed/detail trade-off (0..9): the number of ViT tokens within the model's range."""
    num_tokens: int | None = None
    """Exact number of ViT tokens (overrides `resolution_level`)."""
    use_fp16: bool = False
    """Half precision (GPU only; the CPU runs float32)."""
    fov_x: float | None = None
    """Known horizontal field of view (degrees): MoGe then recovers only the depth shift, not the focal."""
    device: str = "auto"
    """Torch device: "auto" = CUDA when available, else the CPU; "cpu", "cuda", "cuda:N"."""


def moge_files(model: str) -> tuple[Path, Path]:
    """(config.json, model.safetensors) for a local folder, a .safetensors file, or a cached/downloaded hub repo.
    Raises BackendUnavailable saying what is missing."""
    p = Path(model)
    if p.is_dir():
        config, weights = p / "config.json", p / "model.safetensors"
    elif p.is_file():
        if p.suffix != ".safetensors":
            raise BackendUnavailable(
                f"moge: {p} is not a .safetensors file; shotsmith loads weights from safetensors only "
                "(docs/DEPTH.md shows how to convert MoGe's model.pt once)"
            )
        config, weights = p.with_name("config.json"), p
    else:
        try:  # the local hub cache only: never a download
            import huggingface_hub

            config = Path(
                huggingface_hub.hf_hub_download(repo_id=model, filename="config.json", local_files_only=True)
            )
            weights = Path(
                huggingface_hub.hf_hub_download(
                    repo_id=model, filename="model.safetensors", local_files_only=True
                )
            )
        except Exception as exc:  # noqa: BLE001 - not cached, unknown repo, or no safetensors in it
            raise BackendUnavailable(
                f"moge: config.json + model.safetensors of {model!r} are not in the local hub cache "
                f"({type(exc).__name__}); give a local folder holding both via --model, or `hf download` a repo "
                "that has them (docs/DEPTH.md: converting MoGe's model.pt)"
            ) from exc
    for f in (config, weights):
        if not f.is_file():
            raise BackendUnavailable(
                f"moge: {f} is missing; a MoGe folder needs config.json (the model_config) and model.safetensors"
            )
    return config, weights


@register("moge")
class MoGe(_NeuralDepth):
    """MoGe v2 (metric point maps and intrinsics) through dlr-moge, loaded from safetensors."""

    name = "moge"
    packages = ("torch", "moge", "utils3d")
    distribution = "dlr-moge"

    def __init__(self, model: str | None = None, settings: MoGeSettings | None = None) -> None:
        self.model = str(model or MOGE_DEFAULT_MODEL)
        self.settings = settings or MoGeSettings()
        self._net = None

    def weights_present(self) -> bool:
        p = Path(self.model)
        if p.is_file() and p.suffix == ".safetensors":
            p = p.parent
        if p.is_dir():
            config = _folder_config(p)
            return "encoder" in config.get("model_config", config) and (p / "model.safetensors").is_file()
        return _hub_cached(self.model, ("config.json", "model.safetensors"))

    def _load_net(self) -> None:
        config_path, weights_path = moge_files(self.model)
        self._net = load_moge_safetensors(config_path, weights_path)

    def __call__(self, rgb: np.ndarray) -> DepthResult:
        self.load()
        import torch

        h, w = rgb.shape[:2]
        image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().to(self.device) / 255.0
        s = self.settings
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="In CPU autocast")
            out = self._net.infer(
                image,
                num_tokens=s.num_tokens,
                resolution_level=s.resolution_level,
                use_fp16=s.use_fp16,
                fov_x=s.fov_x,
            )
        depth = out["depth"].float().cpu().numpy()
        mask = out["mask"].cpu().numpy().astype(bool) if "mask" in out else np.isfinite(depth)
        depth = np.where(mask & np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)
        k = out["intrinsics"].float().cpu().numpy()  # normalised: fx, fy in image widths / heights
        intrinsics = np.array([k[0, 0] * w, k[1, 1] * h, k[0, 2] * w, k[1, 2] * h], dtype=np.float64)
        notes = []
        if not (np.isfinite(intrinsics).all() and (intrinsics[:2] > 0).all()):
            notes.append("moge: the estimated focal length is not usable; using the default field of view")
            intrinsics = None
        kind = "metric" if hasattr(self._net, "scale_head") else "relative"
        return DepthResult(depth=depth, kind=kind, intrinsics=intrinsics, mask=depth > 0, notes=notes)


def load_moge_safetensors(config_path: str | Path, weights_path: str | Path):
    """A `moge.model.v2.MoGeModel` (eval mode) built from a JSON config and safetensors weights.

    `config_path` holds MoGe's `model_config` dict (the constructor's keyword arguments). Every weight of the
    model must be in the file with its shape and the file must hold nothing else, so a config/weights mismatch
    fails loudly instead of running half-random; the only tensors that may be missing are the constants the
    constructor makes itself (`MOGE_CONSTANT_BUFFERS`), as MoGe's own non-strict loader allows.
    """
    _torch_threads()
    from moge.model.v2 import MoGeModel
    from safetensors.torch import load_file

    try:
        config = json.loads(Path(config_path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BackendUnavailable(f"moge: {config_path}: not a readable JSON config ({exc})") from exc
    config = config.get("model_config", config)
    try:
        net = MoGeModel(**config)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"moge: {config_path}: the config does not describe a MoGe v2 model ({exc})"
        ) from exc
    try:
        state = load_file(str(weights_path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise BackendUnavailable(f"moge: {weights_path}: not a readable safetensors file ({exc})") from exc
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise BackendUnavailable(
            f"moge: {weights_path}: weights do not fit {config_path} ({str(exc)[:300]})"
        ) from exc
    missing = [k for k in missing if k not in MOGE_CONSTANT_BUFFERS]
    if missing or unexpected:
        raise BackendUnavailable(
            f"moge: {weights_path}: weights do not fit {config_path} (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]})"
        )
    return net.eval()


def moge_key_check(net, keys) -> tuple[list[str], list[str]]:
    """(missing weights, unexpected tensors) of a checkpoint's key list against a MoGe model, with the constructor's
    constants (`MOGE_CONSTANT_BUFFERS`) allowed to be missing: what `load_moge_safetensors` refuses."""
    expected = set(net.state_dict().keys())
    keys = set(keys)
    return sorted(expected - keys - MOGE_CONSTANT_BUFFERS), sorted(keys - expected)


def save_moge_safetensors(net, config: dict, folder: str | Path) -> Path:
    """Write a MoGe model as `folder/config.json` + `folder/model.safetensors` (what `moge` loads)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    return folder
