"""The codec engine: Gaussians, fitting, quantization. NumPy and the kernels; never Qt, never file IO."""
