"""Neural generators `wan` (Wan2.1) and `cogvideox` (CogVideoX) through diffusers, tied to the guidance.

Training-free camera control in the spirit of GEN3C (docs/GENERATORS.md): the rendered guidance video
(holes pre-filled) is encoded with the model's own video VAE; denoising starts from those latents noised to
`strength` (SDEdit); after every scheduler step the latent cells the cache covers are replaced by the guidance
latents re-noised to the next timestep with the scheduler's own forward process, so the model only invents
the holes. Image-to-video checkpoints are also conditioned on the first guidance frame. The loop is driven
here, with the pipeline's components and prompt encoders, so `strength` works for image-to-video too.
`generate_views` runs several views (a camera rig) through one loop, batched, from noise shared where the views
see the same 3D point (`shared_noise`).

This module owns weight location (local folder or hub cache, never a download unless asked), loading
(safetensors only), devices, dtypes and offload. The pure math lives in `_diffusion_guidance`; the generator
interface and the registry in `generator`. torch, diffusers and transformers are imported inside methods, so
importing this module is cheap.
"""

from __future__ import annotations

import abc
import importlib.util
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from shotsmith.backends import _diffusion_guidance as dg
from shotsmith.backends.generator import Constraints, GenerateRequest, Generator, register
from shotsmith.backends.packages import resolve_device, valid_device
from shotsmith.console import note, track
from shotsmith.errors import BackendUnavailable, InputError, check_shape

Mode = Literal["auto", "i2v", "v2v"]
DType = Literal["auto", "float32", "bfloat16", "float16"]
Device = str  # "auto", "cpu", "cuda" or "cuda:N"
Offload = Literal["none", "model", "text-cpu", "group", "sequential"]
OFFLOAD_MODES: tuple[str, ...] = ("none", "model", "text-cpu", "group", "sequential")
"""What `offload` can be (docs/GENERATORS.md, "Memory"): none (everything on the GPU), model (diffusers' model CPU
offload: each component whole on the GPU while it runs), text-cpu (the text encoder stays on and runs on the CPU,
the other components as in model), group (transformer and text-encoder blocks streamed to the GPU one at a time),
sequential (every leaf module streamed; the least memory, the slowest)."""

WAN_DEFAULT_MODEL = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
COGVIDEOX_DEFAULT_MODEL = "zai-org/CogVideoX-5b-I2V"
#: Hub organisations renamed upstream: an id under either name finds weights cached under the other.
HUB_RENAMES: dict[str, str] = {"zai-org": "THUDM"}
#: Text tokens Wan2.1 I2V's attention assumes when it splits image from text tokens (diffusers' WanAttnProcessor).
WAN_I2V_TEXT_TOKENS = 512
WAN_NEGATIVE_PROMPT = (
    "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, "
    "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, "
    "poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, "
    "messy background, three legs, many people in the background, walking backwards"
)
_NEURAL_HINT = "install the neural extra: pip install -e '.[neural]'"


@dataclass
class DiffusionConfig:
    """Options of the `wan` and `cogvideox` generators (None = take the value from the request or the model)."""

    model: str | None = None
    """Hub id or local diffusers folder (with model_index.json). None = the backend's default (see docs)."""
    mode: Mode = "auto"
    """"i2v" conditions on the first guidance frame (image-to-video checkpoints only), "v2v" uses the
    guidance alone (text-to-video checkpoints), "auto" picks i2v when the checkpoint takes an image."""
    steps: int | None = None
    """Denoising steps of the full schedule; None = the request's `steps`."""
    strength: float | None = None
    """In (0, 1]: how much noise the guidance latents start from (1 = pure noise, every step runs);
    None = the request's `strength`."""
    guidance_scale: float | None = None
    """Classifier-free guidance scale (<= 1 disables it); None = the request's `guidance_scale`."""
    seed: int | None = None
    """Seed of the initial and re-noising noise; None = the request's `seed`."""
    dtype: DType = "auto"
    """Weights' dtype: "auto" = bfloat16 on CUDA, float32 on CPU. Wan's VAE always runs in float32."""
    device: Device = "auto"
    """"auto" = CUDA when available; "cpu", "cuda" or "cuda:N" (the N-th GPU)."""
    guidance_scale_2: float | None = None
    """Wan2.2 A14B: classifier-free guidance scale of the low-noise expert (`transformer_2`); None = the same as
    `guidance_scale` (the pipeline's default)."""
    offload: bool | str = False
    """CUDA only; all but none also tile the VAE. none/False: everything on the GPU; model/True: each component
    whole on the GPU while it runs; text-cpu: the text encoder stays on (and runs on) the CPU, the rest as model;
    group: transformer and text-encoder blocks streamed to the GPU one at a time; sequential: every leaf module
    streamed (least memory, slowest). docs/GENERATORS.md gives what each keeps on the GPU."""
    negative_prompt: str | None = None
    """Negative prompt for classifier-free guidance; None = the model family's usual one."""
    max_sequence_length: int | None = None
    """Text tokens; None = the family's training length (Wan 512, CogVideoX 226)."""
    min_coverage: float = 0.98
    """A latent cell is tied to the guidance only if this fraction of its pixels is covered."""
    erode: int = 0
    """Shrink the tied latent cells by this many cells, leaving the model a margin at hole borders."""
    tie_until: float = 1.0
    """Fraction of the run steps (from the first) that blend the guidance in; < 1 lets the last steps
    harmonise seams freely."""
    paste_covered: bool = False
    """Paste the exact guidance pixels back over covered pixels after decoding."""
    allow_download: bool = False
    """Let diffusers download a hub id that is not cached (off: weights must already be on the machine)."""


@dataclass
class GuidedRun:
    """What the last `generate` did in latent space (for tests, debugging and `make bench`); `generate_views`
    keeps one per view in `last_runs`."""

    guide_latents: np.ndarray
    """The guidance video's clean latents, in the model's (normalised) latent layout."""
    latents: np.ndarray
    """The final denoised latents, same layout."""
    latent_mask: np.ndarray
    """(t, h, w) float32, 1 where latent cells were tied to the guidance."""
    timesteps: list[float]
    """The timesteps actually run (after `strength`)."""
    tied_steps: int
    """How many of them blended the guidance in."""
    mode: str
    """"i2v" or "v2v"."""
    noise: np.ndarray | None = None
    """The initial latent noise of this view (same layout), the one the guidance is re-noised with."""
    batch_size: int = 1
    """How many views shared this view's denoising loop (`generate_views`)."""
    notes: list[str] = field(default_factory=list)
    """What the user should know about this view's run (printed too): e.g. an image-to-video first frame with
    holes."""


def offload_mode(value: bool | str | None) -> str:
    """The offload mode of an `offload` value: False/None -> "none", True -> "model", or one of OFFLOAD_MODES."""
    if value is None or value is False:
        return "none"
    if value is True:
        return "model"
    if isinstance(value, str) and value in OFFLOAD_MODES:
        return value
    raise InputError(f"offload must be one of {', '.join(OFFLOAD_MODES)} (or True / False), got {value!r}")


