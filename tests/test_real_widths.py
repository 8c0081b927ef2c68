"""Every supported checkpoint family at its real published widths, with random weights, through shotsmith's own code.

Issue 14: tiny models cannot show what the real shapes do (Wan2.1 I2V's 512-token split, Wan2.2's second expert,
TI2V's 48-channel residual VAE, CogVideoX's 226 text positions...). Each test here builds one family with every
width of its published config.json and only 1-2 transformer blocks (the text encoder 1 layer, the vocabulary the
in-code tokenizer's: an embedding table is a lookup, its size changes no shape downstream), and runs one guided
step (Wan2.2 A14B: four, so that both experts run) through `generate` at a small video size on the CPU.

Where the numbers come from (the models' public config.json files on the Hugging Face hub, as published; the
diffusers folder layout `transformer/`, `vae/`, `text_encoder/`, `image_encoder/`):
- Wan-AI/Wan2.1-T2V-1.3B-Diffusers, Wan-AI/Wan2.1-I2V-14B-480P-Diffusers, Wan-AI/Wan2.2-T2V-A14B-Diffusers,
  Wan-AI/Wan2.2-TI2V-5B-Diffusers: `transformer/config.json` (WanTransformer3DModel), `vae/config.json`
  (AutoencoderKLWan; Wan2.1's equals diffusers' defaults), `text_encoder/config.json` (UMT5-XXL encoder,
  = google/umt5-xxl), `image_encoder/config.json` (CLIP ViT-H/14 vision tower, I2V-14B only), model_index.json
  (`boundary_ratio`, `expand_timesteps`), `scheduler/scheduler_config.json` (UniPC on flow sigmas, `flow_shift`);
- THUDM/CogVideoX-5b-I2V (now zai-org): `transformer/config.json`, `vae/config.json`, `text_encoder/config.json`
  (T5 v1.1 XXL encoder), `scheduler/scheduler_config.json` (CogVideoXDPMScheduler);
- depth-anything/Depth-Anything-V2-Small-hf and -Metric-Indoor-Small-hf: config.json (DINOv2-S backbone) and
  preprocessor_config.json;
- MoGe v2 ViT-L: microsoft/MoGe configs/train/v2.json (the released v2 architecture's `model` block);
- open-clip's own `ViT-B-32-quickgelu.json` (OpenAI's ViT-B/32).

What is NOT real here, on purpose: the number of blocks; the vocabulary; Wan2.2's 48 per-channel latent mean/std
(normalisation constants, here 0 and 1); CogVideoX-5b-I2V's sample size (its learned positional table is sized by
`sample_height/width/frames`, 60x90x49 latent cells = 720x480x49: the test video's size here, 32x64x9); MoGe v2
ViT-S's neck and heads (not in a config readable here: the ViT-L ones with the ViT-S/14 backbone, see below).
Random weights make the videos noise; the tests check shapes, code paths and the guidance tie, not quality.
Seconds and peak memory measured on the 2-core CPU are in docs/GENERATORS.md ("Real widths").
"""

from __future__ import annotations

import numpy as np
import pytest

from shotsmith.backends.generate import GenerateRequest
from shotsmith.camera import CameraPath

pytestmark = [pytest.mark.neural, pytest.mark.slow]

