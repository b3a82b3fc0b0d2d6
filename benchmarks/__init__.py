"""munet.benchmarks: accuracy, latency, noise and Pareto benchmarks (``munet-bench``).

Committed results live in ``benchmarks/results/``.
"""
