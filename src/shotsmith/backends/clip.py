"""The open-clip backend: CLIP text-frame score, frame-to-frame consistency and zero-shot scene tags.

Loading is separate from calling: `ClipBackend(model, pretrained)` touches nothing; `load()` imports torch and
open_clip, builds the architecture by name (any `open_clip.list_models()` name, or a path to an open-clip model
config JSON `{"embed_dim", "vision_cfg", "text_cfg"}`) and loads the weights from a local **safetensors** file,
or from an open-clip pretrained tag whose .safetensors file is already in the local hub cache (never downloads,
never unpickles). The activation follows the weights: OpenAI's CLIPs were trained with QuickGELU, so a file with
an `open_clip_config.json` beside it (how open-clip hub repos ship weights) or a pretrained tag builds the
activation they say; an "openai" file without one must be given a `-quickgelu` model, else it is refused.
Scores follow common practice: CLIP score = 100 * max(cos(image, text), 0) averaged over frames (torchmetrics'
CLIPScore), consistency = 100 * mean cos of consecutive frames' image embeddings. Scene tags are the
best-scoring entries of `SCENE_VOCABULARY` under the prompt template "a photo of {}." (docs/EVALUATION.md).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shotsmith.backends.packages import package_version
from shotsmith.errors import BackendUnavailable, InputError

INSTALL_HINT = "pip install 'shotsmith[neural]'  (open-clip-torch, torchvision)"
DEFAULT_MODEL = "ViT-B-32"
#: Frames scored per video (evenly spaced; first and last included).
MAX_FRAMES = 16
#: Zero-shot prompt template for scene tags.
SCENE_TEMPLATE = "a photo of {}."
#: The documented scene vocabulary (docs/EVALUATION.md): places, times of day and common subjects.
SCENE_VOCABULARY: tuple[str, ...] = (
    # places, outdoor
    "a beach",
    "the ocean",
    "a lake",
    "a river",
    "a waterfall",
    "a forest",
    "a jungle",
    "a field of grass",
    "a field of flowers",
    "a garden",
    "a park",
    "a mountain landscape",
    "a snowy landscape",
    "a desert",
    "a canyon",
    "a city street",
    "a city skyline",
    "a small town",
    "a village",
    "a road",
    "a bridge",
    "a harbor with boats",
    "an underwater scene",
    "outer space",
    "the sky with clouds",
    # places, indoor
    "a living room",
    "a bedroom",
    "a kitchen",
    "an office",
    "a classroom",
    "a library",
    "a restaurant",
    "a cafe",
    "a shop",
    "a museum",
    "a church",
    "a stage",
    "a studio",
    "a factory",
    "a corridor",
    # time and light
    "a sunset",
    "a night scene",
    "a foggy scene",
    "a rainy scene",
    # subjects
    "a portrait of a person",
    "a group of people",
    "a child",
    "an astronaut",
    "a dog",
    "a cat",
    "a horse",
    "a bird",
    "a car",
    "a train",
    "an airplane",
    "a building",
    "a house",
    "a castle",
    "a statue",
    "food on a table",
    "a still life",
    "a toy",
    "a painting",
    "an abstract pattern",
)


@dataclass
class SceneTag:
    """One zero-shot tag and its probability among the vocabulary."""

    tag: str
    probability: float


def available() -> tuple[bool, str]:
    """(open_clip and torch are importable, reason if not). Cheap: find_spec only."""
    for mod in ("torch", "open_clip", "torchvision"):
        if importlib.util.find_spec(mod) is None:
            return False, f"{mod} is not installed; {INSTALL_HINT}"
    return True, ""


@contextlib.contextmanager
def _offline():
    """No hub access inside: the environment variables for what imports huggingface_hub later, and
    huggingface_hub's own flag, which it reads from the environment only once, when it is first imported."""
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict.fromkeys(keys, "1"))
    try:
        import huggingface_hub.constants as hub_constants
    except ImportError:
        hub_constants = None
    old_flag = getattr(hub_constants, "HF_HUB_OFFLINE", None)
    if hub_constants is not None:
        hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        if hub_constants is not None:
            hub_constants.HF_HUB_OFFLINE = old_flag
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _quiet_logging():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _model_quick_gelu(name: str) -> bool:
    """Whether open-clip's model config `name` builds QuickGELU."""
    import open_clip

    return bool((open_clip.get_model_config(name) or {}).get("quick_gelu", False))


def resolve_model_name(model: str) -> str:
    """An open-clip model name; a path to a model config JSON is registered under its file stem first."""
    import open_clip

    p = Path(model)
    if p.suffix == ".json":
        if not p.is_file():
            raise InputError(f"--clip-model {model}: no such model config file")
        open_clip.add_model_config(p)
        return p.stem
    if model not in open_clip.list_models():
        raise InputError(
            f"--clip-model {model!r}: not an open-clip model; choose one of open_clip.list_models() (e.g. "
            f"{DEFAULT_MODEL}) or give a model config .json"
        )
    return model


