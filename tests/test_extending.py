"""The README's "Architecture" promises: a new profile is one value in core/profiles.PROFILES, and
every command, the shell choices and the Python API take it from there (nothing else lists them)."""

from __future__ import annotations

import dataclasses
import json
from types import MappingProxyType

import pytest
from typer.testing import CliRunner

import xentropy_cli as xent
from xentropy_cli.cli import app
from xentropy_cli.core import profiles

T, P = "[[0,1],[1,0]]", "[[0.2,0.8],[0.999999999,1e-9]]"


@pytest.fixture
def one_more_profile(monkeypatch):
    """Keras's profile again under another name and framework, added in that one place only."""
    extra = dataclasses.replace(profiles.KERAS, name="keras-copy", framework="Keras 3, a copy")
    monkeypatch.setattr(profiles, "PROFILES", MappingProxyType({**profiles.PROFILES, extra.name: extra}))
    return extra


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_a_profile_added_to_PROFILES_is_in_every_command_and_the_api(one_more_profile):
    keras = float(run("compute", "-t", T, "-p", P, "--profile", "keras", "-q"))
    assert float(run("compute", "-t", T, "-p", P, "--profile", "keras-copy", "-q")) == keras
    listed = json.loads(run("profiles", "--format", "json"))["profiles"]
    assert "keras-copy" in [p["name"] for p in listed]
    rows = json.loads(run("compare", "-t", T, "-p", P, "--all", "--format", "json", "-q"))["rows"]
    assert {row["profile"]: row["value"] for row in rows}["keras-copy"] == keras
    explained = json.loads(run("explain", "-t", T, "-p", P, "--profile", "keras-copy", "--against",
                               "keras", "--format", "json", "-q"))
    assert explained["divergence"]["stage"] is None
    account = explained["divergence"]["account"]
    assert account.startswith("Keras 3, a copy and Keras 3, TensorFlow backend agree")
    assert xent.compute(json.loads(T), json.loads(P), "keras-copy").value == keras
    assert "keras-copy" in xent.profiles()


def test_without_it_the_name_is_refused():
    result = CliRunner().invoke(app, ["compute", "-t", T, "-p", P, "--profile", "keras-copy"])
    assert result.exit_code == 2 and "unknown profile 'keras-copy'" in result.stderr
