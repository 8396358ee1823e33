"""The e2c command line: thin, French by default, no tracebacks on user errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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


def test_synth_then_clean_end_to_end(capsys, tmp_path):
    assert main(["synth", "--out", str(tmp_path), "--per-year", "300", "--seed", "5"]) == 0
    written = capsys.readouterr().out.split(": ", 1)[1].strip()
    out_parquet = tmp_path / "kept.parquet"
    assert main(["clean", "--quiet", "--data", written, "--out", str(out_parquet)]) == 0
    out = capsys.readouterr().out
    import json

    import pandas as pd

    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    kept = pd.read_parquet(out_parquet)
    received = sum(1 for _ in open(written, encoding="cp1252")) - 1
    assert f"Lignes reçues : {received}" in out
    assert f"Lignes conservées : {len(kept)}" in out
    assert "nom" in out  # the dropped identifier columns are named...
    assert not kept.columns.str.contains("nom|email|prenom").any()  # ...and never kept
    assert truth["seed"] == 5


@pytest.mark.slow
def test_reports_for_one_region_and_a_clear_error_for_an_unknown_one(capsys, tmp_path):
    from toolkit.synth import write_export

    export = write_export(tmp_path / "data", seed=9, trainees_per_year=1500)
    out = tmp_path / "reports"
    assert (
        main(
            [
                "reports",
                "--quiet",
                "--data",
                str(export),
                "--out",
                str(out),
                "--regions",
                "Bretagne",
                "--jobs",
                "1",
                "--period",
                "2024",
            ]
        )
        == 0
    )
    assert "1 rapport écrit" in capsys.readouterr().out
    assert (out / "2024" / "bretagne.html").is_file() and (out / "2024" / "index.html").is_file()
    manifest = json.loads((out / "2024" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok"

    assert main(["reports", "--quiet", "--data", str(export), "--out", str(out), "--regions", "Atlantide"]) == 2
    err = capsys.readouterr().err
    assert "Atlantide" in err and "Traceback" not in err


def test_help_is_in_one_language_with_examples():
    french = subprocess.run([sys.executable, "-m", "toolkit.cli", "reports", "--help"], capture_output=True, text=True)
    english = subprocess.run(
        [sys.executable, "-m", "toolkit.cli", "reports", "--help", "--lang", "en"], capture_output=True, text=True
    )
    assert french.returncode == english.returncode == 0
    assert french.stdout.startswith("utilisation : ") and "Exemples :" in french.stdout
    assert "positional arguments" not in french.stdout and "show this help" not in french.stdout
    mapping = subprocess.run([sys.executable, "-m", "toolkit.cli", "map", "--help"], capture_output=True, text=True)
    assert "positional arguments" not in mapping.stdout and "\narguments:" in mapping.stdout
    assert english.stdout.startswith("usage: ") and "Examples:" in english.stdout
    for french_word in ("défaut", "dossier", "rapports", "Exemples"):
        assert french_word not in english.stdout


def test_argparse_errors_follow_the_language():
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "clean", "--jobs"], capture_output=True, text=True)
    assert proc.returncode == 2 and "arguments non reconnus" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit.cli", "--lang", "en", "clean", "--jobs"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "unrecognized arguments" in proc.stderr


def test_a_closed_pipe_is_no_traceback():
    """``e2c definitions | head -c 10``: the reader leaves early; no BrokenPipe traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit.cli", "definitions"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.read(10)
    proc.stdout.close()  # the reader goes away
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err
    assert proc.returncode == 0


def test_english_errors_come_from_the_toolkit_in_english(capsys, tmp_path):
    assert main(["clean", "--lang", "en", "--data", str(tmp_path / "absent.csv")]) == 2
    err = capsys.readouterr().err
    assert "introuvable" not in err and "absent.csv" in err
