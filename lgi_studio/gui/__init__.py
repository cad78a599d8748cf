"""The desktop app: the only part of LGI Studio that imports Qt."""
