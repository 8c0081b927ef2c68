"""shotsmith: camera-directed shots from a still image or a video."""

__version__ = "0.1.0"
