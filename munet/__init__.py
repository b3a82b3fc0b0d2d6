"""MU-Net Edge: train a MobileNetV2 U-Net (MU-Net), quantize it, run it on small devices.

The import package ``munet`` maps one subpackage onto each top-level folder of the
repository (see pyproject.toml): ``munet.train`` is ``train/``, ``munet.convert`` is
``convert/``, ``munet.edge`` is ``edge/`` (never imports TensorFlow) and
``munet.benchmarks`` is ``benchmarks/``. The TF-free core lives here in ``munet/``: ``munet.data`` (dataset
layouts, pairs, splits, fold files), ``munet.imageio``, ``munet.atomic``, ``munet.errors`` and ``munet.progress``;
it imports none of the subpackages. Importing ``munet`` imports nothing heavy.
"""

__version__ = "0.1.0"
