"""Builders shared by several test modules, wrapped as factory fixtures in conftest.py (tests use the fixtures).

- the two-plane scene of the `inpaint` tests: a striped background plane at z = 3 and a foreground square at
  z = 1.5 (|x|, |y| <= 0.3) seen by a source camera at the origin; the target camera slides right (and pans a
  little), which opens a disocclusion beside the square and an out-of-frame strip at the right border. Guidance
  is rendered from the source view's points with the shared point renderer (shotsmith.render); ground-truth
  depth comes from ray casting the two planes.
- tiny seeded `wan` / `cogvideox` components (diffusers' get_dummy_components style; tokenizer from an in-code
  vocabulary), so nothing touches a network;
- a tiny randomly initialised Depth Anything V2 folder saved through the real save path.

Heavy imports (torch, diffusers, transformers) stay inside the builders: collecting the tests stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shotsmith.backends.generate import GenerateRequest
from shotsmith.camera import CameraPath, make_pose
from shotsmith.fill import unproject
from shotsmith.render import render_path

# ---------------------------------------------------------------------------------------------------------------
# The two-plane scene

W, H, F = 96, 64, 80.0
Z_BG, Z_FG, HALF = 3.0, 1.5, 0.3
BG_BLUE = np.array([40, 70, 200], np.float64)
FG_RED = np.array([220, 40, 30], np.float64)


def texture(x: np.ndarray, y: np.ndarray, base: np.ndarray, stripes: float) -> np.ndarray:
    s = 0.5 + 0.5 * np.sin(stripes * x) * np.cos(0.7 * stripes * y)
    return np.clip(base[None, :] * (0.55 + 0.45 * s[:, None]), 0, 255)


def scene_colour(x: np.ndarray, y: np.ndarray, on_fg: np.ndarray, stripes: float) -> np.ndarray:
    return np.where(on_fg[:, None], texture(x, y, FG_RED, stripes), texture(x, y, BG_BLUE, stripes))


def raycast(cams: CameraPath, t: int, stripes: float) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth (rgb (H, W, 3) uint8, depth (H, W)) of frame t."""
    fx, fy, cx, cy = cams.intrinsics[t]
    jj, ii = np.meshgrid(np.arange(cams.width) + 0.5, np.arange(cams.height) + 0.5)
    d_cam = np.stack([(jj - cx) / fx, (ii - cy) / fy, np.ones_like(jj)], -1).reshape(-1, 3)
    m = cams.world_from_camera[t]
    d = d_cam @ m[:3, :3].T
    c = m[:3, 3]
    s_fg = (Z_FG - c[2]) / d[:, 2]
    p_fg = c + s_fg[:, None] * d
    on_fg = (np.abs(p_fg[:, 0]) <= HALF) & (np.abs(p_fg[:, 1]) <= HALF)
    s_bg = (Z_BG - c[2]) / d[:, 2]
    s = np.where(on_fg, s_fg, s_bg)
    p = c + s[:, None] * d
    rgb = scene_colour(p[:, 0], p[:, 1], on_fg, stripes).reshape(cams.height, cams.width, 3)
    return (rgb + 0.5).astype(np.uint8), s.reshape(cams.height, cams.width).astype(np.float32)


def make_cameras(frames: int = 10, shift: float = 0.25, pan_deg: float = 3.0) -> CameraPath:
    from scipy.spatial.transform import Rotation

    ts = np.linspace(0.0, 1.0, frames)
    rots = Rotation.from_euler("y", np.radians(pan_deg) * ts[:, None]).as_matrix()
    trans = np.stack([shift * ts, np.zeros_like(ts), np.zeros_like(ts)], 1)
    return CameraPath(make_pose(rots, trans), np.array([F, F, W / 2, H / 2]), W, H, fps=8.0)


@dataclass
class Scene:
    request: GenerateRequest
    gt_rgb: np.ndarray  # (frames, H, W, 3) ray-cast colour along the target cameras
    gt_depth: np.ndarray  # (frames, H, W) ray-cast depth
    z_fg: float = Z_FG  # depth of the foreground square
    z_bg: float = Z_BG  # depth of the background plane


def make_scene(frames: int = 12, stripes: float = 8.0, shift: float = 0.5, pan_deg: float = 8.0) -> Scene:
    """A request whose guidance is the source view's points rendered along a sliding camera."""
    src_cams = CameraPath(np.eye(4)[None], np.array([F, F, W / 2, H / 2]), W, H)
    src_rgb, src_depth = raycast(src_cams, 0, stripes)
    cams = make_cameras(frames, shift, pan_deg)
    intr = np.array([F, F, W / 2, H / 2])
    pts, rc = unproject(src_depth, intr, np.eye(4))
    cols = src_rgb[rc[:, 0], rc[:, 1]]
    rad = src_depth[rc[:, 0], rc[:, 1]] / F * 0.75
    g = render_path(pts, cols, cams, radius=rad)
    g_rgb, g_mask, g_depth = g.rgb, g.mask, g.depth
    gt = [raycast(cams, t, stripes) for t in range(frames)]
    req = GenerateRequest(
        guidance_rgb=g_rgb,
        guidance_mask=g_mask,
        guidance_depth=g_depth,
        cameras=cams,
        source_rgb=src_rgb,
        source_depth=src_depth,
        source_intrinsics=intr,
        source_world_from_camera=np.eye(4),
        seed=0,
    )
    return Scene(req, np.stack([g[0] for g in gt]), np.stack([g[1] for g in gt]))


