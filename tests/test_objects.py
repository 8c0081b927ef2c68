"""Object loading, sampling and placement (domain functions and the insert-object stage)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shotsmith import objects as O
from shotsmith import workspace as W
from shotsmith.errors import FormatError, InputError
from shotsmith.geometry import transform_points
from shotsmith.ply import write_points

CONE = "assets/cone.ply"


def test_load_mesh_and_point_cloud(tmp_path):
    mesh = O.load_object(CONE)
    assert mesh.is_mesh and mesh.mesh.visual.kind == "vertex"
    pts = np.random.default_rng(0).normal(size=(500, 3))
    write_points(tmp_path / "pc.ply", pts)
    pc = O.load_object(tmp_path / "pc.ply")
    assert not pc.is_mesh and pc.vertices.shape == (500, 3) and pc.colors.shape == (500, 3)


def test_bad_objects(tmp_path):
    empty = tmp_path / "empty.obj"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match="empty"):
        O.load_object(empty)
    corrupt = tmp_path / "bad.glb"
    corrupt.write_bytes(b"not a glb at all" * 10)
    with pytest.raises(FormatError, match="bad.glb"):
        O.load_object(corrupt)
    nofaces = tmp_path / "nofaces.obj"
    nofaces.write_text("v 0 0 0\nv 1 0 0\n")
    with pytest.raises(FormatError, match="no triangles"):
        O.load_object(nofaces)
    with pytest.raises(InputError, match="no such object"):
        O.load_object(tmp_path / "missing.ply")


def test_sampling_density_follows_screen_size():
    obj = O.load_object(CONE)
    near, colors, r_near = O.object_points(obj, 0.3, 2000.0)
    far, _, r_far = O.object_points(obj, 0.3, 500.0)
    assert len(near) > 10 * len(far)
    assert r_near < r_far
    # Colours come from the vertex colours: orange, white and the dark base are all present.
    assert (colors == [255, 110, 20]).all(axis=1).any() and (colors == [255, 255, 255]).all(axis=1).any()
    # Sample spacing on screen stays below a pixel at the density asked for.
    assert r_near * 2000.0 < 1.0


def test_placement_bottom_touches_point_and_height():
    obj = O.load_object(CONE)
    at = np.array([0.1, 0.4, 1.2])
    m, scale = O.placement_transform(obj.vertices, O.Placement(at=tuple(at), height=0.3))
    world = transform_points(m, obj.vertices)
    # Up is -y: the lowest point along up (largest y) is at the anchor; height is 0.3.
    assert world[:, 1].max() == pytest.approx(at[1])
    assert world[:, 1].max() - world[:, 1].min() == pytest.approx(0.3)
    centre_xz = (world[:, [0, 2]].min(0) + world[:, [0, 2]].max(0)) / 2
    assert np.allclose(centre_xz, at[[0, 2]], atol=1e-9)
    with pytest.raises(InputError, match="positive"):
        O.placement_transform(obj.vertices, O.Placement(at=(0, 0, 1), scale=0.0))
    with pytest.raises(InputError, match="positive"):
        O.placement_transform(obj.vertices, O.Placement(at=(0, 0, 1), height=-1.0))


def test_estimate_up_finds_a_ground_plane():
    rng = np.random.default_rng(0)
    # A ground plane 1 unit below the camera, tilted 10 degrees about x.
    x = rng.uniform(-2, 2, 4000)
    z = rng.uniform(1, 5, 4000)
    tilt = np.radians(10)
    y = 1.0 + np.tan(tilt) * (z - 3)
    pts = np.stack([x, y, z], 1)
    up, found = O.estimate_up(pts)
    assert found
    expect = np.array([0.0, -np.cos(tilt), np.sin(tilt)])
    assert abs(up @ expect) > 0.999
    up, found = O.estimate_up(rng.normal(size=(3000, 3)))
    assert not found and np.allclose(up, [0, -1, 0])


def _cache_ws(tmp_path, h=48, w=64, plane_depth=2.0):
    ws = W.Workspace(tmp_path / "ws").create()
    fx = 60.0
    depth = np.full((h, w), plane_depth, np.float32)
    depth[:4, :] = 0.0  # an invalid band at the top
    ws.path(W.CACHE_DIR).mkdir()
    np.save(ws.path(W.CACHE_DEPTH), depth)
    ws.write_json(
        W.CACHE_JSON,
        {
            "width": w,
            "height": h,
            "intrinsics": [fx, fx, w / 2, h / 2],
            "world_from_camera": np.eye(4).tolist(),
        },
    )
    return ws


def test_insert_stage_writes_and_removes(tmp_path):
    from shotsmith.stage import execute
    from shotsmith.stages.insert_object import STAGE
    from shotsmith.stages.insert_object import Config as InsertConfig

    def run(ws, cfg):
        return execute(ws, STAGE, cfg)

    ws = _cache_ws(tmp_path)
    run(ws, InsertConfig(object_path=CONE, at_pixel=(32, 30), height=0.4, mode="layered"))
    data = json.loads(ws.path(W.OBJECTS_JSON).read_text())
    (rec,) = data["objects"]
    assert rec["name"] == "cone" and rec["num_points"] > 1000
    assert ws.exists(W.object_ply("cone"))
    # Anchor = the surface point at the pixel's centre on the plane z = 2, pulled toward the camera along that
    # ray so the cone does not sink into the wall (by half its depth: its base is as deep as it is wide).
    at = np.array(rec["placement"]["at"])
    surface = np.array([(32.5 - 32) / 60 * 2, (30.5 - 24) / 60 * 2, 2.0])
    clearance = rec["placement"]["surface_clearance"]
    assert np.allclose(at + clearance * surface / np.linalg.norm(surface), surface)
    assert 0.1 < clearance < 0.3
    pts = __import__("shotsmith.ply", fromlist=["read_points"]).read_points(ws.path(rec["ply"]))[0]
    assert pts[:, 2].max() <= 2.0 + 0.01
    run(ws, InsertConfig(remove="cone"))
    assert json.loads(ws.path(W.OBJECTS_JSON).read_text())["objects"] == []
    assert not ws.exists(W.object_ply("cone"))


def test_insert_stage_bad_input_leaves_workspace(tmp_path):
    from shotsmith.stage import execute
    from shotsmith.stages.insert_object import STAGE
    from shotsmith.stages.insert_object import Config as InsertConfig

    def run(ws, cfg):
        return execute(ws, STAGE, cfg)

    ws = _cache_ws(tmp_path)
    before = sorted(p.name for p in ws.root.rglob("*"))
    with pytest.raises(InputError, match="outside"):
        run(ws, InsertConfig(object_path=CONE, at_pixel=(500, 10)))
    with pytest.raises(InputError, match="no depth"):
        run(ws, InsertConfig(object_path=CONE, at_pixel=(10, 1)))
    with pytest.raises(InputError, match="enclose the camera"):
        run(ws, InsertConfig(object_path=CONE, at=(0.0, 0.5, 0.0), height=5.0))
    with pytest.raises(InputError, match="scale"):
        run(ws, InsertConfig(object_path=CONE, at_pixel=(32, 30), scale=-1.0))
    after = sorted(p.name for p in ws.root.rglob("*") if p.name != W.SHOT)
    assert [n for n in after if n not in before] == []
