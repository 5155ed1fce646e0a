"""The command line, driven through Typer's CliRunner: exit codes, streams and values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from xentropy_cli import __version__
from xentropy_cli.cli import app

SEED_T = "[[1,0,0],[0,1,0],[0,0,1]]"
SEED_P = "[[.9,.05,.05],[.5,.89,.6],[.05,.01,.94]]"


@pytest.fixture
def runner():
    return CliRunner()


def run(runner, *args, input=None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def test_version(runner):
    result = run(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout == f"xent {__version__}\n"


def test_every_command_help_shows_examples(runner):
    for command in ("compute", "explain", "compare", "profiles"):
        result = run(runner, command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout
        assert "xent " + command in result.stdout


def test_explain_example_in_a_pipe_is_plain_tables(runner):
    result = run(runner, "explain", "--example", "keras-question")
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout  # no colour in a pipe
    assert "0.32396814227104187" in result.stdout or "0.3239681124687195" in result.stdout
    assert "0.09458991187728844" in result.stdout
    assert "normalise" in result.stdout


def test_explain_list_examples(runner):
    result = run(runner, "explain", "--list-examples")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("keras-question\t")


def test_profiles_json_lists_every_profile(runner):
    result = run(runner, "profiles", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)["profiles"]
    assert [p["name"] for p in data] == ["naive", "keras", "keras-jax", "keras-torch", "keras-numpy",
                                         "tf-keras", "torch", "sklearn", "optax"]
    keras = data[1]
    assert keras["dtype"] == "float32" and keras["eps"] == 1e-7
    assert keras["paths"]["categorical"] == ["cast", "smooth", "normalise", "clip", "log", "combine",
                                             "reduce"]


def test_profiles_csv_is_one_row_per_profile(runner):
    import csv
    import io

    result = run(runner, "profiles", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["name"] for r in rows][:2] == ["naive", "keras"] and len(rows) == 9
    assert rows[0]["eps"] == "" and rows[1]["eps"] == "1e-07" and rows[1]["dtype"] == "float32"
    assert rows[1]["kernel"] == "tensorflow"


def test_unknown_profile_is_a_usage_error_with_the_choices(runner):
    result = run(runner, "explain", "--example", "tiny", "--profile", "kears")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("xent: error: unknown profile 'kears'; choose one of naive, keras")
    assert "Traceback" not in result.stderr


def test_unknown_format_is_a_usage_error(runner):
    result = run(runner, "profiles", "--format", "yaml")
    assert result.exit_code == 2
    assert "unknown --format 'yaml'" in result.stderr


# --- compute: every option -------------------------------------------------------------------

def value(result) -> float:
    assert result.exit_code == 0, result.stderr
    return float(result.stdout)


def test_compute_naive_and_keras_compat_on_the_seed_sample(runner):
    assert value(run(runner, "compute", "samples/keras_question.csv")) == 0.09458991187728844
    assert value(run(runner, "compute", "--keras-compat", "samples/keras_question.csv")) == \
        0.3239681124687195
    assert value(run(runner, "compute", "--profile", "tf-keras", "samples/keras_question.csv")) == \
        0.32396812478942216


def test_compute_json_carries_the_keras_number_and_the_warning(runner):
    result = run(runner, "compute", "--keras-compat", "samples/keras_question.csv", "--format", "json")
    data = json.loads(result.stdout)
    assert data["value"] == 0.3239681124687195
    assert data["profile"] == "keras" and data["dtype"] == "float32"
    assert data["warnings"][0]["code"] == "not_normalised" and data["warnings"][0]["rows"] == [2]
    assert "xent: warning:" in result.stderr  # warnings on stderr too, never in stdout


def test_compute_stdin_json_tiny_case(runner):
    result = run(runner, "compute", "-", "--keras-compat", "--format", "plain",
                 input='{"y_true":[[0,1]],"y_pred":[[0.99999999999,1e-11]]}')
    assert value(result) == 16.11809539794922


def test_reduction_none_plain_and_csv(runner):
    args = ("compute", "-t", SEED_T, "-p", SEED_P, "--reduction", "none")
    plain = run(runner, *args, "--format", "plain")
    # −ln 0.9, −ln 0.89, −ln 0.94
    assert [float(x) for x in plain.stdout.split()] == pytest.approx(
        [0.10536051565782628, 0.11653381625595151, 0.06187540371808753], rel=1e-15)
    csv_out = run(runner, *args, "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "sample,loss" and csv_out[2].startswith("2,0.1165338162559515")


def test_label_smoothing(runner):
    # y = [1, 0], ε = 0.2 → ỹ = [0.9, 0.1]; p = [0.8, 0.2]: −(0.9 ln 0.8 + 0.1 ln 0.2)
    expected = -(0.9 * np.log(0.8) + 0.1 * np.log(0.2))
    result = run(runner, "compute", "-t", "[[1,0]]", "-p", "[[0.8,0.2]]", "--label-smoothing", "0.2")
    assert value(result) == pytest.approx(expected, rel=1e-15)


def test_from_logits_and_loss_sparse(runner):
    # logits [2, 1, 0], label 0: −log softmax = log(e² + e + 1) − 2
    expected = np.log(np.exp(2) + np.exp(1) + 1) - 2
    result = run(runner, "compute", "-t", "[0]", "-p", "[[2,1,0]]", "--from-logits", "--loss", "sparse")
    assert value(result) == pytest.approx(expected, rel=1e-15)


def test_dtype_float32_changes_the_naive_number(runner):
    result = run(runner, "compute", "-t", "[[0,1]]", "-p", "[[0.3,0.7]]", "--dtype", "float32")
    assert value(result) == float(-np.log(np.float32(0.7)))


def test_normalise_switch_turns_naive_into_keras_arithmetic(runner):
    # naive + normalise on the seed: row 2 becomes 0.89/1.99 → mean of −ln .9, −ln(.89/1.99), −ln .94
    expected = (-np.log(0.9) - np.log(0.89 / 1.99) - np.log(0.94)) / 3
    for flag in ("--normalise", "--normalize"):
        result = run(runner, "compute", "-t", SEED_T, "-p", SEED_P, flag)
        assert value(result) == pytest.approx(expected, rel=1e-15)
    without = run(runner, "compute", "-t", SEED_T, "-p", SEED_P, "--keras-compat", "--no-normalise")
    assert value(without) == pytest.approx(0.09458991187728844, rel=1e-6)


def test_clip_and_no_clip(runner):
    tiny = ("compute", "-t", "[[0,1]]", "-p", "[[0.99999999999,1e-11]]")
    assert value(run(runner, *tiny, "--clip", "1e-7")) == pytest.approx(-np.log(1e-7), rel=1e-15)
    # tf-keras without its clip is the float64 textbook value −ln 1e-11 (after normalising, sum = 1)
    assert value(run(runner, *tiny, "--profile", "tf-keras", "--no-clip")) == \
        pytest.approx(-np.log(1e-11), rel=1e-12)


def test_base_2_gives_bits(runner):
    result = run(runner, "compute", "-t", "[[1,0]]", "-p", "[[0.25,0.75]]", "--base", "2")
    assert value(result) == pytest.approx(2.0, rel=1e-15)


def test_sample_weight_inline_and_reductions(runner):
    # losses −ln .9, −ln .89, −ln .94 with w = 1, 2, 0.5
    losses = -np.log([0.9, 0.89, 0.94])
    w = np.array([1, 2, 0.5])
    base = ("compute", "-t", SEED_T, "-p", "[[.9,.05,.05],[.05,.89,.06],[.05,.01,.94]]", "-w", "[1,2,0.5]")
    assert value(run(runner, *base)) == pytest.approx((w * losses).sum() / 3, rel=1e-15)
    assert value(run(runner, *base, "--reduction", "sum")) == pytest.approx((w * losses).sum(), rel=1e-15)
    assert value(run(runner, *base, "--reduction", "mean_with_sample_weight")) == \
        pytest.approx((w * losses).sum() / w.sum(), rel=1e-15)


def test_class_weight_under_torch_divides_by_the_targets_weights(runner):
    # labels [0, 1], weights [1, 3]: (1·−ln .9 + 3·−ln .8) / (1 + 3), float32
    result = run(runner, "compute", "-t", "[0,1]", "-p", "[[.9,.1],[.2,.8]]", "--loss", "sparse",
                 "--profile", "torch", "--class-weight", "1,3")
    expected = (-np.log(0.9) - 3 * np.log(0.8)) / 4
    assert value(result) == pytest.approx(expected, rel=1e-6)


def test_strict_turns_the_warning_into_exit_1(runner):
    result = run(runner, "compute", "samples/keras_question.csv", "--strict")
    assert result.exit_code == 1
    assert "--strict" in result.stderr


def test_compare_strict_exits_1_when_any_compared_profile_warned(runner):
    # keras_question.csv row 2 sums to 1.99: every profile that computes it warns
    for args in (("samples/keras_question.csv",), ("-",)):  # in memory, and stdin (streamed)
        stdin = open("samples/keras_question.csv").read() if args == ("-",) else None
        result = run(runner, "compare", *args, "--strict", "--format", "json", input=stdin)
        assert result.exit_code == 1, result.stderr
        assert result.stdout == ""
        assert "--strict" in result.stderr and "warning" in result.stderr
        relaxed = run(runner, "compare", *args, "--format", "json", input=stdin)
        assert relaxed.exit_code == 0
        assert any(row["warnings"] for row in json.loads(relaxed.stdout)["rows"])


def test_compare_strict_passes_when_no_profile_warned(runner):
    # one-hot targets, rows summing to 1 in [0, 1]: nothing to warn about
    result = run(runner, "compare", "-t", "[[0,1],[1,0]]", "-p", "[[0.3,0.7],[0.6,0.4]]",
                 "--profiles", "naive,keras,torch", "--strict", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert not any(row["warnings"] for row in json.loads(result.stdout)["rows"])


def test_quiet_silences_warnings(runner):
    result = run(runner, "compute", "samples/keras_question.csv", "-q")
    assert result.stderr == ""
    assert float(result.stdout) == 0.09458991187728844


def test_output_file_is_written_whole(runner, tmp_path):
    target = tmp_path / "out.json"
    result = run(runner, "compute", "samples/keras_question.csv", "-q", "--format", "json",
                 "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["value"] == 0.09458991187728844
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_output_file_is_not_created_on_error(runner, tmp_path):
    target = tmp_path / "out.json"
    # logits read as probabilities: numpy computes nan (a warning); --strict makes it exit 1
    result = run(runner, "compute", "samples/logits.csv", "--strict", "--output", str(target))
    assert result.exit_code == 1
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_color_always_and_never(runner, monkeypatch):
    args = ("compute", "samples/keras_question.csv", "-q", "--format", "table")
    assert "\x1b[" in run(runner, *args, "--color", "always").stdout
    assert "\x1b[" not in run(runner, *args, "--color", "never").stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run(runner, *args).stdout


def test_table_panel_names_framework_and_stages(runner):
    result = run(runner, "compute", "samples/keras_question.csv", "--keras-compat", "-q",
                 "--format", "table", "--color", "never")
    assert "0.3239681124687195" in result.stdout
    assert "keras 3.15.1, tensorflow 2.21.0" in result.stdout
    assert "normalise → clip → log" in result.stdout


def test_refused_combination_names_the_alternative(runner):
    result = run(runner, "compute", "samples/keras_question.csv", "--profile", "optax")
    assert result.exit_code == 2
    assert "optax losses take logits" in result.stderr and "Traceback" not in result.stderr


def test_compare_rows_and_refusal(runner):
    result = run(runner, "compare", "samples/keras_question.csv", "--all", "-q", "--format", "json")
    rows = {row["profile"]: row for row in json.loads(result.stdout)["rows"]}
    assert rows["naive"]["value"] == 0.09458991187728844
    assert rows["keras"]["value"] == 0.3239681124687195
    assert rows["keras"]["first_difference"] == "normalise"
    assert rows["sklearn"]["first_difference"] is None
    assert rows["optax"]["status"] == "refused" and rows["optax"]["value"] is None
    assert "optax losses take logits" in rows["optax"]["refusal"]
    # the largest per-sample gap is row 2: ln 1.99 (up to float32 rounding)
    assert rows["tf-keras"]["max_gap"] == pytest.approx(np.log(1.99), rel=1e-7)
