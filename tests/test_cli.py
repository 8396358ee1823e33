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
    assert "1 rapport(s) écrit(s)" in capsys.readouterr().out
    assert (out / "2024" / "bretagne.html").is_file() and (out / "2024" / "index.html").is_file()
    manifest = json.loads((out / "2024" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok"

    assert main(["reports", "--quiet", "--data", str(export), "--out", str(out), "--regions", "Atlantide"]) == 2
    err = capsys.readouterr().err
    assert "Atlantide" in err and "Traceback" not in err
