"""Decoder variants (munet.train.models.decoder): shapes, choices, and a clean full-int8 graph on XNNPACK ops."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from munet.errors import ModelError  # noqa: E402
from munet.train.models import build_model  # noqa: E402
from munet.train.models.decoder import HEADS, UPSAMPLE  # noqa: E402

TINY = dict(alpha=0.35, input_shape=(64, 64, 3), encoder_weights=None)
EDGE = dict(decoder_upsample="nearest", decoder_conv="separable", decoder_filters=(16, 16, 8, 8))


@pytest.mark.parametrize("upsample", UPSAMPLE)
@pytest.mark.parametrize("head", HEADS)
def test_every_variant_builds_a_sigmoid_mask_of_the_input_size(upsample: str, head: str) -> None:
    conv = "none" if upsample == "transpose" else "plain"
    model = build_model(
        "munet", **TINY, decoder_upsample=upsample, decoder_conv=conv, decoder_filters=(8, 8, 8, 8), decoder_head=head
    )
    y = model.predict(np.zeros((1, 64, 64, 3), np.float32), verbose=0)
    assert y.shape == (1, 64, 64, 1)
    assert 0.0 <= y.min() <= y.max() <= 1.0


def test_paper_decoder_is_the_default_and_keeps_its_layer_names() -> None:
    model = build_model("munet", **TINY)
    names = {layer.name for layer in model.layers}
    assert {"up1_deconv", "up1_bn", "up1_relu", "up4_concat", "mask_deconv", "mask"} <= names
    assert model.count_params() == 2_911_121  # FIELD-NOTES Sec. 2, alpha 0.35


def test_slim_decoder_has_a_fraction_of_the_papers_parameters() -> None:
    paper = build_model("munet", **TINY).count_params()
    slim = build_model("munet", **TINY, **EDGE, decoder_head="conv_upsample").count_params()
    encoder_only = build_model("munet", **TINY).get_layer("encoder").count_params()
    assert slim < encoder_only + 0.05 * (paper - encoder_only)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(decoder_upsample="pixelshuffle"), "decoder_upsample"),
        (dict(decoder_conv="deformable"), "decoder_conv"),
        (dict(decoder_head="fancy"), "decoder_head"),
        (dict(decoder_filters=(8, 8, 8)), "4 positive widths"),
        (dict(decoder_upsample="nearest", decoder_conv="none"), "needs a conv"),
    ],
)
def test_bad_decoder_choices_are_one_line_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ModelError, match=match):
        build_model("munet", **TINY, **kwargs)


@pytest.mark.parametrize("head", ["upsample_conv", "conv_upsample"])
def test_edge_decoder_converts_to_full_int8_with_folded_batchnorm_and_resize_ops(tmp_path, head: str) -> None:
    """Nearest x2 must become RESIZE_NEAREST_NEIGHBOR (not Keras' RESHAPE + TILE repeat), and BatchNorm must be folded:
    a Resizing layer once made Keras' SavedModel export trace BN in training mode (MEAN, ASSIGN_VARIABLE)."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from munet.convert.export import convert_model, serving_function

    model = build_model("munet", **TINY, **EDGE, decoder_head=head)
    rng = np.random.default_rng(0)

    def representative():
        for _ in range(4):
            yield [rng.uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)]

    interpreter = litert.Interpreter(model_content=convert_model(serving_function(model), "int8", representative))
    ops = Counter(d["op_name"] for d in interpreter._get_ops_details())
    allowed = {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "CONCATENATION", "RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"}
    assert set(ops) <= allowed | {"LOGISTIC"}, ops
    assert ops["RESIZE_NEAREST_NEIGHBOR"] == (5 if head == "upsample_conv" else 4)
    assert ops["RESIZE_BILINEAR"] == (1 if head == "conv_upsample" else 0)
