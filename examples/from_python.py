# %% [markdown]
# # xent from Python
#
# Run it as a script (`python examples/from_python.py`) or cell by cell (`# %%`) in VS Code,
# Jupyter (jupytext) or Spyder. Its printed output is checked by tests/test_api.py against
# examples/from_python.out, so every number below is what this version computes. The numbers
# printed come from emulated framework kernels, so they are the same on every machine.

# %%
import numpy as np
from rich.console import Console

import xentropy_cli as xent
from xentropy_cli.testing import assert_matches

console = Console(width=80, color_system=None, highlight=False)  # in a notebook: just show the object

# The question that started xent: Keras says 0.3240 where numpy said 0.0946.
y_true = np.eye(3)
y_pred = np.array([[.9, .05, .05], [.5, .89, .6], [.05, .01, .94]])

# %% The value, as Keras computes it
result = xent.compute(y_true, y_pred, "keras")
print("keras:", result.value, result.dtype, result.reduction)
print("stages:", " → ".join(result.stages))
print("normalise:", result.stages["normalise"].note)
for warning in result.warnings:
    print("warning:", warning.code, "rows", warning.rows)
print("per sample:", xent.compute(y_true, y_pred, "keras", reduction="none").per_sample)

# %% The same dict as `xent compute --format json`
data = result.to_dict()
print({key: data[key] for key in ("schema", "profile", "models", "value")})

# %% The dtype of an array or tensor is kept: tf.keras computes in it
tiny_true, tiny_pred = [[0.0, 1.0]], [[0.99999999999, 1e-11]]
print("tf-keras, float64:", xent.compute(tiny_true, tiny_pred, "tf-keras").value)
print("tf-keras, float32:", xent.compute(np.float32(tiny_true), np.float32(tiny_pred), "tf-keras").value)

# %% Where two frameworks part ways: Keras clips 1e-11 up to 1e-7, torch takes its log
e = xent.explain(tiny_true, tiny_pred, "keras", against="torch")
print("first divergence:", e.first_divergence)
console.print(e)

# %% Several profiles at once
c = xent.compare(y_true, y_pred, ["keras", "keras-jax", "tf-keras", "torch"])
for name, row in c.items():
    where = f"differs from naive at {row.first_difference}" if row.first_difference else "agrees with naive"
    print(f"{name:10} {row.value!r:22} {where}")

# %% The gradient w.r.t. the logits, checked by finite differences
g = xent.grad([[0, 0, 1], [1, 0, 0]], [[1, 2, 3], [0, 0, 0]], from_logits=True, check=True)
print(g.gradient.round(6))
print("check passed:", g.passed)

# %% Errors are ValueErrors with the command's one line
try:
    xent.compute(tiny_true, [[0.2, 0.3, 0.5]])
except ValueError as error:
    print(type(error).__name__ + ":", error)


# %% Checking a port of Keras's loss without TensorFlow
def my_keras_port(y_true, y_pred):
    p = y_pred / y_pred.sum(axis=-1, keepdims=True)
    p = np.clip(p, np.float32(1e-7), np.float32(1) - np.float32(1e-7))
    return -np.sum(y_true * np.log(p), axis=-1).mean()


def without_clip(y_true, y_pred):
    p = y_pred / y_pred.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(y_true * np.log(p), axis=-1).mean()


assert_matches(my_keras_port, profile="keras-numpy")  # the same log and sums: bit for bit
print("my_keras_port matches keras-numpy bit for bit on 200 cases")
assert_matches(my_keras_port, profile="keras", rtol=1e-6)
print("and keras (TensorFlow) within rtol=1e-6")
for port, profile in ((my_keras_port, "keras"), (without_clip, "keras-numpy")):
    try:
        assert_matches(port, profile=profile)
    except AssertionError as failure:
        line = next(s for s in str(failure).splitlines() if s.startswith("They part ways"))
        print(f"{port.__name__} against {profile}: {line.split(':')[0]}")
