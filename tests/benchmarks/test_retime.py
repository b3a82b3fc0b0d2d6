"""Re-timing models: the configured architecture, untrained, converted to the same graph as the trained run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import TINY_ALPHA, TINY_SIZE

pytest.importorskip("tensorflow")


def _graph(path: Path) -> tuple[Counter, list]:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path))
    ops = Counter(op["op_name"] for op in interp._get_ops_details())
    io = [(d["shape"].tolist(), d["dtype"]) for d in (*interp.get_input_details(), *interp.get_output_details())]
    return ops, io


def test_untrained_architecture_converts_to_the_trained_models_graph(tiny_tflites, blob_data, tmp_path) -> None:
    from munet.benchmarks.retime import architecture_models

    overrides = {"arch": "munet", "alpha": TINY_ALPHA, "size": list(TINY_SIZE), "encoder_weights": "none"}
    paths = architecture_models(overrides, blob_data, tmp_path / "arch", modes=("float32", "int8"), calib_count=8)
    assert sorted(paths) == ["float32", "int8"] and (tmp_path / "arch" / "best.keras").is_file()
    for mode in ("float32", "int8"):
        assert paths[mode] == tmp_path / "arch" / f"munet_{mode}.tflite"
        assert _graph(paths[mode]) == _graph(tiny_tflites[mode]), mode  # same ops, same I/O: same work per frame
    other = architecture_models({**overrides, "decoder_upsample": "nearest", "decoder_conv": "separable"},
                                blob_data, tmp_path / "edge", modes=("int8",), calib_count=8)  # fmt: skip
    assert _graph(other["int8"])[0] != _graph(paths["int8"])[0]  # the config's decoder is what gets built
