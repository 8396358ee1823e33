"""The house's layering: config is a leaf, the data a job runs on is chosen in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import toolkit
from toolkit import datasets
from toolkit.errors import InputError

TOOLKIT = Path(toolkit.__file__).resolve().parent


def _toolkit_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("toolkit")):
            found.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''}")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.startswith("toolkit")]
    return found


def test_config_imports_nothing_from_the_toolkit():
    assert _toolkit_imports(TOOLKIT / "config.py") == []


def test_resolve_data_path_given_file_missing_file_and_several_exports(tmp_path, monkeypatch):
    given = tmp_path / "export.csv"
    given.write_text("a;b\n", encoding="utf-8")
    assert datasets.resolve_data_path(given) == given
    with pytest.raises(InputError, match="introuvable"):
        datasets.resolve_data_path(tmp_path / "absent.csv")
    monkeypatch.setattr(datasets, "raw_exports", lambda: [tmp_path / "a.csv", tmp_path / "b.csv"])
    with pytest.raises(InputError, match="a.csv, b.csv"):
        datasets.resolve_data_path()
    monkeypatch.setattr(datasets, "raw_exports", lambda: [given])
    assert datasets.resolve_data_path() == given
    monkeypatch.setattr(datasets, "raw_exports", lambda: [])
    monkeypatch.setattr(datasets, "default_export_path", lambda: tmp_path / "synthetic.csv")
    assert datasets.resolve_data_path() == tmp_path / "synthetic.csv"
