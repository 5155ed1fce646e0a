"""The command line, driven through Typer's CliRunner: exit codes, streams and values."""

from __future__ import annotations

import json

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
    data = json.loads(result.stdout)
    assert [p["name"] for p in data] == ["naive", "keras", "keras-jax", "keras-torch", "keras-numpy",
                                         "tf-keras", "torch", "sklearn", "optax"]
    keras = data[1]
    assert keras["dtype"] == "float32" and keras["eps"] == 1e-7
    assert keras["paths"]["categorical"] == ["cast", "smooth", "normalise", "clip", "log", "combine",
                                             "reduce"]


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
