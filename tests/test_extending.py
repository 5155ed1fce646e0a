"""The README's "Architecture" promises: a new profile is one value in core/profiles.PROFILES, and
every command, the shell choices and the Python API take it from there (nothing else lists them);
a new engine is its module and one line in engines.ENGINES, which the CLI's --engine reads."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
from types import MappingProxyType

import pytest
from typer.testing import CliRunner

import xentropy_cli as xent
from xentropy_cli import engines
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


def _in_memory_engine(calls: list) -> types.ModuleType:
    """An engine that runs each command in this process: the four functions an engine has."""
    from xentropy_cli.core import compare as compare_core
    from xentropy_cli.core import explain as explain_core
    from xentropy_cli.core import pipeline

    def request(spec, scheduler, workers):
        calls.append(("request", scheduler, workers))
        return spec

    def compute(spec, profile, options, out):
        calls.append(("compute", profile.name))
        result = pipeline.run(spec.read(), profile, options)
        out.warn(result.notices)
        out.emit_compute(result, reader="in-memory")

    def explain(spec, profile, other, options, rows, out, classes=None):
        calls.append(("explain", profile.name, other.name))
        inputs = spec.read()
        p, q = pipeline.run(inputs, profile, options), pipeline.run(inputs, other, options)
        out.emit_explain(inputs, p, q, explain_core.diverge(p, q, inputs.y_true, inputs.y_pred), rows,
                         classes=classes)

    def compare(spec, chosen, options, out):
        calls.append(("compare", tuple(p.name for p in chosen)))
        out.emit_compare(compare_core.compare(spec.read(), list(chosen), options))

    module = types.ModuleType("xent_test_engine")
    module.__dict__.update(request=request, compute=compute, explain=explain, compare=compare)
    return module


def test_an_engine_added_to_ENGINES_is_an_engine_choice_and_runs_every_command(monkeypatch):
    calls: list = []
    monkeypatch.setitem(sys.modules, "xent_test_engine", _in_memory_engine(calls))
    monkeypatch.setitem(engines.ENGINES, "here", "xent_test_engine")
    for command in (["compute", "--keras-compat"], ["explain"], ["compare", "--all"]):
        args = [*command, "samples/keras_question.csv", "--format", "json", "-q"]
        local = json.loads(run(*args))
        via = json.loads(run(*args, "--engine", "here", "--workers", "3"))
        assert via == local
    assert calls == [("request", None, 3), ("compute", "keras"), ("request", None, 3),
                     ("explain", "keras", "naive"), ("request", None, 3),
                     ("compare", tuple(profiles.PROFILES))]
    result = CliRunner().invoke(app, ["compute", "samples/keras_question.csv", "--engine", "there"])
    assert result.exit_code == 2 and "choose one of local, dask, here" in result.stderr
