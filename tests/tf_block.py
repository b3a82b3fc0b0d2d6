"""Python source that hides TensorFlow and Keras from a subprocess, as an install without the ``train`` extra would.

Prepend it to a ``python -c`` script: ``import tensorflow`` / ``import keras`` then raise ModuleNotFoundError.
``tests/munet/test_errors.py::test_the_block_is_real`` checks that it does.
"""

NO_TENSORFLOW = """
import sys

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoTensorFlow())
"""
