"""munet.convert: Keras -> TFLite (float32 / float16 / dynamic / full int8) with an accuracy gate."""
