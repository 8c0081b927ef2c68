"""Pure math of guidance-tied denoising (numpy only): latent masks, hole filling, blending, step schedules.

The neural generators in `shotsmith.backends.diffusion` keep the pixels the 3D cache covers tied to the
rendered guidance while a video diffusion model fills the holes. That needs the pixel coverage mask at the
resolution of the video VAE's latents, a plausible colour in the holes before the guidance is encoded, and a
blend of the guidance latents (re-noised to the current timestep) into the model's latents. These functions
hold that math and nothing else: no torch, no diffusers, no schedulers. `blend` works on numpy arrays and on
torch tensors alike (it only multiplies and adds).

Causal video VAEs (Wan2.1, CogVideoX) encode frame 0 alone into latent frame 0 and every following group of
`temporal` frames into one latent frame, so T = temporal * (t - 1) + 1 pixel frames give t latent frames.
"""

from __future__ import annotations

import numpy as np

from shotsmith.errors import InputError


def latent_frame_groups(num_frames: int, temporal: int) -> list[slice]:
    """Pixel-frame slices that each latent frame of a causal video VAE encodes.

    `num_frames` must be `temporal * k + 1`: group 0 is frame 0, group j >= 1 is frames
    `temporal * (j - 1) + 1 ... temporal * j`.
    """
    if temporal < 1 or num_frames < 1 or (num_frames - 1) % temporal:
        raise InputError(
            f"{num_frames} frames do not fit a causal video VAE with temporal factor {temporal}: "
            f"the count must be {temporal}k+1"
        )
    groups = [slice(0, 1)]
    for j in range(1, (num_frames - 1) // temporal + 1):
        groups.append(slice(temporal * (j - 1) + 1, temporal * j + 1))
    return groups


def latent_coverage(mask: np.ndarray, temporal: int, spatial: int) -> np.ndarray:
    """(t, h, w) float32 fraction of covered pixels under each latent cell of a `(T, H, W)` bool mask.

    A cell spans its latent frame's pixel frames (see `latent_frame_groups`) and a `spatial` x `spatial`
    pixel block. H and W must be multiples of `spatial`.
    """
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise InputError(f"guidance mask: expected an array of shape (T, H, W), got {mask.shape}")
    n, height, width = mask.shape
    if height % spatial or width % spatial:
        raise InputError(
            f"guidance size {width}x{height} is not a multiple of the VAE's spatial factor {spatial}"
        )
    cells = (
        mask.astype(np.float32)
        .reshape(n, height // spatial, spatial, width // spatial, spatial)
        .mean(axis=(2, 4))
    )
    return np.stack([cells[g].mean(axis=0) for g in latent_frame_groups(n, temporal)]).astype(np.float32)


def erode_cells(mask: np.ndarray, iterations: int) -> np.ndarray:
    """(t, h, w) binary mask shrunk by `iterations` cells in space (3x3 min filter per frame; borders stay)."""
    out = np.asarray(mask, dtype=np.float32)
    for _ in range(max(0, int(iterations))):
        padded = np.pad(out, ((0, 0), (1, 1), (1, 1)), mode="edge")
        h, w = out.shape[1:]
        out = np.min(
            np.stack([padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]), axis=0
        )
    return out


def latent_mask(
    mask: np.ndarray, temporal: int, spatial: int, min_coverage: float = 0.98, erode: int = 0
) -> np.ndarray:
    """(t, h, w) float32 in {0, 1}: 1 where a latent cell counts as covered by the guidance.

    Conservative: a cell is covered only if at least `min_coverage` of its pixels (over all the frames it
    encodes) are covered, then the covered set is eroded by `erode` cells, so the model, not a half-empty
    guidance cell, decides the content near hole borders.
    """
    if not 0.0 < min_coverage <= 1.0:
        raise InputError(f"min_coverage must be in (0, 1], got {min_coverage}")
    covered = (latent_coverage(mask, temporal, spatial) >= min_coverage - 1e-6).astype(np.float32)
    return erode_cells(covered, erode)


def fill_holes(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 frames whose uncovered pixels hold a smooth push-pull fill of the covered colours.

    Only a starting point for the encoder (the model repaints the holes); a frame with no covered pixel
    becomes mid grey.
    """
    rgb = np.asarray(rgb)
    mask = np.asarray(mask, dtype=bool)
    out = np.empty_like(rgb)
    for i in range(len(rgb)):
        filled = _push_pull(rgb[i].astype(np.float32), mask[i].astype(np.float32))
        out[i] = np.where(mask[i][..., None], rgb[i], np.clip(np.rint(filled), 0, 255).astype(rgb.dtype))
    return out


def _push_pull(color: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(H, W, 3) colour with holes (weight 0) filled from a pyramid of weighted averages."""
    if weight.sum() == 0:
        return np.full_like(color, 127.5)
    if min(weight.shape) <= 1 or weight.min() > 0:
        return color
    h, w = weight.shape
    ph, pw = h + h % 2, w + w % 2
    cw = np.pad(color * weight[..., None], ((0, ph - h), (0, pw - w), (0, 0)))
    ww = np.pad(weight, ((0, ph - h), (0, pw - w)))
    sum_c = cw.reshape(ph // 2, 2, pw // 2, 2, 3).sum(axis=(1, 3))
    sum_w = ww.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
    coarse_w = np.minimum(sum_w, 1.0)
    coarse_c = np.where(sum_w[..., None] > 0, sum_c / np.maximum(sum_w, 1e-8)[..., None], 0.0)
    coarse = _push_pull(coarse_c, coarse_w)
    up = np.repeat(np.repeat(coarse, 2, axis=0), 2, axis=1)[:h, :w]
    return np.where(weight[..., None] > 0, color, up)


def blend(current, guide, mask):
    """`mask * guide + (1 - mask) * current` (numpy or torch; `mask` broadcasts, 1 = keep the guide)."""
    return mask * guide + (1 - mask) * current


def start_step(num_steps: int, strength: float) -> int:
    """Index of the first denoising step run for a video-to-video `strength` in (0, 1].

    strength 1 runs every step from pure noise; smaller values skip the noisiest steps (SDEdit), always
    running at least one.
    """
    if num_steps < 1:
        raise InputError(f"steps must be at least 1, got {num_steps}")
    if not 0.0 < strength <= 1.0:
        raise InputError(f"strength must be in (0, 1], got {strength}")
    run = min(max(int(num_steps * strength), 1), num_steps)
    return num_steps - run


def tied_steps(num_run: int, tie_until: float) -> int:
    """How many of the `num_run` steps blend the guidance in (`tie_until` = fraction of them, from the start)."""
    if not 0.0 <= tie_until <= 1.0:
        raise InputError(f"tie_until must be in [0, 1], got {tie_until}")
    return int(round(num_run * tie_until))


def to_unit_range(rgb: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (3, T, H, W) float32 in [-1, 1] (the video VAEs' input layout)."""
    return (np.asarray(rgb, dtype=np.float32) / 127.5 - 1.0).transpose(3, 0, 1, 2)


def from_unit_range(video: np.ndarray) -> np.ndarray:
    """(3, T, H, W) float in [-1, 1] -> (T, H, W, 3) uint8."""
    return np.clip(
        np.rint((np.asarray(video, dtype=np.float32).transpose(1, 2, 3, 0) + 1.0) * 127.5), 0, 255
    ).astype(np.uint8)
