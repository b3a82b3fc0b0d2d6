"""munet.train: MU-Net models, losses, Keras metrics, tf.data pipeline, ``munet-train`` (datasets: munet.data).

Submodules import TensorFlow/Keras only where they need it, so ``import munet.train`` is cheap.
"""
