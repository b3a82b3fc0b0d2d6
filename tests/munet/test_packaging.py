"""pyproject extras: a GPU install that really gets CUDA TensorFlow, and a Keras bound past the safe_mode fixes."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")
from packaging.requirements import Requirement  # noqa: E402
from packaging.version import Version  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXTRAS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
LINUX_X86 = {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"}
LINUX_ARM = {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"}


def _resolved(extra: str, env: dict[str, str]) -> dict[str, Requirement]:
    reqs = [Requirement(r) for r in EXTRAS[extra]]
    return {r.name: r for r in reqs if r.marker is None or r.marker.evaluate(env)}


def test_gpu_extra_installs_cuda_tensorflow_on_linux_x86() -> None:
    gpu = _resolved("gpu", LINUX_X86)
    assert "tensorflow-cpu" not in gpu and gpu["tensorflow"].extras == {"and-cuda"}
    assert "tensorflow" in _resolved("gpu", LINUX_ARM) and not _resolved("gpu", LINUX_ARM)["tensorflow"].extras
    train = _resolved("train", LINUX_X86)
    assert set(train) - {"tensorflow-cpu"} == set(gpu) - {"tensorflow"}  # the same stack otherwise
    readme = (REPO / "README.md").read_text()
    assert 'pip install -e ".[gpu,edge,dev]"' in readme and 'pip install "munet[gpu]"' in readme


@pytest.mark.parametrize("extra", ["train", "gpu"])
def test_keras_lower_bound_excludes_safe_mode_bypasses(extra: str) -> None:
    keras = _resolved(extra, LINUX_X86)["keras"]
    assert not keras.specifier.contains(Version("3.11.2")) and keras.specifier.contains(Version("3.11.3"))
