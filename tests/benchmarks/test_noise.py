"""munet.benchmarks.noise: the noise models themselves and the benchmark on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from munet.benchmarks.noise import add_noise, evaluate_noise
from munet.errors import InputError


def test_noise_models_have_the_requested_strength() -> None:
    img = np.full((200, 200, 3), 128, np.uint8)
    g = add_noise(img, "gaussian", 20.0, np.random.default_rng(0)).astype(np.float32) - 128
    assert abs(g.mean()) < 0.5 and g.std() == pytest.approx(20.0, rel=0.05)
    s = add_noise(img, "speckle", 0.1, np.random.default_rng(0)).astype(np.float32) / 128 - 1
    assert s.std() == pytest.approx(0.1, rel=0.05)
    sp = add_noise(img, "salt-and-pepper", 0.1, np.random.default_rng(0))
    changed = (sp != 128).any(axis=-1)
    assert changed.mean() == pytest.approx(0.1, abs=0.01)
    assert set(np.unique(sp[changed])) == {0, 255}
    assert np.array_equal(add_noise(img, "gaussian", 0.0, np.random.default_rng(0)), img)
    a = add_noise(img, "gaussian", 5.0, np.random.default_rng(1))
    assert np.array_equal(a, add_noise(img, "gaussian", 5.0, np.random.default_rng(1)))
    with pytest.raises(InputError):
        add_noise(img, "poisson", 1.0, np.random.default_rng(0))


def test_noise_benchmark(tiny_tflites: dict[str, Path], tiny_pairs: Path, tmp_path: Path) -> None:
    levels = {"gaussian": (2.0, 150.0), "salt-and-pepper": (0.002, 0.5)}
    res = evaluate_noise([tiny_tflites["int8"]], tiny_pairs, out=tmp_path, levels=levels, threads=1)
    m = res["models"]["tiny_int8"]
    for kind in levels:
        low, high = m["noise"][kind]
        assert [low["strength"], high["strength"]] == list(levels[kind])
        # heavy noise moves the masks further from the clean-image masks than light noise does
        assert high["agreement_with_clean"] <= low["agreement_with_clean"]
        assert high["agreement_with_clean"] < 1.0
    again = evaluate_noise([tiny_tflites["int8"]], tiny_pairs, levels=levels, threads=1)
    assert again["models"]["tiny_int8"]["noise"] == m["noise"]  # seeded: identical reruns
    assert json.loads((tmp_path / "noise.json").read_text())["images"] == 4
    assert (tmp_path / "noise.png").stat().st_size > 1000
    assert "salt-and-pepper" in (tmp_path / "noise.md").read_text()
