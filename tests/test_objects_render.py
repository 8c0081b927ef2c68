"""Inserted objects in rendered guidance: occlusion in both directions, and objects stay where they were put."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from shotsmith import workspace as W
from shotsmith.media import read_image, read_mask_video, write_image

BLUE, RED, GREEN = (30, 60, 220), (220, 40, 40), (40, 200, 60)


@pytest.fixture
def pillar_scene(tmp_path):
    """A 64x48 photo of a blue wall at depth 2 with a red pillar (columns 20-43) at depth 1 in front."""
    img = np.zeros((48, 64, 3), np.uint8)
    img[:] = BLUE
    img[:, 20:44] = RED
    depth = np.full((48, 64), 2.0, np.float32)
    depth[:, 20:44] = 1.0
    write_image(tmp_path / "photo.png", img)
    np.save(tmp_path / "depth.npy", depth)
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.2))
    box.visual.vertex_colors = np.tile([*GREEN, 255], (len(box.vertices), 1))
    box.export(tmp_path / "box.ply", encoding="binary")
    return tmp_path


@pytest.mark.parametrize("mode", ["layered", "fused"])
def test_occlusion_both_ways(cli, pillar_scene, mode):
    ws = pillar_scene / "ws"
    # Scene units: the subject (the pillar in the central box, depth 1) is 1.0, so the wall is at 2.0.
    steps = [
        (
            "build-3d-cache",
            "-w",
            ws,
            "--image",
            pillar_scene / "photo.png",
            "--depth",
            pillar_scene / "depth.npy",
        ),
        ("plan-trajectory", "-w", ws, "--cam", "static", "--frames", "3", "--size", "64x48"),
        # A green box between the pillar (1.0) and the wall (2.0), centred on the pillar and wider than it.
        (
            "insert-object",
            pillar_scene / "box.ply",
            "-w",
            ws,
            "--at",
            "0,0,1.5",
            "--anchor",
            "center",
            "--height",
            "0.4",
            "--mode",
            mode,
        ),
        ("render-guidance", "-w", ws, "--frames-png"),
    ]
    for args in steps:
        code, _, err = cli(*args)
        assert code == 0, err
    frame = read_image(ws / W.guidance_frame(1)).astype(int)
    row = frame[24]

    def is_color(px, c):
        return np.abs(px - np.array(c)).max() < 40

    # fx = 32 / tan(30 deg) = 55.4: the box (0.8 wide at 1.5) spans columns ~17-47; the pillar hides its middle.
    assert all(is_color(row[c], GREEN) for c in (18, 19, 45, 46)), row[16:48]
    assert all(is_color(row[c], RED) for c in range(24, 40)), row[16:48]
    assert all(is_color(row[c], BLUE) for c in (2, 8, 56, 61))
    assert all(is_color(frame[5, c], RED) for c in range(24, 40))  # above the box: the pillar
    if mode == "layered":
        mask = read_mask_video(ws / W.GUIDANCE_OBJECT_MASK)[1]
        assert mask[24, 18] and mask[24, 45] and not mask[24, 30] and not mask[24, 8]
    else:
        assert not (ws / W.GUIDANCE_OBJECT_MASK).exists()


def test_object_stays_where_it_was_put(cli, tmp_path, textured_image):
    write_image(tmp_path / "photo.png", textured_image)
    ws = tmp_path / "ws"
    code, _, err = cli(
        "run",
        "a cone on a textured floor",
        "--image",
        tmp_path / "photo.png",
        "-w",
        ws,
        "--cam",
        "dolly_in+arc_left",
        "--frames",
        "9",
        "--size",
        "128x96",
        "--depth",
        "prior",
        "--generator",
        "inpaint",
        "--object",
        "assets/cone.ply",
        "--at-pixel",
        "64,70",
    )
    assert code == 0, err
    from shotsmith.formats import read_trajectory
    from shotsmith.ply import read_points

    cam = read_trajectory(ws / W.TRAJECTORY)
    (rec,) = json.loads((ws / W.OBJECTS_JSON).read_text())["objects"]
    points, _ = read_points(ws / rec["ply"])
    mask = read_mask_video(ws / W.GUIDANCE_OBJECT_MASK)
    assert mask.shape[0] == len(cam)
    for t in range(len(cam)):
        cam_pts = (points - cam.world_from_camera[t, :3, 3]) @ cam.world_from_camera[t, :3, :3]
        fx, fy, cx, cy = cam.intrinsics[t]
        u = fx * cam_pts[:, 0] / cam_pts[:, 2] + cx
        v = fy * cam_pts[:, 1] / cam_pts[:, 2] + cy
        # The object's silhouette where its points project (each pixel once) ...
        h, w = mask.shape[1:]
        ui, vi = np.floor(u).astype(int), np.floor(v).astype(int)
        keep = (ui >= 0) & (ui < w) & (vi >= 0) & (vi < h)
        silhouette = np.zeros((h, w), bool)
        silhouette[vi[keep], ui[keep]] = True
        sy, sx = np.nonzero(silhouette)
        ys, xs = np.nonzero(mask[t])
        assert len(xs) > 20
        # ... and the rendered object mask have their centres within 2 pixels, frame after frame.
        assert abs(xs.mean() - sx.mean()) < 2.0 and abs(ys.mean() - sy.mean()) < 2.0, t
        assert (mask[t] & silhouette).sum() > 0.8 * mask[t].sum(), t