# ---------------------------------------------------------------------------------------------------------------
# Tiny video diffusion components (2 steps at 9 frames of 32x64 run in about a second on CPU)

FRAMES, HEIGHT, WIDTH = 9, 32, 64
WORDS = "a the camera moves slowly left right scene dance monkey over city street at night".split()


def tiny_tokenizer():
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -3.0)]
    vocab += [("\u2581" + w, -2.0) for w in WORDS] + [(c, -5.0) for c in "abcdefghijklmnopqrstuvwxyz,.'"]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def wan_components(i2v: bool) -> dict:
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=4)
    )
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=36 if i2v else 16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        image_dim=4 if i2v else None,
    )
    # Wan2.1's own scheduler: UniPC on flow-matching sigmas.
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    components = {
        "transformer": transformer,
        "vae": vae,
        "scheduler": scheduler,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
    }
    if i2v:
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

        torch.manual_seed(0)
        components["image_encoder"] = CLIPVisionModel(
            CLIPVisionConfig(
                hidden_size=4,
                projection_dim=4,
                num_hidden_layers=2,
                num_attention_heads=2,
                image_size=32,
                intermediate_size=16,
                patch_size=4,
            )
        )
        components["image_processor"] = CLIPImageProcessor(crop_size=32, size=32)
    return components


def cogvideox_components(i2v: bool, frames: int = FRAMES, height: int = HEIGHT, width: int = WIDTH) -> dict:
    """CogVideoX's transformer is built for one video size (its constraints follow it); Wan's for any."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXTransformer3DModel
    from transformers import T5Config, T5EncoderModel

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(
        T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=4)
    )
    torch.manual_seed(0)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2,
        attention_head_dim=16,
        in_channels=8 if i2v else 4,
        out_channels=4,
        time_embed_dim=2,
        text_embed_dim=32,
        num_layers=1,
        sample_width=width // 8,
        sample_height=height // 8,
        sample_frames=frames,
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=16,
        use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=i2v,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
    )
    # CogVideoX's own scheduler: DDIM with v-prediction and zero terminal SNR.
    scheduler = CogVideoXDDIMScheduler(
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        timestep_spacing="trailing",
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        set_alpha_to_one=True,
    )
    return {
        "transformer": transformer,
        "vae": vae,
        "scheduler": scheduler,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
    }


# ---------------------------------------------------------------------------------------------------------------
# Tiny depth models


def tiny_depth_anything(folder: Path, metric: bool = False, processor: bool = False) -> Path:
    """Save a tiny seeded Depth Anything V2 (relative, or metric up to 20 m) to folder, with its image processor
    when asked; returns the folder."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    torch.manual_seed(0)
    backbone = Dinov2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        patch_size=14,
        image_size=56,
        out_features=["stage1", "stage2"],
        reshape_hidden_states=False,
    )
    extra = {"depth_estimation_type": "metric", "max_depth": 20} if metric else {}
    config = DepthAnythingConfig(
        backbone_config=backbone,
        fusion_hidden_size=16,
        head_hidden_size=8,
        neck_hidden_sizes=[8, 16],
        reassemble_factors=[4, 2],
        reassemble_hidden_size=32,
        patch_size=14,
        **extra,
    )
    DepthAnythingForDepthEstimation(config).eval().save_pretrained(folder)
    if processor:
        from transformers import DPTImageProcessor

        DPTImageProcessor(
            do_resize=True, size={"height": 56, "width": 56}, keep_aspect_ratio=True, ensure_multiple_of=14
        ).save_pretrained(folder)
    return folder


def video_components(
    family: str, i2v: bool, frames: int = FRAMES, height: int = HEIGHT, width: int = WIDTH
) -> dict:
    """Tiny seeded pipeline components of `family` ("wan" or "cogvideox"), image-to-video when i2v."""
    if family == "wan":
        return wan_components(i2v)
    if family == "cogvideox":
        return cogvideox_components(i2v, frames, height, width)
    raise ValueError(f"no tiny components for {family!r}")


def video_generator(
    family: str, i2v: bool, frames: int = FRAMES, height: int = HEIGHT, width: int = WIDTH, **options
):
    """A `wan` / `cogvideox` generator on CPU over tiny components (options go to from_components)."""
    from shotsmith.backends.diffusion import CogVideoXGenerator, WanGenerator

    cls = WanGenerator if family == "wan" else CogVideoXGenerator
    components = video_components(family, i2v, frames, height, width)
    return cls.from_components(components, device="cpu", max_sequence_length=16, **options)


