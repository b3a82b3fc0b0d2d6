"""The config-key table (docs/config.md, linked from the README) is generated from TrainConfig and matches it; every
key has a meaning."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from munet.errors import InputError
from munet.train import config_doc
from munet.train.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / config_doc.DOC


def test_the_doc_table_matches_the_config_and_the_readme_links_it() -> None:
    assert config_doc.update_doc(DOC, check=True) is False, (
        f"{config_doc.DOC} config-key table is stale: run python -m munet.train.config_doc"
    )
    assert f"]({config_doc.DOC})" in (REPO / "README.md").read_text()  # the README links the reference


def test_every_key_is_in_the_table_with_its_default() -> None:
    table = config_doc.config_keys_markdown()
    for f in dataclasses.fields(TrainConfig):
        assert f"| `{f.name}` |" in table or f.name == "augment", f.name
    assert "| `augment.rotation_deg` | `20` |" in table
    assert "| `alpha` | `1.4` (synthetic demo: `0.35`) |" in table and "| `lr` | `0.001` |" in table


def test_a_key_without_meaning_fails_and_check_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delitem(config_doc.KEY_HELP, "lr_factor")
    with pytest.raises(InputError, match="'lr_factor' has no meaning"):
        config_doc.config_keys_markdown()
    monkeypatch.undo()
    doc = tmp_path / "config.md"
    stale = f"intro\n{config_doc.START}\nold\n{config_doc.END}\nafter\n"
    doc.write_text(stale)
    assert config_doc.update_doc(doc, check=True) is True and doc.read_text() == stale
    assert config_doc.update_doc(doc) is True and config_doc.update_doc(doc) is False
    assert doc.read_text().startswith(f"intro\n{config_doc.START}\n| key |") and "\nold\n" not in doc.read_text()
    (tmp_path / "none.md").write_text("no markers\n")
    with pytest.raises(InputError, match="markers"):
        config_doc.update_doc(tmp_path / "none.md")
