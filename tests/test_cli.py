"""The e2c command line: thin, French by default, no tracebacks on user errors."""

from __future__ import annotations

import subprocess
import sys

from toolkit.cli import main


def test_missing_file_is_one_clear_message(capsys, tmp_path):
    missing = tmp_path / "absent.csv"
    assert main(["clean", "--data", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "absent.csv" in err and "introuvable" in err and "Traceback" not in err


def test_english_messages(capsys, tmp_path):
    assert main(["clean", "--lang", "en", "--data", str(tmp_path / "absent.csv")]) == 2
    assert capsys.readouterr().err.startswith("Error: ")


def test_definitions_lists_every_preset(capsys):
    assert main(["definitions"]) == 0
    out = capsys.readouterr().out
    for name in ("projet (défaut)", "reseau_2017", "reseau_2023"):
        assert name in out


def test_console_script_is_installed():
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("e2c ")
