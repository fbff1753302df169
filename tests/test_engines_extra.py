"""Without the 'scale' extra, commands that need it exit 2 naming the install command."""

from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from ipowner.engines import extra
from ipowner.engines.extra import INSTALL


def test_missing_extra_is_a_usage_error_naming_the_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(extra.importlib.util, "find_spec",
                        lambda name, *a: None if name == "duckdb" else real(name, *a))
    assert not extra.scale_available()
    from ipowner.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["ranges", "export", "-o", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert not (tmp_path / "out").exists()


def test_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    monkeypatch.setattr(extra.importlib.util, "find_spec", lambda name, *a: None)
    from ipowner.cli import cli
    from ipowner.cli.commands import cli as registered

    assert registered is cli
    res = CliRunner().invoke(cli, ["ranges", "export", "-o", str(tmp_path / "out")], standalone_mode=False)
    assert isinstance(res.exception, extra.UsageError)
    assert "pip install 'ipowner[scale]'" in str(res.exception) and "duckdb and pyarrow" in str(res.exception)


def test_enrich_engine_choice_without_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from ipowner.cli import main
    from ipowner.engines import tables

    src = tmp_path / "flows.csv"
    src.write_text("dst,bytes\n10.1.2.3,5\n192.0.2.1,7\n", encoding="utf-8")
    monkeypatch.setattr(extra.importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
    with pytest.raises(SystemExit) as exc:
        main(["enrich", str(src), "-o", str(tmp_path / "out.csv"), "--engine", "duckdb", "--no-embedded"])
    assert exc.value.code == 2
    # auto, past the size: falls back to the Python engine with one line that names the install
    monkeypatch.setattr(tables, "AUTO_CSV_BYTES", 1)
    assert tables.choose("auto", src, "csv").engine == "python"
    assert INSTALL in (tables.choose("auto", src, "csv").note or "")
    with pytest.raises(SystemExit) as exc:
        main(["enrich", str(src), "-o", str(tmp_path / "out.csv"), "--no-embedded"])
    assert exc.value.code == 0
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("10.1.2.3,5,private,iana-special,")
    assert lines[2].startswith("192.0.2.1,7,documentation,iana-special,")


def test_auto_picks_duckdb_past_the_size(tmp_path) -> None:
    pytest.importorskip("duckdb")
    from ipowner.engines import tables

    small = tmp_path / "small.csv"
    small.write_text("dst\n8.8.8.8\n", encoding="utf-8")
    assert tables.choose("auto", small, "csv").engine == "python"
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as f:
        f.write("dst\n")
        f.write("8.8.8.8\n" * (tables.AUTO_CSV_BYTES // 8 + 1))
    assert tables.choose("auto", big, "csv") == tables.Choice("duckdb")
