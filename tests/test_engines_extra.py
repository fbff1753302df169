"""Without the 'scale' extra, commands that need it exit 2 naming the install command."""

from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from ipowner.engines import extra


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