def sidecar_quick_gelu(weights: Path) -> bool | None:
    """What an `open_clip_config.json` beside a weights file says about QuickGELU (open-clip hub repos ship one:
    `{"model_cfg": {..., "quick_gelu": true}}`); None when there is no readable one."""
    import json

    try:
        data = json.loads((weights.parent / "open_clip_config.json").read_text())
    except (OSError, ValueError):
        return None
    model_cfg = data.get("model_cfg", data) if isinstance(data, dict) else None
    return bool(model_cfg.get("quick_gelu", False)) if isinstance(model_cfg, dict) else None


def cached_tag_weights(name: str, tag: str) -> tuple[Path | None, bool]:
    """(the .safetensors file of open-clip's pretrained tag in the local hub cache or None, whether the tag's
    weights were trained with QuickGELU). Looks only in the cache: no network, no pickle files."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(name, tag) or {}
    quick = bool(cfg.get("quick_gelu", False))
    hub = cfg.get("hf_hub", "")
    if not hub:
        return None, quick
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None, quick
    repo, filename = os.path.split(hub.rstrip("/")) if not hub.endswith("/") else (hub.rstrip("/"), "")
    filename = filename or "open_clip_pytorch_model.bin"
    candidates = ["open_clip_model.safetensors"] if filename == "open_clip_pytorch_model.bin" else []
    if filename.endswith((".bin", ".pth")):
        candidates.append(filename[:-4] + ".safetensors")
    elif filename.endswith(".safetensors"):
        candidates.append(filename)
    for candidate in candidates:
        try:
            hit = try_to_load_from_cache(repo, candidate)
        except Exception:  # noqa: BLE001 - an invalid repo id means "not cached"
            hit = None
        if isinstance(hit, str) and Path(hit).is_file():
            return Path(hit), quick
    return None, quick


class ClipBackend:
    """CLIP scores with an open-clip model. `load()` before calling; tests may set `model`, `preprocess`,
    `tokenizer` directly."""

    name = "open-clip"

    def __init__(
        self, model: str = DEFAULT_MODEL, pretrained: str | os.PathLike | None = None, device: str = "cpu"
    ):
        self.model_name = str(model)
        self.pretrained = None if pretrained is None else str(pretrained)
        self.device = device
        self.model = None
        self.preprocess = None
        self.tokenizer = None
        self.activation: str | None = None
        """After `load`: "QuickGELU" or "GELU", the MLP activation built (the weights' own)."""

    def describe(self) -> str:
        activation = f", {self.activation}" if self.activation else ""
        return f"{self.model_name} ({self.pretrained}{activation})"

    def version(self) -> str:
        return package_version("open_clip_torch", "open_clip")

    def load(self) -> ClipBackend:
        ok, why = available()
        if not ok:
            raise BackendUnavailable(f"CLIP scores need open-clip: {why}")
        if not self.pretrained:
            raise BackendUnavailable(
                "CLIP scores need weights: pass --clip-pretrained PATH.safetensors (or an open-clip tag such as "
                "laion2b_s34b_b79k already in the local cache)"
            )
        import open_clip

        name = resolve_model_name(self.model_name)
        path = Path(self.pretrained)
        looks_like_file = path.suffix != "" or os.sep in self.pretrained
        if looks_like_file:
            if not path.is_file():
                raise InputError(f"--clip-pretrained {path}: no such weights file")
            if path.suffix != ".safetensors":
                raise InputError(
                    f"--clip-pretrained {path}: weights load from .safetensors only (pickle files can run code); "
                    "convert with safetensors.torch.save_file(torch.load(p, weights_only=True), 'model.safetensors')"
                )
            weights, trained_quick, said_by = (
                path,
                sidecar_quick_gelu(path),
                f"{path.parent}/open_clip_config.json",
            )
        else:
            weights, trained_quick = cached_tag_weights(name, self.pretrained)
            said_by = f"open-clip's pretrained tag {self.pretrained!r}"
            if weights is None:
                raise BackendUnavailable(
                    f"open-clip weights {name}/{self.pretrained} are not on this machine as .safetensors in the "
                    "local hub cache; download them once where there is a network, or pass a .safetensors path"
                )
        force_quick = self._check_activation(name, weights, trained_quick, said_by)
        from safetensors.torch import load_file

        with _offline(), _quiet_logging():  # open_clip warns "no pretrained weights" before we load ours
            model, _, preprocess = open_clip.create_model_and_transforms(
                name, pretrained=None, force_quick_gelu=force_quick
            )
        state = load_file(str(weights))
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise InputError(
                f"--clip-pretrained {weights}: weights do not fit model {self.model_name} ({str(exc).splitlines()[0]})"
            ) from exc
        from shotsmith.backends.packages import resolve_device

        self.device = resolve_device(self.device, "clip")
        model.eval().to(self.device)
        with _offline():
            tokenizer = open_clip.get_tokenizer(name)
        self.model, self.preprocess, self.tokenizer = model, preprocess, tokenizer
        self.activation = "QuickGELU" if force_quick or _model_quick_gelu(name) else "GELU"
        return self

    def _check_activation(self, name: str, weights: Path, trained_quick: bool | None, said_by: str) -> bool:
        """Whether to build QuickGELU into a model that does not have it (the weights say they were trained with
        it); InputError when the weights and the model disagree in a way that cannot be repaired or is a guess."""
        model_quick = _model_quick_gelu(name)
        if trained_quick is None:  # nothing says: only the file name can hint at OpenAI's weights
            if "openai" in str(weights).lower() and not model_quick:
                raise InputError(
                    f"--clip-pretrained {weights}: OpenAI's CLIP weights were trained with QuickGELU, but "
                    f"{self.model_name} uses GELU (the embeddings would be off without an error); pass "
                    f'--clip-model {name}-quickgelu (or a config with "quick_gelu": true), or put the weights\' '
                    "open_clip_config.json beside the file"
                )
            return False
        if trained_quick and not model_quick:
            return True
        if model_quick and not trained_quick:
            raise InputError(
                f"--clip-pretrained {weights}: {said_by} says these weights were trained with GELU, but "
                f"{self.model_name} uses QuickGELU; pass the model without -quickgelu"
            )
        return False

    # -- embeddings ------------------------------------------------------------------------------------------
    def _check(self) -> None:
        if self.model is None:
            raise RuntimeError("ClipBackend: call load() first")

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """(T, D) L2-normalised image embeddings of (T, H, W, 3) uint8 frames."""
        import torch
        from PIL import Image

        self._check()
        batch = torch.stack([self.preprocess(Image.fromarray(np.asarray(f, np.uint8))) for f in frames]).to(
            self.device
        )
        with torch.no_grad():
            feats = self.model.encode_image(batch).float()
        return torch.nn.functional.normalize(feats, dim=-1).cpu().numpy()

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """(K, D) L2-normalised text embeddings."""
        import torch

        self._check()
        tokens = self.tokenizer(list(texts)).to(self.device)
        with torch.no_grad():
            feats = self.model.encode_text(tokens).float()
        return torch.nn.functional.normalize(feats, dim=-1).cpu().numpy()

    # -- measures --------------------------------------------------------------------------------------------
    def text_frame_score(self, frames: np.ndarray, text: str) -> float:
        """100 * mean over frames of max(cos(frame, text), 0)."""
        if not text.strip():
            raise InputError("CLIP text-frame score needs a prompt; pass --prompt")
        img = self.encode_images(sample_frames(frames))
        txt = self.encode_texts([text])[0]
        return float(100.0 * np.maximum(img @ txt, 0.0).mean())

    def frame_consistency(self, frames: np.ndarray) -> float:
        """100 * mean cosine of consecutive sampled frames' embeddings (1 frame: 100)."""
        img = self.encode_images(sample_frames(frames))
        if len(img) < 2:
            return 100.0
        return float(100.0 * np.sum(img[:-1] * img[1:], axis=1).mean())

    def scene_tags(
        self, image: np.ndarray, top_k: int = 3, vocabulary: tuple[str, ...] = SCENE_VOCABULARY
    ) -> list[SceneTag]:
        """The `top_k` vocabulary entries that best describe one (H, W, 3) uint8 image (softmax of 100 * cos)."""
        img = self.encode_images(np.asarray(image)[None])[0]
        txt = self.encode_texts([SCENE_TEMPLATE.format(v) for v in vocabulary])
        logits = 100.0 * (txt @ img)
        prob = np.exp(logits - logits.max())
        prob /= prob.sum()
        order = np.argsort(-prob)[:top_k]
        return [SceneTag(vocabulary[i], float(prob[i])) for i in order]


def sample_frames(frames: np.ndarray, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """At most `max_frames` evenly spaced frames (first and last kept)."""
    frames = np.asarray(frames)
    if len(frames) <= max_frames:
        return frames
    idx = np.unique(np.round(np.linspace(0, len(frames) - 1, max_frames)).astype(int))
    return frames[idx]


def scene_text(tags: list[SceneTag], min_probability: float = 0.0) -> str:
    """Tags as a short phrase: "a living room, a portrait of a person"."""
    return ", ".join(t.tag for t in tags if t.probability >= min_probability)
