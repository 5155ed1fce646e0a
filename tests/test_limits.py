"""How much xent reads whole: compute holds fewer arrays per number than explain, compare and grad,
so it reads more (io.source.lighter); a limit set in the environment holds for every command."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from xentropy_cli.cli import app
from xentropy_cli.io import source


@pytest.fixture
def npz_of_110_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(source, "MAX_CELLS", 100)  # compute: 175 numbers; the others: 100
    monkeypatch.delenv(source.CELLS_ENV, raising=False)
    path = tmp_path / "ten.npz"
    y_pred = np.full((10, 10), 0.1, np.float32)
    np.savez(path, y_true=np.arange(10) % 10, y_pred=y_pred)
    return path


def test_compute_reads_what_explain_and_compare_refuse(npz_of_110_numbers):
    done = CliRunner().invoke(app, ["compute", str(npz_of_110_numbers)])
    assert done.exit_code == 0, done.output
    assert float(done.stdout) == pytest.approx(np.log(10.0), rel=1e-6)  # −log 0.1 on every row
    for command in ("explain", "compare", "grad"):
        refused = CliRunner().invoke(app, [command, str(npz_of_110_numbers)])
        assert refused.exit_code == 1, (command, refused.output)
        assert "holds 110 numbers, beyond the 100 that xent holds in memory" in refused.stderr


def test_a_limit_from_the_environment_holds_for_compute_too(npz_of_110_numbers, monkeypatch):
    monkeypatch.setenv(source.CELLS_ENV, "100")
    refused = CliRunner().invoke(app, ["compute", str(npz_of_110_numbers)])
    assert refused.exit_code == 1
    assert "beyond the 100 that xent" in refused.stderr


def test_the_scale_ends_with_the_read():
    with source.lighter(2.0):
        assert source.max_cells() == 2 * source.MAX_CELLS
    assert source.max_cells() == source.MAX_CELLS
