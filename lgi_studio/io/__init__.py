"""Bytes in and out: images and the .lgi container. No Qt, no kernels."""
