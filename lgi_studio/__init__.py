"""LGI Studio: pictures as a few thousand coloured 2D Gaussians.

Importing this package starts neither Taichi nor Qt.
"""

__version__ = "0.1.0"
