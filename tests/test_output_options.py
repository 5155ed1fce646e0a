"""Output options from issue 16: -o FILE picks the format from its extension, --base bits/nats,
FORCE_COLOR, grad --check's verdict in a pipe, sklearn's --reduction mean, one warning once."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from xentropy_cli.cli import app

SEED = "samples/keras_question.csv"


def run(*args, env=None):
    return CliRunner().invoke(app, list(args), env=env)


@pytest.mark.parametrize("name,check", [
    ("out.json", lambda text: json.loads(text)["value"] == 0.09458991187728844),
    ("out.csv", lambda text: text.splitlines()[0] == "sample,loss" and len(text.splitlines()) == 4),
    ("out.txt", lambda text: text == "0.09458991187728844\n"),
])
def test_output_extension_chooses_the_format(tmp_path, name, check):
    target = tmp_path / name
    result = run("compute", SEED, "-o", str(target), "-q")
    assert result.exit_code == 0, result.output
    assert check(target.read_text())


def test_format_given_beats_the_extension(tmp_path):
    target = tmp_path / "out.json"
    assert run("compute", SEED, "-o", str(target), "--format", "plain", "-q").exit_code == 0
    assert target.read_text() == "0.09458991187728844\n"


def test_compare_and_explain_follow_the_extension_too(tmp_path):
    assert run("compare", SEED, "-o", str(tmp_path / "c.csv"), "-q").exit_code == 0
    assert (tmp_path / "c.csv").read_text().startswith("profile,status,value,")
    assert run("explain", SEED, "-o", str(tmp_path / "e.json"), "-q").exit_code == 0
    assert json.loads((tmp_path / "e.json").read_text())["command"] == "explain"


def test_base_bits_and_nats():
    nats = float(run("compute", SEED, "-q", "--base", "nats").stdout)
    bits = float(run("compute", SEED, "-q", "--base", "bits").stdout)
    assert nats == 0.09458991187728844 == float(run("compute", SEED, "-q").stdout)
    assert bits == float(run("compute", SEED, "-q", "--base", "2").stdout)
    assert bits == pytest.approx(nats / math.log(2), rel=1e-15)
    bad = run("compute", SEED, "--base", "bytes")
    assert bad.exit_code == 2 and "bits" in bad.output


def test_force_color_colours_a_table_off_a_terminal_and_no_color_wins():
    plain = run("compute", SEED, "-q", "--format", "table", env={"FORCE_COLOR": None, "NO_COLOR": None})
    forced = run("compute", SEED, "-q", "--format", "table", env={"FORCE_COLOR": "1", "NO_COLOR": None})
    both = run("compute", SEED, "-q", "--format", "table", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in plain.stdout and "\x1b[" in forced.stdout and "\x1b[" not in both.stdout


def test_grad_check_in_a_pipe_prints_its_verdict_on_stderr():
    result = CliRunner().invoke(app, ["grad", "--example", "tiny", "--check"])
    assert result.exit_code == 0
    # stdout: the gradient alone (one sample, two columns); stderr: pass and the largest error
    assert len(result.stdout.split()) == 2
    assert "gradient check passed: largest relative error" in result.stderr
    quiet = CliRunner().invoke(app, ["grad", "--example", "tiny", "--check", "-q"])
    assert quiet.stderr == ""


def test_sklearn_reduction_mean_says_what_to_write():
    result = run("compute", SEED, "--profile", "sklearn", "--reduction", "mean")
    assert result.exit_code == 2
    assert "normalize=True" in result.output and "--reduction mean_with_sample_weight" in result.output
    # and what it says to write gives log_loss's default: the mean, 0.09458991187728844 here
    good = run("compute", SEED, "--profile", "sklearn", "--reduction", "mean_with_sample_weight", "-q")
    assert float(good.stdout) == 0.09458991187728844


def test_a_warning_is_printed_once():
    result = run("compute", SEED, "--keras-compat", "--format", "table", "--color", "never")
    text = result.stdout + result.stderr
    assert text.count("does not sum to 1") == 1
    assert "does not sum to 1" in result.stderr


def test_wording_counts_samples():
    one = run("compute", "-t", "[[1,0]]", "-p", "[[0,1]]", "--format", "json")
    many = run("compute", "-t", "[[1,0],[1,0]]", "-p", "[[0,1],[0,1]]", "--format", "json")
    assert "infinite in 1 sample:" in json.loads(one.stdout)["warnings"][0]["message"]
    assert "infinite in 2 samples:" in json.loads(many.stdout)["warnings"][0]["message"]
    table = run("explain", "--example", "tiny", "--format", "table", "--color", "never", "-q")
    assert "1 sample, 2 classes" in table.stdout and "(s)" not in table.stdout
    assert table.stdout.count("categorical cross-entropy") == 1


def test_rows_must_be_positive():
    result = run("explain", SEED, "--rows", "-1")
    assert result.exit_code == 2 and "--rows -1" in result.output


@pytest.mark.parametrize("columns", ["abc", "0", "-5", ""])
def test_invalid_columns_fall_back_to_80(columns):
    result = run("explain", SEED, "--format", "table", "--color", "never", "-q", env={"COLUMNS": columns})
    assert result.exit_code == 0 and result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) == 80  # the panel spans the width
