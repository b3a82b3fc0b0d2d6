"""Check the layering contracts of ``[tool.importlinter]`` in pyproject.toml with import-linter (``make lint``).

import-linter's graph builder (grimp) scans only the folder of the root package, but ``munet``'s subpackages live
in train/, convert/, edge/ and benchmarks/ (pyproject's package-dir), so ``lint-imports`` alone reports
"Module 'munet.edge' does not exist". This lays the package out as installed, as symlinks to the source files in a
temporary folder, and runs ``lint-imports`` with that folder first on PYTHONPATH. Exit status: lint-imports' own.

    python .ci/lint_imports.py          # from any folder; extra arguments go to lint-imports
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's dependency
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def stage(root: Path, repo: Path = REPO) -> Path:
    """``root/munet/...``: one folder per package of pyproject's package-dir, holding links to its ``*.py``."""
    mapping = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for package, folder in mapping.items():
        target = root.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted((repo / folder).glob("*.py")):
            (target / source.name).symlink_to(source)
    return root


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="munet-lint-imports-") as tmp:
        root = stage(Path(tmp))
        # Run in the staged folder: with REPO as the working directory, `python -c` would import REPO/munet first.
        paths = [str(root), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
        args = [sys.executable, "-c", code, str(REPO / "pyproject.toml"), *argv]
        return subprocess.run(args, cwd=root, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
