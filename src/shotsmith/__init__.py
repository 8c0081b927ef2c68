"""shotsmith: camera-directed shots from a still image or a video."""

import os

# OpenMP threads (numba's splat kernel, torch) sleep between parallel regions instead of spinning: on a loaded
# machine the spinning took the CPU the working threads needed (render/fast.py says more). Read when the OpenMP
# runtime loads, which may be torch's import before the renderer's, so it is set here; a user's value is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
