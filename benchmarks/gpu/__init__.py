"""The comparison on a lent GPU machine (Keras on JAX, no TensorFlow): pack the data, train, bring the rows back.

``pack`` writes a dataset's pairs at one size into one ``.npz``; ``train_compare`` trains the registry's
architectures on it and scores them like ``munet-bench compare``; ``run.sh`` is the command for the machine.
"""