def validate_config(config: DiffusionConfig, name: str = "diffusion") -> None:
    """InputError for any option out of range, before any model is loaded (strength (0, 1], steps >= 1, ...)."""

    def bad(option: str, value, rule: str) -> None:
        raise InputError(f"{name}: {option} {value!r}: {rule}")

    if config.mode not in ("auto", "i2v", "v2v"):
        bad("mode", config.mode, "must be auto, i2v or v2v")
    if config.dtype not in ("auto", "float32", "bfloat16", "float16"):
        bad("dtype", config.dtype, "must be auto, float32, bfloat16 or float16")
    if not valid_device(config.device):
        bad("--device", config.device, "must be auto, cpu, cuda or cuda:N")
    offload_mode(config.offload)
    if config.steps is not None and config.steps < 1:
        bad("steps", config.steps, "must be at least 1")
    if config.strength is not None and not 0.0 < config.strength <= 1.0:
        bad("strength", config.strength, "must be in (0, 1] (0 would run no denoising step)")
    for option in ("guidance_scale", "guidance_scale_2"):
        value = getattr(config, option)
        if value is not None and not (math.isfinite(value) and value >= 0):
            bad(option, value, "must be a non-negative number")
    if not 0.0 <= config.tie_until <= 1.0:
        bad("tie_until", config.tie_until, "must be in [0, 1]")
    if not 0.0 < config.min_coverage <= 1.0:
        bad("min_coverage", config.min_coverage, "must be in (0, 1]")
    if config.erode < 0:
        bad("erode", config.erode, "must be 0 or more cells")
    if config.max_sequence_length is not None and config.max_sequence_length < 1:
        bad("max_sequence_length", config.max_sequence_length, "must be at least 1")


def _have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _looks_like_path(model: str) -> bool:
    """True unless `model` has the shape of a hub id ("org/name")."""
    return model.startswith((".", "/", "~")) or model.count("/") != 1 or "\\" in model


def locate_model(model: str) -> tuple[Path | None, str]:
    """(folder holding model_index.json, "") if the weights are on this machine, else (None, why not).

    A local folder must hold a diffusers `model_index.json`; a hub id must be in the local hub cache
    (checked without any network access).
    """
    path = Path(model).expanduser()
    if path.exists():
        if (path / "model_index.json").is_file():
            return path, ""
        return None, f"{path} has no model_index.json (not a diffusers model folder)"
    if _looks_like_path(model):
        return None, f"model folder {path} does not exist"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None, f"huggingface_hub is not installed ({_NEURAL_HINT})"
    why = f"{model} is not in the local hub cache"
    for repo in hub_aliases(model):
        try:
            cached = try_to_load_from_cache(repo, "model_index.json")
        except Exception as exc:  # noqa: BLE001 - an invalid repo id or a broken cache both mean "not here"
            return None, f"{model!r} is not a valid hub id or local folder ({exc})"
        if isinstance(cached, str) and Path(cached).is_file():
            snapshot = Path(cached).parent
            if any(snapshot.glob("*/*.safetensors")) or any(snapshot.glob("*/*.safetensors.index.json")):
                return snapshot, ""
            why = f"the hub cache has {repo} but no .safetensors weights in it"
    return None, why


def hub_aliases(model: str) -> list[str]:
    """`model` and the same repo under its organisation's other name (THUDM is now zai-org: a cache made before
    the rename still counts)."""
    org, _, name = model.partition("/")
    names = [model]
    for new, old in HUB_RENAMES.items():
        if org == new:
            names.append(f"{old}/{name}")
        elif org == old:
            names.append(f"{new}/{name}")
    return names


def _fix_hint(model: str, family: str) -> str:
    example = WAN_DEFAULT_MODEL if family == "wan" else COGVIDEOX_DEFAULT_MODEL
    hub_id = model if not _looks_like_path(model) else example
    return (
        f"pass --model /path/to/a/{family} diffusers folder, or run `hf download {hub_id}` "
        "on a machine with access (see docs/GENERATORS.md)"
    )


def apply_offload(pipe: Any, mode: str, device) -> None:
    """Install `mode`'s offloading on a loaded pipeline whose weights are on the CPU; `device` is where it runs.

    model / text-cpu: diffusers' model CPU offload (text-cpu then takes the text encoder out of it: it stays and
    runs on the CPU); group: block-level group offloading of the transformer(s) and the text encoder's blocks (one
    block per group, the next prefetched on a CUDA stream), leaf-level for the image encoder, the VAE on the GPU;
    sequential: accelerate's leaf-level offload of everything. Every mode also tiles the VAE."""
    import torch

    device = torch.device(device)
    if mode in ("model", "text-cpu"):
        pipe.enable_model_cpu_offload(device=device)
        if mode == "text-cpu":
            from accelerate.hooks import remove_hook_from_module

            remove_hook_from_module(pipe.text_encoder, recurse=True)
            pipe.text_encoder.to("cpu")
    elif mode == "group":
        from diffusers.hooks import apply_group_offloading

        stream = device.type == "cuda"
        for name, component in pipe.components.items():
            if not isinstance(component, torch.nn.Module) or name == "vae":
                continue
            if name.startswith("transformer"):
                kind, blocks = "block_level", None
            elif name == "text_encoder":  # T5 / UMT5: the blocks sit one level down, in encoder.block
                kind, blocks = "block_level", ["encoder"]
            else:
                kind, blocks = "leaf_level", None
            apply_group_offloading(
                component,
                onload_device=device,
                offload_device=torch.device("cpu"),
                offload_type=kind,
                num_blocks_per_group=1 if kind == "block_level" else None,
                use_stream=stream,
                block_modules=blocks,
            )
        pipe.vae.to(device)
    elif mode == "sequential":  # what diffusers' enable_sequential_cpu_offload does, on `device` as given
        from accelerate import cpu_offload

        for component in pipe.components.values():
            if isinstance(component, torch.nn.Module):
                cpu_offload(
                    component, execution_device=device, offload_buffers=len(component._parameters) > 0
                )
    else:
        raise InputError(f"unknown offload mode {mode!r}; choose one of {', '.join(OFFLOAD_MODES)}")
    if hasattr(pipe.vae, "enable_tiling"):
        pipe.vae.enable_tiling()


def _module_bytes(*modules, element: int | None = None) -> int:
    """Bytes of the modules' parameters and buffers, each tensor once (tied weights are shared), at `element`
    bytes each, else their own dtype's."""
    seen, total = set(), 0
    for module in modules:
        for tensor in (*module.parameters(recurse=True), *module.buffers(recurse=True)):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                total += tensor.numel() * (element or tensor.element_size())
    return total


def _block_lists(component, blocks: list[str] | None = None) -> tuple[list, list]:
    """(the ModuleLists block-level group offloading cuts into groups, the modules left in the component's own
    group); `blocks` names children to look into one level down (T5's `encoder` holds its `block` list)."""
    import torch

    lists, rest = [], []
    for name, child in component.named_children():
        if blocks and name in blocks:
            inner_lists, inner_rest = _block_lists(child)
            lists += inner_lists
            rest += inner_rest
        elif isinstance(child, (torch.nn.ModuleList, torch.nn.Sequential)):
            lists.append(child)
        else:
            rest.append(child)
    return lists, rest


