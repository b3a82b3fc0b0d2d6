"""The README's config-key table is generated from TrainConfig and matches it; every key has a meaning."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from munet.errors import InputError
from munet.train import config_doc
from munet.train.config import TrainConfig

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_matches_the_config() -> None:
    assert config_doc.update_readme(README, check=True) is False, (
        "README config-key table is stale: run python -m munet.train.config_doc README.md"
    )


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
    readme = tmp_path / "README.md"
    stale = f"intro\n{config_doc.START}\nold\n{config_doc.END}\nafter\n"
    readme.write_text(stale)
    assert config_doc.update_readme(readme, check=True) is True and readme.read_text() == stale
    assert config_doc.update_readme(readme) is True and config_doc.update_readme(readme) is False
    assert readme.read_text().startswith(f"intro\n{config_doc.START}\n| key |") and "\nold\n" not in readme.read_text()
