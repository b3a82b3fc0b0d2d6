"""Selective int8 quantization: leave chosen layers in float (placeholder, filled in next)."""
