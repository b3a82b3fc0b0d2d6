"""Atomic file writes for the edge runtime: the core's :mod:`munet.atomic` (TF-free), under its old name.

The writers moved to the core so that :mod:`munet.data` (fold files) can use them without importing
``munet.edge``. Import them from :mod:`munet.atomic` in new code.
"""

from munet.atomic import WriteError, atomic_path, make_dirs, write_bytes_atomic, write_error, write_text_atomic

__all__ = ["WriteError", "atomic_path", "make_dirs", "write_bytes_atomic", "write_error", "write_text_atomic"]
