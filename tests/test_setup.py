"""The README's two commands are the Makefile's, and the repo layout is as promised."""

from __future__ import annotations

import re
import subprocess

from toolkit.config import ROOT


def _readme_make_commands() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^make (\w+)", section, flags=re.M))


def test_readme_two_commands_are_make_reports_and_make_test():
    assert _readme_make_commands() == {"reports", "test"}


def test_makefile_provides_them_with_help():
    proc = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0
    listed = set(re.findall(r"make (\w+)", proc.stdout))
    assert {"reports", "test", "lab"} <= listed


def test_make_dry_run_builds_venv_before_running():
    for target, command in (("reports", "e2c reports"), ("test", "pytest")):
        proc = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert "-m venv" in out and "pip install" in out and command in out
        assert out.index("pip install") < out.index(command)


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_layout():
    for path in (
        "toolkit",
        "notebooks",
        "templates",
        "data/raw",
        "reports",
        "tests",
        "benchmarks",
        "environment.yml",
        "pyproject.toml",
        "Makefile",
        "README.md",
    ):
        assert (ROOT / path).exists(), path


def test_private_things_are_ignored():
    probes = [
        "data/raw/export_2024.csv",
        "data/processed/x.parquet",
        "reports/2024/bretagne.html",
        "data/synthetic/e2c.csv",
        ".venv/bin/python",
        "secret.key",
    ]
    proc = subprocess.run(["git", "check-ignore", *probes], cwd=ROOT, capture_output=True, text=True)
    assert sorted(proc.stdout.split()) == sorted(probes)
