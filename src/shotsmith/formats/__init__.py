"""Camera file formats: shotsmith's trajectory.json and adapters for other tools' camera files.

Public API: `read_trajectory` / `write_trajectory` (our trajectory.json), `opengl_from_opencv` /
`opencv_from_opengl` (the only axis conversion of the code base), `read_camera_file` / `read_camera_rig` /
`write_camera_file` (any format of `FORMATS`, detected from content) and `detect_format`. Each format lives in
its own module; docs/FORMATS.md describes them. This package knows nothing of workspaces.
"""

from __future__ import annotations

from shotsmith.formats.axes import opencv_from_opengl, opengl_from_opencv
from shotsmith.formats.transforms import read_trajectory, write_trajectory

__all__ = [
    "opencv_from_opengl",
    "opengl_from_opencv",
    "read_trajectory",
    "write_trajectory",
]