def gpu_weight_bytes(components: dict, mode: str) -> dict[str, int]:
    """What each offload mode keeps on the GPU, in bytes of weights, from the components as they would run (their
    dtypes; build them on the "meta" device to count a real checkpoint without its memory).

    Returns {"peak": the most weights on the GPU at any time, "resident": what stays there all the time}. model:
    the largest component (one at a time; this loop frees the others itself); text-cpu: the same without the text
    encoder; group: per component its top-level group plus two blocks (the running one and the prefetched next),
    the largest of those, plus the VAE kept on the GPU; sequential: the largest leaf module. Activations are not
    weights: `estimate_view_memory` gives those per view."""
    import torch

    modules = {k: v for k, v in components.items() if isinstance(v, torch.nn.Module)}
    sizes = {k: _module_bytes(v) for k, v in modules.items()}
    mode = offload_mode(mode)
    if mode == "none":
        total = sum(sizes.values())
        return {"peak": total, "resident": total}
    if mode in ("model", "text-cpu"):
        run = {k: v for k, v in sizes.items() if not (mode == "text-cpu" and k == "text_encoder")}
        return {"peak": max(run.values(), default=0), "resident": 0}
    if mode == "group":
        vae = sizes.get("vae", 0)
        peaks = []
        for name, module in modules.items():
            if name == "vae":
                continue
            if name.startswith("transformer") or name == "text_encoder":
                lists, rest = _block_lists(module, ["encoder"] if name == "text_encoder" else None)
                own = sum(p.numel() * p.element_size() for p in module.parameters(recurse=False))
                block = sorted((_module_bytes(b) for lst in lists for b in lst), reverse=True)[:2]
                peaks.append(_module_bytes(*rest) + own + sum(block))
            else:
                peaks.append(
                    max((_module_bytes(m) for m in module.modules() if not list(m.children())), default=0)
                )
        return {"peak": vae + max(peaks, default=0), "resident": vae}
    leaves = [m for module in modules.values() for m in module.modules() if not list(m.children())]
    return {"peak": max((_module_bytes(m) for m in leaves), default=0), "resident": 0}


