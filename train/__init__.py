"""munet.train: MU-Net models, losses, Keras metrics, datasets, tf.data pipeline and ``munet-train``.

Submodules import TensorFlow/Keras only where they need it, so ``import munet.train`` is cheap.
"""
