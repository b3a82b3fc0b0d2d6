"""munet.edge: the TensorFlow-free half of MU-Net Edge.

Image I/O, the one preprocessing function shared by training, calibration and inference,
NumPy metrics, the .tflite metadata reader and the LiteRT / tflite-runtime segmenter.
Nothing in this package imports TensorFlow or Keras.
"""