class _DiffusionGenerator(Generator):
    """Shared loading, device handling and option plumbing of the diffusers generators."""

    family: str = ""
    default_model: str = ""
    default_negative_prompt: str = ""
    default_max_sequence_length: int = 226
    transformer_class: str = ""
    _loaded_from: str | None = None

    def __init__(
        self, config: DiffusionConfig | None = None, *, pipeline: Any = None, **options: Any
    ) -> None:
        known = {f.name for f in fields(DiffusionConfig)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InputError(
                f"{self.name}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        config = config or DiffusionConfig()
        config = replace(config, **{k: v for k, v in options.items() if v is not None})
        if config.model is None:
            config = replace(config, model=self.default_model)
        validate_config(config, self.name)
        self.config = config
        self.pipeline = pipeline
        self._mode: str | None = None
        self.last_run: GuidedRun | None = None
        self.last_runs: list[GuidedRun] = []
        self._runs: list[GuidedRun] = []
        if pipeline is not None:
            self._check_family(pipeline)

    @classmethod
    def from_components(
        cls, components: dict[str, Any], config: DiffusionConfig | None = None, **options: Any
    ):
        """A generator around a pipeline built from in-memory components (tests, custom weights)."""
        return cls(config, pipeline=cls._pipeline_class(components)(**components), **options)

    @staticmethod
    @abc.abstractmethod
    def _pipeline_class(components: dict[str, Any]):  # pragma: no cover - overridden
        """The diffusers pipeline class that takes these components."""

    # -- interface -----------------------------------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        missing = [m for m in self._required_modules() if not _have(m)]
        if missing:
            return False, f"missing Python package(s) {', '.join(missing)}: {_NEURAL_HINT}"
        if self.pipeline is not None:
            return True, ""
        where, why = locate_model(self.config.model)
        if where is None:
            return False, f"{why}; {_fix_hint(self.config.model, self.family)}"
        return True, ""

    def version(self) -> str:
        try:
            import diffusers

            lib = f"diffusers {diffusers.__version__}"
        except ImportError:
            lib = "diffusers missing"
        model = (
            "in-memory components"
            if self.pipeline is not None and not self._loaded_from
            else self.config.model
        )
        return f"{self.family} {model} ({lib})"

    def load(self) -> None:
        if self.pipeline is None:
            ok, why = self.available()
            if not ok:
                raise BackendUnavailable(f"{self.name}: {why}")
            where, _ = locate_model(self.config.model)
            source = str(where) if where is not None else self.config.model
            self.pipeline = self._from_pretrained(source)
            self._loaded_from = source
            self._check_family(self.pipeline)
        self._place(self.pipeline)
        self._mode = self._resolve_mode(self.pipeline)

    @property
    def constraints(self) -> Constraints:  # type: ignore[override]
        return self._constraints()

    def generate(self, request: GenerateRequest) -> np.ndarray:
        return self.generate_views([request], batch=1)[0]

    def generate_views(
        self,
        requests: list[GenerateRequest],
        shared_noise: np.ndarray | None = None,
        batch: int | None = None,
    ) -> list[np.ndarray]:
        """(T, H, W, 3) uint8 videos of V views, run in batches of up to `batch` through ONE guided denoising loop.

        The views' latents are stacked on the batch axis; the text is encoded once; each view keeps its own
        guidance latents, latent mask and (i2v) first-frame condition. All requests must share the prompt,
        steps, strength, guidance scale and video size (a rig's views do). `shared_noise` (V, *latent_shape)
        in the model's latent layout (`latent_shape`) is each view's initial noise (see `shared_noise`); None =
        each view draws its noise from its own seed, as `generate` does. `batch` None = every view on CPU, on
        CUDA as many as the free GPU memory holds by `estimate_view_memory` (docs/GENERATORS.md). A batch gives
        the same result as running the views one at a time with the same noise, up to float rounding.
        """
        if not requests:
            return []
        cfg = self.config
        settings = {
            (
                request.prompt or "",
                int(cfg.steps if cfg.steps is not None else request.steps),
                float(cfg.strength if cfg.strength is not None else request.strength),
                float(cfg.guidance_scale if cfg.guidance_scale is not None else request.guidance_scale),
            )
            for request in requests
        }
        if len(settings) != 1:
            raise InputError(
                f"{self.name}: views run together must share prompt, steps, strength and guidance scale"
            )
        prompt, steps, strength, scale = settings.pop()
        # the request's values are checked like the options, before any weights load
        validate_config(replace(cfg, steps=steps, strength=strength, guidance_scale=scale), self.name)
        if self.pipeline is None or self._mode is None:
            self.load()
        rgbs, masks = [], []
        for request in requests:
            rgb = np.asarray(request.guidance_rgb)
            mask = np.asarray(request.guidance_mask, dtype=bool)
            check_shape("guidance_rgb", rgb, (None, None, None, 3))
            check_shape("guidance_mask", mask, rgb.shape[:3])
            rgbs.append(rgb)
            masks.append(mask)
        frames, height, width = masks[0].shape
        self._check_size(frames, height, width)
        if any(m.shape != masks[0].shape for m in masks):
            raise InputError(
                f"{self.name}: views of one batch must have the same size; got "
                f"{sorted({m.shape for m in masks})} (frames, height, width)"
            )
        seeds = [int(cfg.seed if cfg.seed is not None else r.seed) for r in requests]
        first = dg.start_step(steps, strength)
        dg.tied_steps(steps - first, cfg.tie_until)
        shape = self.latent_shape(frames, height, width)
        if shared_noise is not None:
            shared_noise = np.asarray(shared_noise, dtype=np.float32)
            if shared_noise.shape != (len(requests), *shape):
                raise InputError(
                    f"{self.name}: shared_noise must have shape {(len(requests), *shape)} "
                    f"(views, latent layout), got {shared_noise.shape}"
                )
        if batch is None:
            batch = self.default_batch(len(requests), frames, height, width, scale)
        if batch < 1:
            raise InputError(f"{self.name}: batch must be at least 1, got {batch}")
        import torch

        videos: list[np.ndarray] = []
        runs: list[GuidedRun] = []
        with torch.inference_mode():
            text = self._encode_text(prompt, scale)
            self._offload_all()
            for lo in range(0, len(requests), batch):
                part = slice(lo, lo + batch)
                if shared_noise is not None:
                    noise = torch.from_numpy(shared_noise[part])
                else:
                    noise = torch.cat(
                        [
                            torch.randn(
                                (1, *shape),
                                generator=torch.Generator("cpu").manual_seed(s),
                                dtype=torch.float32,
                            )
                            for s in seeds[part]
                        ]
                    )
                videos += self._run(
                    rgbs[part], masks[part], text, steps, strength, scale, noise, seeds[part], first_view=lo
                )
                runs += self._runs
        self._offload_all()
        if cfg.paste_covered:
            videos = [np.where(m[..., None], r, v) for r, m, v in zip(rgbs, masks, videos, strict=True)]
        self.last_runs = runs
        self.last_run = runs[-1]
        return videos

    def shared_noise(self, views, seed: int = 0, reference=None) -> np.ndarray:
        """(V, *latent_shape) float32 initial noise for `generate_views`, equal where views see the same 3D point.

        `views`: an iterable (read lazily) of (guidance depth (T, H, W), CameraPath) pairs, or GenerateRequests.
        `reference`: the CameraPath whose image plane holds the shared noise grid (e.g. the cache's source camera);
        None = view 0. See `_diffusion_guidance.shared_view_noise`.
        """
        if self.pipeline is None or self._mode is None:
            self.load()
        temporal, spatial, channels = self._latent_factors()

        def arrays():
            for view in views:
                if isinstance(view, GenerateRequest):
                    depth, cams = view.guidance_depth, view.cameras
                else:
                    depth, cams = view
                yield depth, cams.intrinsics, cams.world_from_camera

        ref = None if reference is None else (reference.intrinsics, reference.world_from_camera)
        noise = dg.shared_view_noise(arrays(), channels, temporal, spatial, seed=seed, reference=ref)
        return self._from_channel_first(noise)

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, ...]:
        """The latents of one view, without the batch axis, in the model's layout."""
        temporal, spatial, channels = self._latent_factors()
        t = len(dg.latent_frame_groups(frames, temporal))
        return self._from_channel_first_shape((channels, t, height // spatial, width // spatial))

    def estimate_view_memory(self, frames: int, height: int, width: int, guidance_scale: float = 5.0) -> int:
        """Estimated extra GPU bytes one more view adds to a batch of the denoising loop (an estimate, not a
        measurement; docs/GENERATORS.md): the transformer's peak per-block activations for the view's tokens
        (inference, one block live at a time, flash/memory-efficient attention so no tokens^2 matrix), a few
        float32 residual copies, the latents and scheduler history in float32, times 1.5 for the allocator.
        Weights, the text encoder and the VAE (views are encoded and decoded one at a time) are not per view."""
        import torch

        if self.pipeline is None:
            self.load()
        temporal, spatial, channels = self._latent_factors()
        t = len(dg.latent_frame_groups(frames, temporal))
        cells = t * (height // spatial) * (width // spatial)
        tokens, dim, ffn, cfg_factor = self._activation_dims(t, height // spatial, width // spatial)
        element = 2 if self.pipeline.transformer.dtype in (torch.bfloat16, torch.float16) else 4
        per_token = element * max(12 * dim, 2 * dim + 2 * ffn) + 8 * dim
        factor = cfg_factor if guidance_scale > 1.0 else 1
        latents = 8 * cells * channels * 4
        return int(1.5 * (factor * tokens * per_token + latents))

    def default_batch(
        self, views: int, frames: int, height: int, width: int, guidance_scale: float = 5.0
    ) -> int:
        """How many views to run together: all of them off CUDA; on CUDA as many as 90 % of the free GPU memory
        holds by `estimate_view_memory` (with an offload mode the weights the loop brings in, by
        `gpu_weight_bytes`, are subtracted first), at least 1."""
        import torch

        device = self._device()
        if views < 1 or not device.startswith("cuda"):
            return max(views, 1)
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        mode = offload_mode(self.config.offload)
        if mode != "none":  # the weights the loop brings onto the GPU are not there yet
            experts = {f"transformer{i}": m for i, m in enumerate(self._transformers())}
            free -= gpu_weight_bytes(experts, mode)["peak"]
        per_view = self.estimate_view_memory(frames, height, width, guidance_scale)
        return int(min(views, max(1, (0.9 * free) // per_view)))

    # -- shared helpers ------------------------------------------------------------------------------------
    def _required_modules(self) -> list[str]:
        return ["torch", "diffusers", "transformers"]

    def _check_family(self, pipe: Any) -> None:
        transformer = getattr(pipe, "transformer", None)
        kind = type(transformer).__name__
        if kind != self.transformer_class:
            raise InputError(
                f"{self.name}: model {self.config.model!r} is a {type(pipe).__name__} with a {kind} transformer, "
                f"not a {self.family} checkpoint"
            )

    def _torch_dtype(self):
        import torch

        if self.config.dtype == "auto":
            return torch.bfloat16 if self._device().startswith("cuda") else torch.float32
        return getattr(torch, self.config.dtype)

    def _device(self) -> str:
        return resolve_device(self.config.device, self.name)

    def _load_dtypes(self):
        """`dtype` for `from_pretrained`: one dtype, or a per-component dict."""
        return self._torch_dtype()

    def _from_pretrained(self, source: str):
        from diffusers import DiffusionPipeline

        try:
            return DiffusionPipeline.from_pretrained(
                source,
                dtype=self._load_dtypes(),
                use_safetensors=True,
                local_files_only=not self.config.allow_download,
            )
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(
                f"{self.name}: cannot load {source} with safetensors weights ({str(exc).splitlines()[0]}); "
                f"{_fix_hint(self.config.model, self.family)}"
            ) from exc

    def _place(self, pipe: Any) -> None:
        """Put the components where the offload mode says (off CUDA everything runs on the one device)."""
        import torch

        device = self._device()
        for component in pipe.components.values():
            if isinstance(component, torch.nn.Module):
                component.eval()  # components built in code start in training mode (dropout on)
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        mode = offload_mode(self.config.offload)
        self._exec_device = torch.device(device if device != "cuda" else "cuda:0")
        self._text_device = self._exec_device
        if mode == "none" or not device.startswith("cuda"):
            pipe.to(device)
            return
        apply_offload(pipe, mode, self._exec_device)
        if mode == "text-cpu":
            self._text_device = torch.device("cpu")

    def _offload_all(self) -> None:
        """Model offload modes: send every component back to the CPU, so the next one to run is alone on the GPU.

        diffusers' hooks offload a component only when the NEXT one in the pipeline's own order runs; this loop
        runs them in its own order (text, VAE encode, transformer(s), VAE decode), so it frees them itself."""
        pipe = self.pipeline
        for component in pipe.components.values():
            if hasattr(component, "_reset_stateful_cache"):
                component._reset_stateful_cache()
        for hook in getattr(pipe, "_all_hooks", None) or []:
            hook.offload()

    def _steps(self, pipe: Any, steps: int, strength: float, device):
        """(timesteps to run, index of the first) with the scheduler's begin index set for re-noising."""
        scheduler = pipe.scheduler
        scheduler.set_timesteps(steps, device=device)
        first = dg.start_step(steps, strength) * getattr(scheduler, "order", 1)
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(first)
        return scheduler.timesteps[first:], first

    @staticmethod
    def _renoise(scheduler: Any, clean, noise, timestep):
        """The scheduler's forward process: `clean` noised to `timestep` (flow matching or DDPM-style)."""
        import torch

        t = torch.as_tensor(timestep, device=clean.device).reshape(1)
        if hasattr(scheduler, "scale_noise"):
            return scheduler.scale_noise(clean, t, noise)
        return scheduler.add_noise(clean, noise, t)

    def _record(self, clean, latents, keep, noise, timesteps, n_tied) -> None:
        """One GuidedRun per view of the batch into `self._runs`."""

        def arr(x, b):
            return x[b].detach().float().cpu().numpy()

        count = latents.shape[0]
        self._runs = [
            GuidedRun(
                guide_latents=arr(clean, b),
                latents=arr(latents, b),
                latent_mask=arr(keep, b).squeeze(self.channel_axis),
                timesteps=[float(t) for t in timesteps],
                tied_steps=n_tied,
                mode=str(self._mode),
                noise=arr(noise, b),
                batch_size=count,
            )
            for b in range(count)
        ]

    def _guide_frames(self, rgb: np.ndarray, mask: np.ndarray, device, dtype):
        import torch

        filled = dg.fill_holes(rgb, mask)
        video = torch.from_numpy(dg.to_unit_range(filled)).unsqueeze(0)
        return filled, video.to(device=device, dtype=dtype)

    # -- per family ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def _constraints(self) -> Constraints:  # pragma: no cover - overridden
        """The family's frame-count and size rules."""

    def _check_size(self, frames: int, height: int, width: int) -> None:
        c = self.constraints
        if frames != c.fit_frames(frames) or (c.frame_rule == "fixed" and c.frames and frames != c.frames):
            raise InputError(
                f"{self.name}: {frames} frames do not fit the model ({c.frame_rule}, e.g. {c.fit_frames(frames)}); "
                "resample the plan with the generator's constraints"
            )
        if width % c.multiple_of or height % c.multiple_of:
            raise InputError(f"{self.name}: size {width}x{height} must be a multiple of {c.multiple_of}")
        if c.size is not None and (width, height) != tuple(c.size):
            raise InputError(
                f"{self.name}: this checkpoint needs {c.size[0]}x{c.size[1]}, got {width}x{height}"
            )

    def _resolve_mode(self, pipe: Any) -> str:
        takes_image = self._takes_image(pipe)
        mode = self.config.mode
        if mode == "auto":
            return "i2v" if takes_image else "v2v"
        if mode == "i2v" and not takes_image:
            raise InputError(
                f"{self.name}: mode i2v needs an image-to-video checkpoint; {self.config.model!r} is text-to-video "
                "(use --mode v2v or an I2V model)"
            )
        if mode == "v2v" and self._needs_image(pipe):
            raise InputError(
                f"{self.name}: {self.config.model!r} is an image-to-video checkpoint; use --mode i2v"
            )
        return mode

    @abc.abstractmethod
    def _takes_image(self, pipe: Any) -> bool:  # pragma: no cover - overridden
        """Whether the loaded checkpoint conditions on a first image (image-to-video)."""

    def _needs_image(self, pipe: Any) -> bool:
        """Whether it cannot run without one (default: whenever it takes one)."""
        return self._takes_image(pipe)

    @abc.abstractmethod
    def _latent_factors(self) -> tuple[int, int, int]:  # pragma: no cover - overridden
        """(temporal, spatial, channels) of the loaded checkpoint's VAE latents."""

    @staticmethod
    def _from_channel_first(noise: np.ndarray) -> np.ndarray:
        """(V, C, t, h, w) -> the family's latent layout with the view axis first (default: unchanged)."""
        return noise

    @staticmethod
    def _from_channel_first_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape

    @abc.abstractmethod
    def _activation_dims(self, t: int, h: int, w: int) -> tuple[int, int, int, int]:  # pragma: no cover
        """(transformer tokens of one view, hidden size, feed-forward size, views per view in a forward pass:
        2 when classifier-free guidance is batched)."""

    def _encode_text(self, prompt: str, scale: float):
        """The prompt's embeddings (and negative ones with classifier-free guidance, else None), computed once
        per call, in the transformer's dtype."""
        pipe, cfg = self.pipeline, self.config
        prompt_embeds, negative_embeds = pipe.encode_prompt(
            prompt=prompt,
            negative_prompt=cfg.negative_prompt
            if cfg.negative_prompt is not None
            else self.default_negative_prompt,
            do_classifier_free_guidance=scale > 1.0,
            num_videos_per_prompt=1,
            max_sequence_length=self._text_tokens(),
            device=self._text_device,
        )
        tdtype, device = pipe.transformer.dtype, self._exec_device
        prompt_embeds = prompt_embeds.to(device, tdtype)
        return prompt_embeds, negative_embeds.to(device, tdtype) if negative_embeds is not None else None

    def _text_tokens(self) -> int:
        """How many text tokens the prompt is encoded to (`max_sequence_length`, else the family's)."""
        return self.config.max_sequence_length or self.default_max_sequence_length

    def _transformers(self) -> list:
        """The denoising transformer(s): Wan2.2 A14B has two experts."""
        pipe = self.pipeline
        return [m for m in (pipe.transformer, getattr(pipe, "transformer_2", None)) if m is not None]

    def _vae_device(self):
        from diffusers.utils.torch_utils import get_module_execution_device

        return get_module_execution_device(self.pipeline.vae)

    def _run(
        self, rgbs, masks, text, steps, strength, scale, noise, seeds, first_view: int = 0
    ) -> list[np.ndarray]:
        """The guided denoising loop over a batch of views: (T, H, W, 3) uint8 each; one GuidedRun per view in
        `self._runs`. `noise` (B, *latent_shape) float32 on the CPU; `seeds` one per view (per-step noise of
        stochastic schedulers); `first_view` the batch's first view index (for notes).

        The skeleton is shared; each family supplies its latent layout (`channel_axis`, `_encode_video`,
        `_decode_video`), its image-to-video condition (`_image_condition`), its starting latents
        (`_start_latents`) and one denoising step: conditioning, transformer call(s), classifier-free guidance
        and the scheduler step (`_denoiser`). After every step the covered latent cells are replaced by the
        guidance latents re-noised to the next timestep (the last step: the clean guidance latents)."""
        import torch

        pipe, cfg = self.pipeline, self.config
        device, vae, scheduler = self._exec_device, pipe.vae, pipe.scheduler
        temporal, spatial = pipe.vae_scale_factor_temporal, pipe.vae_scale_factor_spatial
        count = len(rgbs)

        # Per view (one at a time through the VAE, so its memory does not grow with the batch): guidance
        # latents, latent mask (with a channel axis of 1) and, for i2v, the first-frame condition.
        cleans, keeps, conditions, notes = [], [], [], []
        for k, (rgb, mask) in enumerate(zip(rgbs, masks, strict=True)):
            filled, video = self._guide_frames(rgb, mask, self._vae_device(), vae.dtype)
            clean = self._encode_video(video)
            cleans.append(clean)
            cells = dg.latent_mask(mask, temporal, spatial, cfg.min_coverage, cfg.erode)
            keeps.append(torch.from_numpy(cells).unsqueeze(self.channel_axis)[None].to(device, torch.float32))
            if self._mode == "i2v":
                holes = float(1.0 - cells[0].mean())
                conditions.append(self._image_condition(filled, video, clean, holes))
            view_notes = (
                [self._holes_note(first_view + k, holes)] if self._mode == "i2v" and holes > 0 else []
            )
            for line in view_notes:
                note(line)
            notes.append(view_notes)
        clean, keep = torch.cat(cleans), torch.cat(keeps)
        self._offload_all()

        noise = noise.to(device, torch.float32)
        # CogVideoX 1.5 pads the latent frames to its temporal patch (the pipeline's own padding)
        clean, keep, noise, conditions, pad = self._pad_frames(clean, keep, noise, conditions)
        timesteps, _ = self._steps(pipe, steps, strength, device)
        n_tied = dg.tied_steps(len(timesteps), cfg.tie_until)
        latents = self._start_latents(scheduler, clean, noise, timesteps[0])
        denoise = self._denoiser(text, conditions, clean, scale, list(seeds), timesteps, masks[0].shape)

        label = f"{self.name}: denoising" + (f" {count} views" if count > 1 else "")
        for i, t in enumerate(track(timesteps, label, total=len(timesteps))):
            latents = denoise(i, t, latents)
            if i < n_tied:
                last = i + 1 == len(timesteps)
                guide = clean if last else self._renoise(scheduler, clean, noise, timesteps[i + 1])
                latents = dg.blend(latents, guide, keep)
        latents = self._final_latents(latents, conditions)
        self._offload_all()

        clean, latents, keep, noise = (self._unpad_frames(x, pad) for x in (clean, latents, keep, noise))
        self._record(clean, latents, keep, noise, timesteps, n_tied)
        for run, view_notes in zip(self._runs, notes, strict=True):
            run.notes = view_notes
        return [
            dg.from_unit_range(self._decode_video(latents[b : b + 1])[0].float().cpu().numpy())
            for b in range(count)
        ]

    # -- per family: the loop's hooks ----------------------------------------------------------------------
    channel_axis: int = 0
    """Where the channel axis sits in one view's latents: 0 for (C, t, h, w), 1 for (t, C, h, w)."""

    @abc.abstractmethod
    def _encode_video(self, video):  # pragma: no cover - overridden
        """(1, 3, T, H, W) guidance video in [-1, 1] on the VAE's device -> (1, *latent_shape) float32 latents
        on the execution device, normalised as the transformer sees them."""

    @abc.abstractmethod
    def _decode_video(self, latents):  # pragma: no cover - overridden
        """(1, *latent_shape) latents of one view -> (1, 3, T, H, W) decoded video in [-1, 1]."""

    @abc.abstractmethod
    def _image_condition(self, filled: np.ndarray, video, clean, holes: float):  # pragma: no cover
        """What an image-to-video checkpoint is conditioned on for one view, from its hole-filled guidance
        (T, H, W, 3) uint8, its guidance video, its clean latents and the fraction of latent cells of its first
        frame the cache does not cover (i2v only)."""

    def _holes_note(self, view: int, holes: float) -> str:
        """What is said when an image-to-video view's first frame has holes (a rig's side cameras)."""
        return (
            f"{self.name}: view {view}: {holes:.0%} of the first frame's latent cells are holes; this image-to-video "
            "checkpoint is conditioned on the whole frame, so it takes the smooth hole fill for content there "
            "(docs/GENERATORS.md: for side cameras prefer a text-to-video checkpoint with --mode v2v)"
        )

    def _pad_frames(self, clean, keep, noise, conditions):
        """(clean, keep, noise, conditions, padding frames): latent frames padded to what the transformer takes
        (default: none)."""
        return clean, keep, noise, conditions, 0

    def _unpad_frames(self, x, pad: int):
        """`x` without the `pad` leading latent frames `_pad_frames` added."""
        return x

    def _final_latents(self, latents, conditions):
        """The latents after the last step, before decoding (default: as they are)."""
        return latents

    def _start_latents(self, scheduler: Any, clean, noise, timestep):
        """The loop's starting latents: the guidance latents noised to the first timestep run."""
        return self._renoise(scheduler, clean, noise, timestep)

    @abc.abstractmethod
    def _denoiser(
        self, text, conditions: list, clean, scale: float, seeds: list[int], timesteps, size
    ):  # pragma: no cover
        """One denoising step `step(i, t, latents) -> latents` for this batch: the model input with the
        conditions, the transformer call(s) with classifier-free guidance when `scale` > 1, the scheduler step.
        `text` is `_encode_text`'s, `conditions` one `_image_condition` per view (i2v) or empty, `seeds` one per
        view (a stochastic scheduler draws each view's per-step noise from its own generator), `size` the
        (frames, height, width) of the video."""


@register("wan")
class WanGenerator(_DiffusionGenerator):
    """Wan2.1 (T2V 1.3B/14B with --mode v2v, I2V 14B with --mode i2v) and Wan2.2 (A14B's two experts, TI2V-5B
    in either mode) tied to the guidance."""

    name = "wan"
    family = "wan"
    default_model = WAN_DEFAULT_MODEL
    default_negative_prompt = WAN_NEGATIVE_PROMPT
    default_max_sequence_length = 512
    transformer_class = "WanTransformer3DModel"

    @staticmethod
    def _pipeline_class(components):
        import diffusers

        in_channels = components["transformer"].config.in_channels
        if components.get("image_encoder") is not None or in_channels != components["vae"].config.z_dim:
            return diffusers.WanImageToVideoPipeline
        return diffusers.WanPipeline

    def _required_modules(self) -> list[str]:
        return [*super()._required_modules(), "ftfy"]

    def _constraints(self) -> Constraints:
        pipe = self.pipeline
        spatial = 16
        if pipe is not None:
            patch = pipe.transformer.config.patch_size
            spatial = int(pipe.vae_scale_factor_spatial * max(patch[1], patch[2]))
        return Constraints(frame_rule="4k+1", multiple_of=spatial)

    def _takes_image(self, pipe) -> bool:
        # Wan2.1 I2V / Wan2.2 I2V: extra input channels; Wan2.2 TI2V: the first latent frame is given, per token
        return pipe.transformer.config.in_channels != pipe.vae.config.z_dim or self._expands_timesteps(pipe)

    def _needs_image(self, pipe) -> bool:
        return pipe.transformer.config.in_channels != pipe.vae.config.z_dim  # TI2V runs either way

    @staticmethod
    def _expands_timesteps(pipe) -> bool:
        """Wan2.2 TI2V: timesteps per token, the first latent frame replaced by the image's (0 = clean)."""
        return bool(getattr(pipe.config, "expand_timesteps", False))

    def _experts(self, scale: float):
        """`pick(t) -> (transformer, guidance scale)`: Wan2.2 A14B sends t >= boundary_ratio *
        num_train_timesteps to `transformer` (high noise) and the rest to `transformer_2` (low noise, with
        `guidance_scale_2`), as diffusers' Wan pipelines do; one transformer otherwise."""
        pipe = self.pipeline
        low = getattr(pipe, "transformer_2", None)
        ratio = getattr(pipe.config, "boundary_ratio", None)
        if low is None or ratio is None:
            return lambda t: (pipe.transformer, scale)
        boundary = ratio * pipe.scheduler.config.num_train_timesteps
        scale_2 = self.config.guidance_scale_2 if self.config.guidance_scale_2 is not None else scale
        return lambda t: (pipe.transformer, scale) if t >= boundary else (low, scale_2)

    def _splits_text_at_512(self) -> bool:
        """Wan2.1 I2V: the attention takes [image tokens, text tokens] and cuts at 512 text tokens."""
        return any(
            getattr(block.attn2, "add_k_proj", None) is not None
            for transformer in self._transformers()
            for block in transformer.blocks
        )

    def _encode_text(self, prompt: str, scale: float):
        """The pipeline's encoding (with the negative prompt when either expert guides); for transformers whose
        attention splits image from text tokens at 512 (Wan2.1 I2V), zero-padded to 512 tokens exactly as
        the pipeline pads a prompt shorter than its `max_sequence_length`."""
        import torch

        scale_2 = self.config.guidance_scale_2 if self.config.guidance_scale_2 is not None else scale
        text = super()._encode_text(prompt, max(scale, scale_2))
        if not self._splits_text_at_512():
            return text

        def pad(embeds):
            if embeds is None:
                return None
            missing = WAN_I2V_TEXT_TOKENS - embeds.shape[1]
            return torch.cat([embeds, embeds.new_zeros(embeds.shape[0], missing, embeds.shape[2])], dim=1)

        return pad(text[0]), pad(text[1])

    def _text_tokens(self) -> int:
        tokens = super()._text_tokens()
        if tokens > WAN_I2V_TEXT_TOKENS and self._splits_text_at_512():
            raise InputError(
                f"{self.name}: max_sequence_length {tokens}: this checkpoint's attention splits image tokens from "
                f"exactly {WAN_I2V_TEXT_TOKENS} text tokens (Wan2.1 I2V); use at most {WAN_I2V_TEXT_TOKENS}"
            )
        return tokens

    def _latent_factors(self) -> tuple[int, int, int]:
        pipe = self.pipeline
        return pipe.vae_scale_factor_temporal, pipe.vae_scale_factor_spatial, pipe.vae.config.z_dim

    def _activation_dims(self, t: int, h: int, w: int) -> tuple[int, int, int, int]:
        c = self.pipeline.transformer.config
        tokens = (t // c.patch_size[0]) * (h // c.patch_size[1]) * (w // c.patch_size[2])
        # classifier-free guidance runs the conditional and unconditional passes one after the other
        return tokens, c.num_attention_heads * c.attention_head_dim, c.ffn_dim, 1

    def _latent_stats(self):
        """Wan's per-channel latent mean and 1 / std, (1, C, 1, 1, 1) float32 on the execution device."""
        import torch

        vae, device = self.pipeline.vae, self._exec_device
        z_dim = vae.config.z_dim
        mean = torch.tensor(vae.config.latents_mean).view(1, z_dim, 1, 1, 1).to(device, torch.float32)
        inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, z_dim, 1, 1, 1).to(device, torch.float32)
        return mean, inv_std

    def _encode_video(self, video):
        import torch

        vae = self.pipeline.vae
        mean, inv_std = self._latent_stats()
        lat = vae.encode(video.to(self._vae_device(), vae.dtype)).latent_dist.mode()
        return (lat.to(self._exec_device, torch.float32) - mean) * inv_std

    def _decode_video(self, latents):
        vae = self.pipeline.vae
        mean, inv_std = self._latent_stats()
        latents = latents / inv_std + mean
        return vae.decode(latents.to(self._vae_device(), vae.dtype), return_dict=False)[0]

    def _image_condition(self, filled, video, clean, holes):
        """Wan2.1 / Wan2.2 I2V: (frame mask and latents of the first frame then zeros, the CLIP image embedding
        when the transformer takes one, else None). Wan2.2 TI2V: (the first frame's latents, the per-cell mask
        of what is generated: 0 on the first latent frame), as its pipeline; a view whose first frame has holes
        runs video-to-video instead (mask all 1), which the same TI2V weights also do."""
        import torch

        pipe = self.pipeline
        device, temporal = self._exec_device, pipe.vae_scale_factor_temporal
        _, _, frames, height, width = video.shape
        first = video[:, :, :1]
        if self._expands_timesteps(pipe):
            latent = self._encode_video(first).expand(-1, -1, clean.shape[2], -1, -1)
            generated = clean.new_ones(1, 1, *clean.shape[2:])
            if holes == 0:
                generated[:, :, 0] = 0.0
            return latent, generated
        cond_video = torch.cat([first, first.new_zeros(1, 3, frames - 1, height, width)], dim=2)
        latent_condition = self._encode_video(cond_video)
        t_lat, h_lat, w_lat = clean.shape[2:]
        frame_mask = torch.zeros(1, temporal, t_lat, h_lat, w_lat, device=device)
        frame_mask[:, :, 0] = 1.0
        image = None
        if pipe.transformer.config.image_dim is not None:
            from PIL import Image

            image = pipe.encode_image(Image.fromarray(filled[0]), device).to(pipe.transformer.dtype)
        return torch.cat([frame_mask, latent_condition], dim=1), image

    def _holes_note(self, view: int, holes: float) -> str:
        if self._expands_timesteps(self.pipeline):
            return (
                f"{self.name}: view {view}: {holes:.0%} of the first frame's latent cells are holes; this view runs "
                "video-to-video (the TI2V checkpoint is not given the hole-filled first frame as an image)"
            )
        return super()._holes_note(view, holes)

    def _final_latents(self, latents, conditions):
        if conditions and self._expands_timesteps(self.pipeline):  # as WanImageToVideoPipeline for TI2V
            import torch

            condition = torch.cat([c for c, _ in conditions])
            generated = torch.cat([m for _, m in conditions])
            return (1 - generated) * condition + generated * latents
        return latents

    def _denoiser(self, text, conditions, clean, scale, seeds, timesteps, size):
        import torch

        pipe = self.pipeline
        scheduler, expert = pipe.scheduler, self._experts(scale)
        count, expand = clean.shape[0], self._expands_timesteps(pipe)
        prompt_embeds, negative_embeds = text
        prompt_embeds = prompt_embeds.expand(count, -1, -1)  # one encoding, repeated for every view
        negative_embeds = negative_embeds.expand(count, -1, -1) if negative_embeds is not None else None
        condition = torch.cat([c for c, _ in conditions]) if conditions else None
        image_embeds = generated = None
        if expand:  # TI2V: per-cell "generated" mask (0 = given, timestep 0); v2v: every cell generated
            generated = (
                torch.cat([m for _, m in conditions])
                if conditions
                else clean.new_ones(count, 1, *clean.shape[2:])
            )
        else:
            images = [image for _, image in conditions if image is not None]
            image_embeds = torch.cat(images) if images else None
        patch = pipe.transformer.config.patch_size

        def step(i, t, latents):
            transformer, s = expert(t)
            if expand:
                model_in = latents if condition is None else (1 - generated) * condition + generated * latents
                timestep = (generated[:, 0, :, :: patch[1], :: patch[2]] * t).flatten(1)
            else:
                model_in = latents if condition is None else torch.cat([latents, condition], dim=1)
                timestep = t.expand(latents.shape[0])
            model_in = model_in.to(transformer.dtype)

            def predict(embeds):
                return transformer(
                    hidden_states=model_in,
                    timestep=timestep,
                    encoder_hidden_states=embeds,
                    encoder_hidden_states_image=image_embeds,
                    return_dict=False,
                )[0]

            pred = predict(prompt_embeds)
            if s > 1.0:  # the conditional and unconditional passes one after the other
                uncond = predict(negative_embeds)
                pred = uncond + s * (pred - uncond)
            return scheduler.step(pred.float(), t, latents, return_dict=False)[0]

        return step

    def _load_dtypes(self):
        import torch

        # Wan's VAE is numerically fragile in half precision; the reference code keeps it in float32.
        return {"default": self._torch_dtype(), "vae": torch.float32}

    def _place(self, pipe) -> None:
        import torch

        super()._place(pipe)
        if pipe.vae.dtype != torch.float32:
            pipe.vae.to(dtype=torch.float32)


@register("cogvideox")
class CogVideoXGenerator(_DiffusionGenerator):
    """CogVideoX 1.0 (2b/5b text-to-video with --mode v2v, 5b-I2V with --mode i2v) and 1.5 (5B, 5B-I2V: latent
    frames padded to its temporal patch as its pipelines do) tied to the guidance."""

    name = "cogvideox"
    family = "cogvideox"
    default_model = COGVIDEOX_DEFAULT_MODEL
    default_negative_prompt = ""
    default_max_sequence_length = 226
    transformer_class = "CogVideoXTransformer3DModel"
    channel_axis = 1

    @staticmethod
    def _pipeline_class(components):
        import diffusers

        t = components["transformer"].config
        if t.in_channels == 2 * components["vae"].config.latent_channels:
            return diffusers.CogVideoXImageToVideoPipeline
        return diffusers.CogVideoXPipeline

    def _constraints(self) -> Constraints:
        pipe = self.pipeline
        if pipe is None:
            return Constraints(frame_rule="fixed", frames=49, size=(720, 480), multiple_of=16)
        t = pipe.transformer.config
        spatial = pipe.vae_scale_factor_spatial
        # 1.0 is built for its sample size (1.0 I2V's learned positions need it); 1.5 (temporal patches, rotary
        # positions up to the sample size) takes any size that is a multiple of 16
        size = (
            None
            if t.patch_size_t is not None
            else (int(t.sample_width * spatial), int(t.sample_height * spatial))
        )
        return Constraints(
            frame_rule="fixed",
            frames=int(t.sample_frames),
            size=size,
            multiple_of=int(spatial * t.patch_size),
        )

    def _takes_image(self, pipe) -> bool:
        return pipe.transformer.config.in_channels == 2 * pipe.vae.config.latent_channels

    def _latent_factors(self) -> tuple[int, int, int]:
        pipe = self.pipeline
        return pipe.vae_scale_factor_temporal, pipe.vae_scale_factor_spatial, pipe.vae.config.latent_channels

    @staticmethod
    def _from_channel_first(noise: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(noise.transpose(0, 2, 1, 3, 4))  # (V, C, t, h, w) -> (V, t, C, h, w)

    @staticmethod
    def _from_channel_first_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
        c, t, h, w = shape
        return (t, c, h, w)

    def _activation_dims(self, t: int, h: int, w: int) -> tuple[int, int, int, int]:
        c = self.pipeline.transformer.config
        pt = c.patch_size_t or 1
        tokens = -(-t // pt) * (h // c.patch_size) * (w // c.patch_size) + c.max_text_seq_length
        dim = c.num_attention_heads * c.attention_head_dim
        # classifier-free guidance doubles the batch of the transformer's forward pass
        return tokens, dim, 4 * dim, 2

    def _pad_frames(self, clean, keep, noise, conditions):
        """CogVideoX 1.5 (`patch_size_t`): as its pipelines, the latent video gets `patch_size_t - t % patch_size_t`
        leading frames (dropped before decoding) and the image condition sits on the first of them. Here the
        padding frames repeat latent frame 0: its guidance, mask and noise."""
        import torch

        patch_t = self.pipeline.transformer.config.patch_size_t
        t = clean.shape[1]
        pad = 0 if patch_t is None or t % patch_t == 0 else patch_t - t % patch_t
        if not pad:
            return clean, keep, noise, conditions, 0

        def lead(x):
            return torch.cat([x[:, :1].expand(-1, pad, *x.shape[2:]), x], dim=1)

        conditions = [torch.cat([c, c.new_zeros(1, pad, *c.shape[2:])], dim=1) for c in conditions]
        return lead(clean), lead(keep), lead(noise), conditions, pad

    def _unpad_frames(self, x, pad: int):
        return x[:, pad:]

    def _vae_latents(self, video):
        """(1, 3, T, H, W) -> (1, t, C, h, w) float32 VAE latents on the execution device, unscaled."""
        import torch

        vae = self.pipeline.vae
        lat = vae.encode(video.to(self._vae_device(), vae.dtype)).latent_dist.mode()
        return lat.to(self._exec_device, torch.float32).permute(0, 2, 1, 3, 4)

    def _encode_video(self, video):
        return self._vae_latents(video) * self.pipeline.vae.config.scaling_factor

    def _decode_video(self, latents):
        vae = self.pipeline.vae
        lat = (latents / vae.config.scaling_factor).permute(0, 2, 1, 3, 4)
        return vae.decode(lat.to(self._vae_device(), vae.dtype)).sample

    def _image_condition(self, filled, video, clean, holes):
        """The first frame's latents followed by zeros, (1, t, C, h, w)."""
        import torch

        config = self.pipeline.vae.config
        first = self._vae_latents(video[:, :, :1])
        scaling = config.scaling_factor
        first = first / scaling if getattr(config, "invert_scale_latents", False) else first * scaling
        pad = first.new_zeros(1, clean.shape[1] - 1, *first.shape[2:])
        return torch.cat([first, pad], dim=1)

    def _start_latents(self, scheduler, clean, noise, timestep):
        return super()._start_latents(scheduler, clean, noise, timestep) * scheduler.init_noise_sigma

    def _denoiser(self, text, conditions, clean, scale, seeds, timesteps, size):
        import torch

        pipe = self.pipeline
        transformer, scheduler, tcfg = pipe.transformer, pipe.scheduler, pipe.transformer.config
        count, use_cfg, tdtype = clean.shape[0], scale > 1.0, transformer.dtype
        _, height, width = size
        prompt_embeds, negative_embeds = text
        prompt_embeds = prompt_embeds.expand(count, -1, -1)  # one encoding, repeated for every view
        if use_cfg:  # the batch is [unconditional views..., conditional views...]
            prompt_embeds = torch.cat([negative_embeds.expand(count, -1, -1), prompt_embeds], dim=0)
        image_latents = torch.cat(conditions) if conditions else None
        rotary = None
        if tcfg.use_rotary_positional_embeddings:
            rotary = pipe._prepare_rotary_positional_embeddings(
                height, width, clean.shape[1], self._exec_device
            )
        ofs = None if tcfg.ofs_embed_dim is None else clean.new_full((1,), 2.0)
        # one generator per view: the DPM scheduler draws each view's per-step noise from its own seed, so a batch
        # gives what the views give one at a time
        generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        extra = pipe.prepare_extra_step_kwargs(generators, 0.0)
        dpm = type(scheduler).__name__ == "CogVideoXDPMScheduler"
        old_pred = None

        def step(i, t, latents):
            nonlocal old_pred
            model_in = torch.cat([latents] * 2) if use_cfg else latents
            model_in = scheduler.scale_model_input(model_in, t)
            if image_latents is not None:
                image_in = torch.cat([image_latents] * 2) if use_cfg else image_latents
                model_in = torch.cat([model_in, image_in], dim=2)
            pred = transformer(
                hidden_states=model_in.to(tdtype),
                encoder_hidden_states=prompt_embeds,
                timestep=t.expand(model_in.shape[0]),
                ofs=ofs,
                image_rotary_emb=rotary,
                return_dict=False,
            )[0].float()
            if use_cfg:
                uncond, cond = pred.chunk(2)
                pred = uncond + scale * (cond - uncond)
            if dpm:
                prev_t = timesteps[i - 1] if i > 0 else None
                latents, old_pred = scheduler.step(
                    pred, old_pred, t, prev_t, latents, **extra, return_dict=False
                )
                return latents
            return scheduler.step(pred, t, latents, **extra, return_dict=False)[0]

        return step