# -- published widths -----------------------------------------------------------------------------------------
UMT5_XXL = {  # Wan*/text_encoder/config.json (google/umt5-xxl); vocab_size 256384 there
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_heads": 64,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "feed_forward_proj": "gated-gelu",
    "layer_norm_epsilon": 1e-6,
}
T5_XXL = {  # THUDM/CogVideoX-5b-I2V text_encoder/config.json (google/t5-v1_1-xxl); vocab_size 32128 there
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_heads": 64,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "feed_forward_proj": "gated-gelu",
    "layer_norm_epsilon": 1e-6,
}
WAN_COMMON = {  # shared by every Wan transformer/config.json
    "patch_size": (1, 2, 2),
    "attention_head_dim": 128,
    "text_dim": 4096,
    "freq_dim": 256,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
    "rope_max_seq_len": 1024,
}
WAN_TRANSFORMERS = {
    # Wan2.1-T2V-1.3B: 12 heads x 128 = 1536 wide, ffn 8960, 30 layers
    "wan2.1-t2v-1.3b": {"num_attention_heads": 12, "ffn_dim": 8960, "in_channels": 16, "out_channels": 16},
    # Wan2.1-I2V-14B-480P: 40 heads x 128 = 5120, ffn 13824, 40 layers, 36 input channels (16 latents + 4 mask
    # + 16 condition latents), CLIP image embeddings of 1280 through added k/v projections of 5120
    "wan2.1-i2v-14b-480p": {
        "num_attention_heads": 40,
        "ffn_dim": 13824,
        "in_channels": 36,
        "out_channels": 16,
        "image_dim": 1280,
        "added_kv_proj_dim": 5120,
    },
    # Wan2.2-T2V-A14B: two experts (transformer, transformer_2), each the 14B T2V architecture
    "wan2.2-t2v-a14b": {"num_attention_heads": 40, "ffn_dim": 13824, "in_channels": 16, "out_channels": 16},
    # Wan2.2-TI2V-5B: 24 heads x 128 = 3072, ffn 14336, 30 layers, 48 latent channels in and out
    "wan2.2-ti2v-5b": {"num_attention_heads": 24, "ffn_dim": 14336, "in_channels": 48, "out_channels": 48},
}
WAN21_VAE = {  # Wan2.1 vae/config.json (= AutoencoderKLWan's defaults, latents_mean/std included)
    "base_dim": 96,
    "z_dim": 16,
    "dim_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "attn_scales": [],
    "temperal_downsample": [False, True, True],
}
WAN22_VAE = {  # Wan2.2-TI2V-5B vae/config.json: residual, 2x2 patchifying (12 channels), 16 px per latent cell
    "base_dim": 160,
    "decoder_base_dim": 256,
    "z_dim": 48,
    "dim_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "attn_scales": [],
    "temperal_downsample": [False, True, True],
    "is_residual": True,
    "in_channels": 12,
    "out_channels": 12,
    "patch_size": 2,
    "scale_factor_spatial": 16,
    "scale_factor_temporal": 4,
    "latents_mean": [0.0] * 48,  # the published 48 constants are not reproduced here
    "latents_std": [1.0] * 48,
}
WAN_SCHEDULER = {  # scheduler_config.json: UniPC on flow-matching sigmas; flow_shift per checkpoint below
    "prediction_type": "flow_prediction",
    "use_flow_sigmas": True,
    "num_train_timesteps": 1000,
}
WAN_FLOW_SHIFT = {
    "wan2.1-t2v-1.3b": 3.0,
    "wan2.1-i2v-14b-480p": 3.0,
    "wan2.2-t2v-a14b": 12.0,
    "wan2.2-ti2v-5b": 5.0,
}
CLIP_VIT_H14_VISION = {  # Wan2.1-I2V-14B-480P image_encoder/config.json (open-clip ViT-H/14 vision tower)
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_attention_heads": 16,
    "patch_size": 14,
    "image_size": 224,
    "projection_dim": 1024,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-5,
}
COGVIDEOX_5B_I2V = {  # THUDM/CogVideoX-5b-I2V transformer/config.json: 48 heads x 64 = 3072, 42 layers
    "num_attention_heads": 48,
    "attention_head_dim": 64,
    "in_channels": 32,
    "out_channels": 16,
    "time_embed_dim": 512,
    "text_embed_dim": 4096,
    "patch_size": 2,
    "temporal_compression_ratio": 4,
    "max_text_seq_length": 226,
    "activation_fn": "gelu-approximate",
    "timestep_activation_fn": "silu",
    "norm_elementwise_affine": True,
    "norm_eps": 1e-5,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "spatial_interpolation_scale": 1.875,
    "temporal_interpolation_scale": 1.0,
    "use_rotary_positional_embeddings": True,
    "use_learned_positional_embeddings": True,
}
COGVIDEOX_VAE = {  # THUDM/CogVideoX-5b-I2V vae/config.json
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("CogVideoXDownBlock3D",) * 4,
    "up_block_types": ("CogVideoXUpBlock3D",) * 4,
    "block_out_channels": (128, 256, 256, 512),
    "latent_channels": 16,
    "layers_per_block": 3,
    "act_fn": "silu",
    "norm_eps": 1e-6,
    "norm_num_groups": 32,
    "temporal_compression_ratio": 4,
    "scaling_factor": 0.7,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
COGVIDEOX_SCHEDULER = {  # THUDM/CogVideoX-5b-I2V scheduler/scheduler_config.json (CogVideoXDPMScheduler)
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "set_alpha_to_one": True,
    "snr_shift_scale": 1.0,
    "steps_offset": 0,
    "timestep_spacing": "trailing",
}


@pytest.fixture(autouse=True)
def _threads():
    import torch

    torch.set_num_threads(2)


def request(frames: int, height: int, width: int, steps: int = 1) -> GenerateRequest:
    """A textured guidance video covered on its left half (every frame, the first included)."""
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 5, y * 7, 255 - x * 3], axis=-1) % 256
    rgb = np.stack([np.roll(base, 2 * t, axis=1) for t in range(frames)]).astype(np.uint8)
    mask = np.ones((frames, height, width), bool)
    mask[:, :, width // 2 :] = False
    cams = CameraPath(
        np.tile(np.eye(4), (frames, 1, 1)), [width, width, width / 2, height / 2], width, height
    )
    depth = np.ones((frames, height, width), np.float32)
    return GenerateRequest(
        rgb, mask, depth, cams, prompt="the camera moves slowly left", steps=steps, guidance_scale=2.0
    )


def full_request(frames: int, height: int, width: int, steps: int = 1) -> GenerateRequest:
    req = request(frames, height, width, steps)
    req.guidance_mask[:] = True
    return req


def check_tied(gen, covered_columns: int, channel_axis: int) -> None:
    """The run's covered latent cells ended on the guidance latents (the tie held at these widths)."""
    run = gen.last_run
    cells = np.abs(run.latents - run.guide_latents).mean(axis=channel_axis)
    keep = run.latent_mask > 0
    assert keep[..., :covered_columns].all()
    assert cells[keep].max() < 1e-4
    assert np.isfinite(run.latents).all()


def wan_components(name: str, dtype=None) -> dict:
    """Real-width Wan components of checkpoint `name` (2 blocks; 1 per expert for the 14B widths)."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from helpers import tiny_tokenizer

    dtype = dtype or torch.float32
    tokenizer = tiny_tokenizer()
    layers = 1 if "14b" in name else 2
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # built in the run dtype: a 5120-wide block is 1.6 GB in float32
    try:
        components = {
            "tokenizer": tokenizer,
            "text_encoder": UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer), num_layers=1, **UMT5_XXL)),
            "transformer": WanTransformer3DModel(num_layers=layers, **WAN_COMMON, **WAN_TRANSFORMERS[name]),
        }
        if name == "wan2.2-t2v-a14b":
            components["transformer_2"] = WanTransformer3DModel(
                num_layers=layers, **WAN_COMMON, **WAN_TRANSFORMERS[name]
            )
            components["boundary_ratio"] = 0.875  # model_index.json
        if name == "wan2.1-i2v-14b-480p":
            from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

            # Wan takes the penultimate hidden state: 2 of the 32 layers
            components["image_encoder"] = CLIPVisionModel(
                CLIPVisionConfig(num_hidden_layers=2, **CLIP_VIT_H14_VISION)
            )
            components["image_processor"] = CLIPImageProcessor(crop_size=224, size={"shortest_edge": 224})
    finally:
        torch.set_default_dtype(previous)
    vae = WAN22_VAE if name == "wan2.2-ti2v-5b" else WAN21_VAE
    components["vae"] = AutoencoderKLWan(**vae)  # Wan's VAE runs in float32
    components["scheduler"] = UniPCMultistepScheduler(**WAN_SCHEDULER, flow_shift=WAN_FLOW_SHIFT[name])
    if name == "wan2.2-ti2v-5b":
        components["expand_timesteps"] = True  # model_index.json
    return components


def wan_generator(name: str, dtype: str = "float32", **options):
    import torch

    from shotsmith.backends.diffusion import WanGenerator

    components = wan_components(name, getattr(torch, dtype))
    return WanGenerator.from_components(
        components, device="cpu", dtype=dtype, max_sequence_length=16, **options
    )


def test_wan21_t2v_1_3b():
    gen = wan_generator("wan2.1-t2v-1.3b")
    gen.load()
    assert gen._mode == "v2v" and gen.constraints.multiple_of == 16
    video = gen.generate(request(5, 32, 32))
    assert video.shape == (5, 32, 32, 3)
    assert gen.last_run.guide_latents.shape == (16, 2, 4, 4)
    check_tied(gen, 2, channel_axis=0)


def test_wan21_i2v_14b_480p():
    gen = wan_generator("wan2.1-i2v-14b-480p", dtype="bfloat16", negative_prompt="")
    gen.load()
    assert gen._mode == "i2v"
    attn = gen.pipeline.transformer.blocks[0].attn2
    seen = {"image": set(), "text": set()}
    attn.add_k_proj.register_forward_hook(lambda m, a, o: seen["image"].add(a[0].shape[1]))
    attn.to_k.register_forward_hook(lambda m, a, o: seen["text"].add(a[0].shape[1]))
    video = gen.generate(full_request(5, 32, 32))
    assert video.shape == (5, 32, 32, 3)
    # 224 px / 14 px patches = 16 x 16 image tokens + 1 class token; the text padded to the 512 the split assumes
    assert seen == {"image": {257}, "text": {512}}
    check_tied(gen, 2, channel_axis=0)


def test_wan22_t2v_a14b_two_experts():
    gen = wan_generator("wan2.2-t2v-a14b", dtype="bfloat16", steps=4)
    gen.load()
    calls = []
    for name in ("transformer", "transformer_2"):
        getattr(gen.pipeline, name).register_forward_hook(lambda m, a, o, name=name: calls.append(name))
    gen.generate(request(5, 32, 32, steps=4))
    boundary = 0.875 * 1000
    expected = [
        n for t in gen.last_run.timesteps for n in ["transformer" if t >= boundary else "transformer_2"] * 2
    ]
    assert calls == expected and set(calls) == {"transformer", "transformer_2"}
    check_tied(gen, 2, channel_axis=0)


def test_wan22_ti2v_5b():
    gen = wan_generator("wan2.2-ti2v-5b")
    gen.load()
    assert gen._mode == "i2v" and gen.constraints.multiple_of == 32  # 16 px latent cells, 2x2 patches
    seen = []
    gen.pipeline.transformer.register_forward_hook(
        lambda m, a, k, o: seen.append(k["timestep"]), with_kwargs=True
    )
    video = gen.generate(full_request(5, 64, 64))
    assert video.shape == (5, 64, 64, 3)
    assert gen.last_run.guide_latents.shape == (48, 2, 4, 4)
    assert seen[0].shape == (1, 2 * 2 * 2) and (seen[0][:, :4] == 0).all()  # the first latent frame is given
    check_tied(gen, 4, channel_axis=0)


def test_cogvideox_5b_i2v():
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDPMScheduler,
        CogVideoXTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    from helpers import tiny_tokenizer
    from shotsmith.backends.diffusion import CogVideoXGenerator

    frames, height, width = 9, 32, 64
    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    components = {
        "tokenizer": tokenizer,
        "text_encoder": T5EncoderModel(T5Config(vocab_size=len(tokenizer), num_layers=1, **T5_XXL)),
        "transformer": CogVideoXTransformer3DModel(
            num_layers=1,
            sample_width=width // 8,
            sample_height=height // 8,
            sample_frames=frames,
            **COGVIDEOX_5B_I2V,
        ),
        "vae": AutoencoderKLCogVideoX(**COGVIDEOX_VAE),
        "scheduler": CogVideoXDPMScheduler(**COGVIDEOX_SCHEDULER),
    }
    gen = CogVideoXGenerator.from_components(components, device="cpu", dtype="float32")
    gen.load()
    assert gen._mode == "i2v"
    seen = []
    gen.pipeline.transformer.register_forward_hook(
        lambda m, a, k, o: seen.append(k["encoder_hidden_states"].shape), with_kwargs=True
    )
    video = gen.generate(full_request(frames, height, width))
    assert video.shape == (frames, height, width, 3)
    assert seen == [(2, 226, 4096)]  # classifier-free guidance batched; the 226 text positions of the model
    check_tied(gen, 4, channel_axis=1)


# -- depth --------------------------------------------------------------------------------------------------------
DA2_SMALL_BACKBONE = {  # depth-anything/Depth-Anything-V2-Small-hf config.json: DINOv2-S/14
    "hidden_size": 384,
    "num_hidden_layers": 12,
    "num_attention_heads": 6,
    "mlp_ratio": 4,
    "patch_size": 14,
    "image_size": 518,
    "out_indices": [9, 10, 11, 12],
    "reshape_hidden_states": False,
}
DA2_SMALL_HEAD = {
    "reassemble_hidden_size": 384,
    "reassemble_factors": [4, 2, 1, 0.5],
    "neck_hidden_sizes": [48, 96, 192, 384],
    "fusion_hidden_size": 64,
    "head_hidden_size": 32,
    "patch_size": 14,
}
DA2_PROCESSOR = {  # preprocessor_config.json (DPTImageProcessor)
    "do_resize": True,
    "size": {"height": 518, "width": 518},
    "keep_aspect_ratio": True,
    "ensure_multiple_of": 14,
    "resample": 3,
    "do_rescale": True,
    "do_normalize": True,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
}


@pytest.mark.parametrize("kind", ["relative", "metric"])
def test_depth_anything_v2_small(tmp_path, kind):
    """Depth-Anything-V2-Small-hf (relative) and -Metric-Indoor-Small-hf (metric, max_depth 20): the whole model
    (24.8 M parameters) at its widths and depth, saved and loaded through the real path, at its 518 px input."""
    import torch
    from skimage import data
    from transformers import (
        DepthAnythingConfig,
        DepthAnythingForDepthEstimation,
        Dinov2Config,
        DPTImageProcessor,
    )

    from shotsmith.backends.depth.neural import DepthAnythingV2

    torch.manual_seed(0)
    extra = {"depth_estimation_type": "metric", "max_depth": 20} if kind == "metric" else {}
    config = DepthAnythingConfig(
        backbone_config=Dinov2Config(**DA2_SMALL_BACKBONE), **DA2_SMALL_HEAD, **extra
    )
    net = DepthAnythingForDepthEstimation(config).eval()
    assert 24e6 < sum(p.numel() for p in net.parameters()) < 26e6
    net.save_pretrained(tmp_path / "da2")
    DPTImageProcessor(**DA2_PROCESSOR).save_pretrained(tmp_path / "da2")
    backend = DepthAnythingV2(model=str(tmp_path / "da2"))
    image = data.astronaut()[::4, ::4]  # 128 x 128
    res = backend(image)
    assert backend.metric == (kind == "metric") and res.kind == kind
    assert res.depth.shape == image.shape[:2] and np.isfinite(res.depth).all()


MOGE_V2_VITL = {  # microsoft/MoGe configs/train/v2.json, "model"
    "encoder": {"backbone": "dinov2_vitl14", "intermediate_layers": [5, 11, 17, 23], "dim_out": 1024},
    "neck": {
        "dim_in": [1026, 2, 2, 2, 2],
        "dim_out": None,
        "dim_res_blocks": [1024, 256, 128, 64, 32],
        "num_res_blocks": [0, 2, 2, 2, 0],
        "res_block_in_norm": "none",
        "res_block_hidden_norm": "none",
        "resamplers": ["conv_transpose", "conv_transpose", "conv_transpose", "bilinear"],
    },
    **{
        head: {
            "dim_in": [1024, 256, 128, 64, 32],
            "dim_out": [None, None, None, None, out],
            "dim_res_blocks": [1024, 256, 128, 64, 32],
            "num_res_blocks": [0, 1, 1, 1, 0],
            "res_block_in_norm": "none",
            "res_block_hidden_norm": "none",
            "resamplers": ["conv_transpose", "conv_transpose", "conv_transpose", "bilinear"],
        }
        for head, out in (("points_head", 3), ("normal_head", 3), ("mask_head", 1))
    },
    "scale_head": {"dims": [1024, 1024, 1024, 1]},
    "remap_output": "exp",
    "num_tokens_range": [1200, 3600],
}
# MoGe v2 ViT-S: the DINOv2-S/14 backbone (384 wide, 12 blocks) with its four quarter-depth layers (as ViT-L's
# [5, 11, 17, 23] of 24) and the scale head reading its 384-wide class token; the neck and heads are ViT-L's
# (the published ViT-S ones live only inside its pickled model.pt, which is never opened here).
MOGE_V2_VITS = {
    **MOGE_V2_VITL,
    "encoder": {"backbone": "dinov2_vits14", "intermediate_layers": [2, 5, 8, 11], "dim_out": 1024},
    "scale_head": {"dims": [384, 1024, 1024, 1]},
}


@pytest.mark.parametrize("name", ["vits", "vitl"])
def test_moge_v2(tmp_path, name):
    """MoGe v2 at its widths and full depth (the backbone's intermediate layers need all its blocks), saved and
    loaded through the safetensors path (every key of the architecture checked), run at a small token count."""
    import torch
    from moge.model.v2 import MoGeModel
    from skimage import data

    from shotsmith.backends.depth.neural import MoGe, MoGeSettings, moge_key_check, save_moge_safetensors

    config = MOGE_V2_VITS if name == "vits" else MOGE_V2_VITL
    torch.manual_seed(0)
    net = MoGeModel(**config).eval()
    assert moge_key_check(net, net.state_dict().keys()) == ([], [])
    folder = save_moge_safetensors(net, config, tmp_path / name)
    del net
    res = MoGe(model=str(folder), settings=MoGeSettings(num_tokens=144))(data.astronaut()[::4, ::4])
    assert res.kind == "metric" and res.depth.shape == (128, 128) and np.isfinite(res.depth).all()


# -- CLIP ---------------------------------------------------------------------------------------------------------
def test_clip_vit_b32_openai_tag_builds_quickgelu(tmp_path, monkeypatch):
    """OpenAI's ViT-B/32 (open-clip `ViT-B-32-quickgelu`, the whole model: 151 M parameters) saved where open-clip's
    `openai` tag lives in the hub cache (timm/vit_base_patch32_clip_224.openai): `ViT-B-32` + `openai` loads it
    from the cache only, with QuickGELU, and scores frames."""
    import huggingface_hub.constants as hub_constants
    import open_clip
    import torch
    from safetensors.torch import save_file

    from shotsmith.backends.clip import ClipBackend

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=None)
    assert 150e6 < sum(p.numel() for p in model.parameters()) < 152e6
    repo = tmp_path / "models--timm--vit_base_patch32_clip_224.openai"
    (repo / "snapshots" / "abc").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc")
    save_file(model.state_dict(), str(repo / "snapshots" / "abc" / "open_clip_model.safetensors"))
    del model
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))
    clip = ClipBackend("ViT-B-32", "openai").load()
    assert clip.activation == "QuickGELU"
    assert type(clip.model.visual.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"
    frames = np.random.default_rng(0).integers(0, 255, (4, 64, 64, 3), dtype=np.uint8)
    assert clip.encode_images(frames).shape == (4, 512)
    assert 0.0 <= clip.text_frame_score(frames, "a dog on a beach") <= 100.0
