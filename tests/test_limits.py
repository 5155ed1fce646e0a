"""How much each command reads whole: its share of io.source.MAX_CELLS (COMMAND_SHARE), since
explain keeps every stage of two profiles and grad a backward pass too; a limit set in the
environment holds for every command."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from xentropy_cli.cli import app
from xentropy_cli.io import source


@pytest.fixture
def npz_of_110_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "MAX_CELLS", 200)  # compare 200, compute 170, explain 160, grad 100
    monkeypatch.delenv(source.CELLS_ENV, raising=False)
    path = tmp_path / "ten.npz"
    np.savez(path, y_true=np.arange(10) % 10, y_pred=np.full((10, 10), 0.1, np.float32))
    return path


def test_each_command_reads_up_to_its_share(npz_of_110_numbers):
    done = CliRunner().invoke(app, ["compute", str(npz_of_110_numbers)])
    assert done.exit_code == 0, done.output
    assert float(done.stdout) == pytest.approx(np.log(10.0), rel=1e-6)  # −log 0.1 on every row
    for command in ("explain", "compare"):
        assert CliRunner().invoke(app, [command, str(npz_of_110_numbers)]).exit_code == 0, command
    refused = CliRunner().invoke(app, ["grad", str(npz_of_110_numbers)])
    assert refused.exit_code == 1, refused.output
    assert "holds 110 numbers, beyond the 100 that xent holds in memory" in refused.stderr


def test_a_limit_from_the_environment_holds_for_every_command(npz_of_110_numbers, monkeypatch):
    monkeypatch.setenv(source.CELLS_ENV, "100")
    for command in ("compute", "explain", "compare", "grad"):
        refused = CliRunner().invoke(app, [command, str(npz_of_110_numbers)])
        assert refused.exit_code == 1, command
        assert "beyond the 100 that xent" in refused.stderr


def test_the_share_ends_with_the_read(monkeypatch):
    monkeypatch.delenv(source.CELLS_ENV, raising=False)
    with source.held_by("grad"):
        assert source.max_cells() == int(source.MAX_CELLS * source.COMMAND_SHARE["grad"])
    assert source.max_cells() == source.MAX_CELLS


@pytest.mark.parametrize("value", ["inf", "nan", "-5", "0", "lots", ""])
def test_a_limit_that_is_not_a_finite_positive_number_leaves_the_default(value, monkeypatch, tmp_path):
    """XENT_MAX_INPUT_MB=inf stopped every file read with "cannot be read (OverflowError …)"."""
    for name in (source.LIMIT_ENV, source.SPOOL_ENV, source.CELLS_ENV, "XENT_MAX_LINE_BYTES"):
        monkeypatch.setenv(name, value)
    assert source.max_line() == source.MAX_LINE_BYTES  # 0 refused every line ("longer than 0 MiB")
    assert source.max_bytes(binary=False) == source.MAX_TEXT_BYTES
    assert source.max_bytes(binary=True) == source.MAX_BINARY_BYTES
    assert source.max_spool() == source.MAX_SPOOL_BYTES
    assert source.max_cells() == source.MAX_CELLS
    path = tmp_path / "two.csv"
    path.write_text("y_true_0,y_true_1,y_pred_0,y_pred_1\n0,1,0.5,0.5\n")
    done = CliRunner().invoke(app, ["compute", str(path)])
    assert done.exit_code == 0, done.output
    assert float(done.stdout) == pytest.approx(np.log(2.0))  # −log 0.5


def test_a_limit_in_megabytes_may_be_fractional(monkeypatch):
    monkeypatch.setenv(source.LIMIT_ENV, "1.5")
    assert source.max_bytes(binary=False) == 3 << 19