# ---------------------------------------------------------------------------------------------------------------
# Tiny variants of the checkpoint families (issue 14): the code paths of the real checkpoints at tiny widths


def wan_variant_components(variant: str) -> dict:
    """Tiny seeded Wan components shaped like one real checkpoint family:

    - "i2v-added-kv": Wan2.1 I2V-14B's layout: a CLIP image embedding fed through the transformer's added key/value
      projections (`added_kv_proj_dim`), whose attention splits image tokens from exactly 512 text tokens;
    - "a14b": Wan2.2 T2V-A14B's two experts: `transformer` (high noise) and `transformer_2` (low noise) switched at
      `boundary_ratio` 0.875 of the training timesteps;
    - "ti2v": Wan2.2 TI2V-5B's layout: a residual VAE with 2x2 patchifying (48 latent channels, 16 px per latent
      cell), a transformer reading only the latents, `expand_timesteps` (per-token timesteps).
    """
    import torch
    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    if variant == "i2v-added-kv":
        components = wan_components(True)
        torch.manual_seed(1)
        components["transformer"] = WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=12,
            in_channels=36,
            out_channels=16,
            text_dim=32,
            freq_dim=256,
            ffn_dim=32,
            num_layers=2,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            rope_max_seq_len=32,
            image_dim=4,
            added_kv_proj_dim=24,  # = the inner dim, as in Wan2.1 I2V-14B (5120)
        )
        return components
    if variant == "a14b":
        components = wan_components(False)
        torch.manual_seed(1)
        components["transformer_2"] = WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=12,
            in_channels=16,
            out_channels=16,
            text_dim=32,
            freq_dim=256,
            ffn_dim=32,
            num_layers=2,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            rope_max_seq_len=32,
        )
        components["boundary_ratio"] = 0.875
        return components
    if variant == "ti2v":
        components = wan_components(False)
        torch.manual_seed(0)
        components["vae"] = AutoencoderKLWan(
            base_dim=4,
            decoder_base_dim=6,
            z_dim=48,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
            is_residual=True,
            in_channels=12,
            out_channels=12,
            patch_size=2,
            scale_factor_spatial=16,
            latents_mean=[0.0] * 48,
            latents_std=[1.0] * 48,
        )
        torch.manual_seed(0)
        components["transformer"] = WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=12,
            in_channels=48,
            out_channels=48,
            text_dim=32,
            freq_dim=256,
            ffn_dim=32,
            num_layers=2,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            rope_max_seq_len=32,
        )
        components["expand_timesteps"] = True
        return components
    raise ValueError(f"no tiny wan variant {variant!r}")


def cogvideox_variant_components(
    variant: str, frames: int = FRAMES, height: int = HEIGHT, width: int = WIDTH
) -> dict:
    """Tiny seeded CogVideoX components shaped like one real checkpoint family:

    - "dpm": CogVideoX-5b's DPM scheduler (`CogVideoXDPMScheduler`, fresh noise every step) instead of DDIM;
    - "1.5" / "1.5-i2v": CogVideoX 1.5's temporal patching (`patch_size_t` 2: latent frames go in pairs), no
      patch bias, rotary positions, and for image-to-video the `ofs` embedding.
    """
    import torch
    from diffusers import CogVideoXDPMScheduler, CogVideoXTransformer3DModel

    if variant == "dpm":
        components = cogvideox_components(True, frames, height, width)
        components["scheduler"] = CogVideoXDPMScheduler.from_config(components["scheduler"].config)
        return components
    if variant in ("1.5", "1.5-i2v"):
        i2v = variant == "1.5-i2v"
        components = cogvideox_components(i2v, frames, height, width)
        torch.manual_seed(0)
        components["transformer"] = CogVideoXTransformer3DModel(
            num_attention_heads=2,
            attention_head_dim=16,
            in_channels=8 if i2v else 4,
            out_channels=4,
            time_embed_dim=2,
            ofs_embed_dim=2 if i2v else None,
            text_embed_dim=32,
            num_layers=1,
            sample_width=width // 8,
            sample_height=height // 8,
            sample_frames=frames,
            patch_size=2,
            patch_size_t=2,
            patch_bias=False,
            temporal_compression_ratio=4,
            max_text_seq_length=16,
            use_rotary_positional_embeddings=True,
            use_learned_positional_embeddings=False,
        )
        return components
    raise ValueError(f"no tiny cogvideox variant {variant!r}")


def variant_generator(family: str, variant: str, frames=FRAMES, height=HEIGHT, width=WIDTH, **options):
    """A `wan` / `cogvideox` generator on CPU over the tiny components of one checkpoint variant."""
    from shotsmith.backends.diffusion import CogVideoXGenerator, WanGenerator

    options = {"device": "cpu", "max_sequence_length": 16, **options}
    if family == "wan":
        return WanGenerator.from_components(wan_variant_components(variant), **options)
    return CogVideoXGenerator.from_components(
        cogvideox_variant_components(variant, frames, height, width), **options
    )
