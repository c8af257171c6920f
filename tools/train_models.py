#!/usr/bin/env python3
"""Train and export garnet's bundled models (issue 6).

Deterministic (fixed seeds, single-threaded BLAS): rerunning regenerates the
same files under models/digits/, models/breast_cancer/ and
models/digits_binarized/.

    python3 -m pip install -r tools/requirements.txt
    python3 tools/train_models.py            # all models
    python3 tools/train_models.py digits     # one of: digits breast_cancer digits_binarized

Everything is plain numpy (no PyTorch): the data sets ship inside
scikit-learn, nothing is downloaded.  Weights are written as safetensors with
PyTorch state_dict names and shapes (fc1.weight is [out, in]).

Besides the float model, each model is run through a numpy simulation of the
fixed-point circuit garnet compiles (fixed(16, 8)); see `fixed_forward`.
"""

import os

# Single-threaded BLAS before numpy is imported: reductions then happen in one
# fixed order, so the trained weights are the same bytes on every run.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"

# fixed(16, 8): 16-bit two's complement, 8 fraction bits.
TOTAL_BITS = 16
FRAC_BITS = 8
QMIN = -(1 << (TOTAL_BITS - 1))      # -32768  (-128.0)
QMAX = (1 << (TOTAL_BITS - 1)) - 1   #  32767  (127.99609375)


# --------------------------------------------------------------------------
# Fixed-point simulation (what the garbled circuit computes)
# --------------------------------------------------------------------------

def quantize(values, frac_bits=FRAC_BITS):
    """Round x·2^frac to nearest, ties away from zero; saturate to 16 bits.

    Returns (int64 array, number of values that saturated).  The float32
    values are widened to float64 first: x·256 is then exact, so the rounding
    is exact too.
    """
    scaled = np.asarray(values, dtype=np.float32).astype(np.float64) * (1 << frac_bits)
    if not np.all(np.isfinite(scaled)):
        raise ValueError("non-finite value")
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    saturated = int(np.count_nonzero((rounded < QMIN) | (rounded > QMAX)))
    return np.clip(rounded, QMIN, QMAX).astype(np.int64), saturated


def saturate(q):
    return np.clip(q, QMIN, QMAX)


def fixed_dense(xq, wq, bq):
    """dense in fixed(16, 8).

    xq [N, in], wq [out, in], bq [out]: integers with 8 fraction bits.
    acc = Σ_j w_ij·x_j  (exact, 16 fraction bits)  +  (b_i << 8)
    out = saturate16(acc >> 8)   (arithmetic shift: floor division by 256)
    """
    acc = xq @ wq.T + (bq << FRAC_BITS)[None, :]
    return saturate(acc >> FRAC_BITS)


def fixed_forward(weights, inputs):
    """The fixed-point MLP: dense, relu, dense, argmax (first maximum).

    Returns (predictions, info) where info counts saturations and records the
    largest magnitudes seen.
    """
    info = {"saturated_weights": 0, "saturated_inputs": 0, "saturated_activations": 0}
    q = {}
    for name in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"):
        q[name], sat = quantize(weights[name])
        info["saturated_weights"] += sat
    xq, sat = quantize(inputs.reshape(len(inputs), -1))
    info["saturated_inputs"] = sat

    acc1 = xq @ q["fc1.weight"].T + (q["fc1.bias"] << FRAC_BITS)[None, :]
    h = saturate(acc1 >> FRAC_BITS)
    info["saturated_activations"] += int(np.count_nonzero(h != (acc1 >> FRAC_BITS)))
    h = np.maximum(h, 0)
    acc2 = h @ q["fc2.weight"].T + (q["fc2.bias"] << FRAC_BITS)[None, :]
    out = saturate(acc2 >> FRAC_BITS)
    info["saturated_activations"] += int(np.count_nonzero(out != (acc2 >> FRAC_BITS)))
    info["max_abs_activation_q"] = int(max(np.abs(acc1 >> FRAC_BITS).max(),
                                           np.abs(acc2 >> FRAC_BITS).max()))
    return np.argmax(out, axis=1).astype(np.int64), info


# --------------------------------------------------------------------------
# Float MLP training (numpy, Adam, softmax cross-entropy, L2)
# --------------------------------------------------------------------------

def float_forward(w, x):
    z1 = x @ w["fc1.weight"].T + w["fc1.bias"]
    h = np.maximum(z1, 0.0)
    z2 = h @ w["fc2.weight"].T + w["fc2.bias"]
    return z1, h, z2


def softmax_xent_grad(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y] + 1e-300).mean()
    p[np.arange(n), y] -= 1.0
    return loss, p / n


class Adam:
    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, betas[0], betas[1], eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params, grads, lr=None):
        lr = self.lr if lr is None else lr
        self.t += 1
        for k in sorted(params):
            g = grads[k]
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            mhat = self.m[k] / (1 - self.b1 ** self.t)
            vhat = self.v[k] / (1 - self.b2 ** self.t)
            params[k] -= lr * mhat / (np.sqrt(vhat) + self.eps)


def init_mlp(rng, n_in, n_hidden, n_out):
    # PyTorch nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    def layer(fan_in, fan_out):
        bound = 1.0 / np.sqrt(fan_in)
        return (rng.uniform(-bound, bound, size=(fan_out, fan_in)),
                rng.uniform(-bound, bound, size=(fan_out,)))
    w1, b1 = layer(n_in, n_hidden)
    w2, b2 = layer(n_hidden, n_out)
    return {"fc1.weight": w1, "fc1.bias": b1, "fc2.weight": w2, "fc2.bias": b2}


def train_mlp(x, y, n_hidden, n_out, *, seed, epochs, batch, lr, l2):
    """Mini-batch Adam on softmax cross-entropy + (l2/2)·Σw² (weights only)."""
    rng = np.random.default_rng(seed)
    w = init_mlp(rng, x.shape[1], n_hidden, n_out)
    opt = Adam(w, lr)
    n = len(x)
    for epoch in range(epochs):
        lr_now = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))  # cosine decay
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x[idx], y[idx]
            z1, h, z2 = float_forward(w, xb)
            _, dz2 = softmax_xent_grad(z2, yb)
            g = {"fc2.weight": dz2.T @ h + l2 * w["fc2.weight"],
                 "fc2.bias": dz2.sum(axis=0)}
            dz1 = (dz2 @ w["fc2.weight"]) * (z1 > 0)
            g["fc1.weight"] = dz1.T @ xb + l2 * w["fc1.weight"]
            g["fc1.bias"] = dz1.sum(axis=0)
            opt.step(w, g, lr_now)
    return {k: v.astype(np.float32) for k, v in w.items()}


# --------------------------------------------------------------------------
# Export helpers
# --------------------------------------------------------------------------

def write_json(path, obj):
    path.write_text(json.dumps(obj, indent=None, separators=(",", ":")) + "\n")


def write_pretty_json(path, obj):
    path.write_text(json.dumps(obj, indent=2) + "\n")


def floats(a):
    """float32 array → nested lists of Python floats (shortest repr that
    round-trips to the same float32 via f64)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64).tolist()


def save_weights(path, tensors):
    for name, t in tensors.items():
        assert t.dtype == np.float32, name
        assert np.all(np.isfinite(t)), name
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path),
              metadata={"format": "pt"})


def write_test_files(out, x_test, y_test, sample_shape, n_samples=5):
    """test_inputs.npy, test_labels.npy, test.json and inputs/sample_*."""
    np.save(out / "test_inputs.npy", x_test.astype(np.float32))
    np.save(out / "test_labels.npy", y_test.astype(np.int64))
    flat = x_test.reshape(len(x_test), -1)
    write_json(out / "test.json", {"inputs": floats(flat), "labels": y_test.astype(int).tolist()})
    inputs = out / "inputs"
    inputs.mkdir(exist_ok=True)
    for i in range(n_samples):
        write_json(inputs / f"sample_{i}.json", floats(x_test[i].reshape(sample_shape)))
    np.save(inputs / "sample_0.npy", x_test[0].reshape(sample_shape).astype(np.float32))
    (inputs / "sample_1.csv").write_text(
        ",".join(repr(v) for v in floats(x_test[1].reshape(-1))) + "\n")
    return [int(v) for v in y_test[:n_samples]]


def accuracy(pred, y):
    return float(np.mean(pred == y))


def pct(a):
    return f"{100 * a:.2f}%"


def fixed_report(out, weights, x_train, x_test, y_test):
    """Float vs fixed accuracy, magnitudes, saturations; writes
    test_fixed_predictions.npy.  Returns a metrics dict."""
    x_test_flat = x_test.reshape(len(x_test), -1).astype(np.float32)
    x_train_flat = x_train.reshape(len(x_train), -1).astype(np.float32)
    w64 = {k: v.astype(np.float64) for k, v in weights.items()}
    _, _, logits = float_forward(w64, x_test_flat.astype(np.float64))
    float_pred = np.argmax(logits, axis=1)
    fixed_pred, info = fixed_forward(weights, x_test_flat)
    np.save(out / "test_fixed_predictions.npy", fixed_pred.astype(np.int64))

    z1, h, z2 = float_forward(w64, x_train_flat.astype(np.float64))
    max_act_train = float(max(np.abs(z1).max(), np.abs(z2).max()))
    _, train_info = fixed_forward(weights, x_train_flat)
    max_w = float(max(np.abs(v).max() for v in weights.values()))
    float_acc = accuracy(float_pred, y_test)
    fixed_acc = accuracy(fixed_pred, y_test)
    metrics = {
        "float_accuracy": round(float_acc, 6),
        "fixed_accuracy": round(fixed_acc, 6),
        "n_test": int(len(y_test)),
        "float_fixed_agreement": round(float(np.mean(float_pred == fixed_pred)), 6),
        "max_abs_weight": round(max_w, 6),
        "max_abs_activation": round(max_act_train, 6),
        "max_abs_activation_scope": "float pre-activations (fc1 and fc2 outputs) over the training split",
        "max_abs_input_test": round(float(np.abs(x_test_flat).max()), 6),
        "saturated_values": int(info["saturated_weights"] + info["saturated_inputs"]
                                + info["saturated_activations"]
                                + train_info["saturated_activations"]),
        "saturated_weights": int(info["saturated_weights"]),
        "saturated_test_inputs": int(info["saturated_inputs"]),
        "saturated_activations_test": int(info["saturated_activations"]),
        "saturated_activations_train": int(train_info["saturated_activations"]),
        "format": "fixed(16, 8)",
    }
    assert abs(float_acc - fixed_acc) <= 0.015, (float_acc, fixed_acc)
    assert max_act_train < 64, max_act_train
    return metrics


FIXED_SIM_TEXT = """\
## Fixed-point simulation

Until garnet's compiler runs this network, `tools/train_models.py` simulates the
fixed-point circuit in numpy (`fixed_forward`), with every value in
fixed(16, 8) (16-bit two's complement, 8 fraction bits, range −128 … 127.996):

1. Quantize weights, biases and inputs: `q = round(x · 256)`, round to nearest
   with ties away from zero, then saturate to [−32768, 32767].
2. `dense`: `acc_i = Σ_j w_ij · x_j + (b_i << 8)` computed exactly (16 fraction
   bits), then `y_i = saturate16(acc_i >> 8)` — arithmetic shift right, i.e.
   floor division by 256.
3. `relu`: `max(y, 0)`.
4. `argmax`: index of the first maximum.

Its predicted class for every test sample is in `test_fixed_predictions.npy`
(int64, same order as `test_labels.npy`), so the Rust tests can check the
garbled circuit and the reference interpreter against it without Python.
"""


# --------------------------------------------------------------------------
# 1. digits: 64 → 16 → 10
# --------------------------------------------------------------------------

SEED = 20261122


def digits_split():
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)           # [1797, 8, 8] in [0, 1]
    y = data.target.astype(np.int64)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=360, stratify=y, random_state=SEED)
    return data, x, y, np.sort(tr), np.sort(te)


def build_digits():
    out = MODELS / "digits"
    out.mkdir(parents=True, exist_ok=True)
    _, x, y, tr, te = digits_split()
    x_train = x[tr].reshape(len(tr), 64).astype(np.float64)
    weights = train_mlp(x_train, y[tr], 16, 10, seed=SEED, epochs=300, batch=64,
                        lr=0.01, l2=1e-3)
    save_weights(out / "digits.safetensors", weights)
    x_test = x[te][:, None, :, :]                           # [N, 1, 8, 8]
    sample_labels = write_test_files(out, x_test, y[te], (1, 8, 8))
    metrics = fixed_report(out, weights, x[tr], x_test, y[te])
    metrics["n_train"] = int(len(tr))
    metrics["sample_labels"] = sample_labels
    write_pretty_json(out / "metrics.json", metrics)
    readme = f"""\
# digits — 64 → 16 → 10 MLP on scikit-learn's 8×8 handwritten digits

Generated by `tools/train_models.py` (see `tools/README.md`); do not edit by hand.

## Data

`sklearn.datasets.load_digits()` (bundled with scikit-learn, no download):
1797 grayscale 8×8 images of the digits 0–9, pixel values 0–16.
Stratified split with `train_test_split(test_size=360, stratify=y,
random_state={SEED})`: {len(tr)} training and {len(te)} held-out test samples
(indices sorted in dataset order).

## Preprocessing (done by the client)

Each pixel is divided by 16, so inputs are in [0, 1] (every value k/16 is exact
in fixed(16, 8)). The input tensor is the image, shape `[1, 8, 8]`
(row-major; flattening gives index `8·row + col`).

## Network

```
image: [1, 8, 8] fixed(16, 8)
x   = flatten(image)        # [64]
fc1 = dense(x, 16)          # fc1.weight [16, 64], fc1.bias [16]
h   = relu(fc1)
fc2 = dense(h, 10)          # fc2.weight [10, 16], fc2.bias [10]
label = argmax(fc2)         # first maximum
```

`digits.safetensors` holds float32 tensors with PyTorch `state_dict` names and
shapes (`weight` is `[out, in]`, `y = x · Wᵀ + b`), metadata `format: pt`.
Trained in numpy: Adam (lr 0.01, cosine decay), batch 64, 300 epochs,
softmax cross-entropy, L2 1e-3 on the weights.

## Results on the {len(te)} test samples

| model | accuracy |
| --- | --- |
| float32 | {pct(metrics['float_accuracy'])} |
| fixed(16, 8) simulation | {pct(metrics['fixed_accuracy'])} |

Float and fixed-point predictions agree on {pct(metrics['float_fixed_agreement'])} of the test samples.
Largest |weight or bias|: {metrics['max_abs_weight']:.4f}. Largest |pre-activation|
(fc1 and fc2 outputs, float, whole training split): {metrics['max_abs_activation']:.3f}
— far below the fixed(16, 8) limit of 128. Saturated values (weights, biases,
test inputs, train and test activations): {metrics['saturated_values']}.
AND gate count (private weights, `garnet stats models/digits/digits.gnet`): 340,475; per layer in `models/README.md`. The two-party runs agree with this fixed-point model on every test sample (`tests/models_two_party.rs`).

{FIXED_SIM_TEXT}
## Files

- `digits.safetensors` — the weights.
- `test_inputs.npy` — float32 `[{len(te)}, 1, 8, 8]`, preprocessed (pixel / 16).
- `test_labels.npy` — int64 `[{len(te)}]`.
- `test.json` — the same: `{{"inputs": [[64 floats], …], "labels": […]}}` (flattened row-major).
- `test_fixed_predictions.npy` — int64 `[{len(te)}]`, the fixed-point simulation's predictions.
- `inputs/sample_0.json` … `sample_4.json` — the first five test images, nested `[1, 8, 8]`
  arrays; labels {sample_labels}. `inputs/sample_0.npy` (float32 `[1, 8, 8]`) is test image 0;
  `inputs/sample_1.csv` is test image 1 as one row of 64 comma-separated floats.
- `metrics.json` — the numbers above.
"""
    (out / "README.md").write_text(readme)
    return metrics


# --------------------------------------------------------------------------
# 2. breast_cancer: 30 → 16 → 2
# --------------------------------------------------------------------------

def build_breast_cancer():
    out = MODELS / "breast_cancer"
    out.mkdir(parents=True, exist_ok=True)
    data = load_breast_cancer()
    x_raw, y = data.data.astype(np.float64), data.target.astype(np.int64)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.25, stratify=y, random_state=SEED)
    tr, te = np.sort(tr), np.sort(te)
    # Per-feature divisor: the training split's maximum (all features are
    # positive or zero; every training maximum is > 0).
    divisor = x_raw[tr].max(axis=0)
    assert np.all(divisor > 0)
    divisor32 = divisor.astype(np.float32)
    x = (x_raw.astype(np.float32) / divisor32).astype(np.float32)
    weights = train_mlp(x[tr].astype(np.float64), y[tr], 16, 2, seed=SEED, epochs=400,
                        batch=32, lr=0.01, l2=1e-3)
    save_weights(out / "breast_cancer.safetensors", weights)
    sample_labels = write_test_files(out, x[te], y[te], (30,))
    metrics = fixed_report(out, weights, x[tr], x[te], y[te])
    metrics["n_train"] = int(len(tr))
    metrics["sample_labels"] = sample_labels
    write_pretty_json(out / "metrics.json", metrics)
    pre = {"description": "client preprocessing: input[i] = float32(raw[i]) / float32(divisor[i]) (float32 division)",
           "features": [str(n) for n in data.feature_names],
           "divisor": floats(divisor32)}
    write_pretty_json(out / "preprocessing.json", pre)
    table = "\n".join(f"| {i} | {n} | {float(d):.9g} |"
                      for i, (n, d) in enumerate(zip(data.feature_names, divisor32)))
    readme = f"""\
# breast_cancer — 30 → 16 → 2 MLP for private diagnosis

Generated by `tools/train_models.py` (see `tools/README.md`); do not edit by hand.

The hospital scenario: a clinic holds the 30 measurements of a breast mass
(from a fine-needle aspirate image) and learns the diagnosis; the model owner's
weights stay private, and so do the clinic's measurements.

## Data

`sklearn.datasets.load_breast_cancer()` (Wisconsin diagnostic, bundled with
scikit-learn): 569 samples, 30 real-valued features, classes
**0 = malignant** (212), **1 = benign** (357). Stratified split with
`train_test_split(test_size=0.25, stratify=y, random_state={SEED})`:
{len(tr)} training and {len(te)} test samples (indices sorted in dataset order).

## Preprocessing (done by the client)

Raw features reach ~4250 (worst area), far beyond fixed(16, 8)'s range of
±128, and no standardization is folded into the weights. Instead the client
divides each raw feature by a fixed per-feature divisor — the maximum of that
feature over the training split — computed in float32:

    input[i] = float32(raw[i]) / float32(divisor[i])

Training inputs are in [0, 1]; test inputs may slightly exceed 1
(largest test input: {metrics['max_abs_input_test']:.4f}). The divisors, in feature order,
are also in `preprocessing.json`. All test and sample input files are already
preprocessed. The input tensor has shape `[30]`.

| i | feature | divisor |
| --- | --- | --- |
{table}

## Network

```
x: [30] fixed(16, 8)
fc1 = dense(x, 16)          # fc1.weight [16, 30], fc1.bias [16]
h   = relu(fc1)
fc2 = dense(h, 2)           # fc2.weight [2, 16], fc2.bias [2]
label = argmax(fc2)         # 0 = malignant, 1 = benign; first maximum
```

`breast_cancer.safetensors`: float32, PyTorch `state_dict` names and shapes
(`weight` is `[out, in]`), metadata `format: pt`. Trained in numpy: Adam
(lr 0.01, cosine decay), batch 32, 400 epochs, softmax cross-entropy,
L2 1e-3 on the weights.

## Results on the {len(te)} test samples

| model | accuracy |
| --- | --- |
| float32 | {pct(metrics['float_accuracy'])} |
| fixed(16, 8) simulation | {pct(metrics['fixed_accuracy'])} |

Float and fixed-point predictions agree on {pct(metrics['float_fixed_agreement'])} of the test samples.
Largest |weight or bias|: {metrics['max_abs_weight']:.4f}. Largest |pre-activation|
(float, training split): {metrics['max_abs_activation']:.3f}. Saturated values: {metrics['saturated_values']}.
AND gate count (private weights, `garnet stats models/breast_cancer/breast_cancer.gnet`): 147,316; per layer in `models/README.md`. The two-party runs agree with this fixed-point model on every test sample (`tests/models_two_party.rs`).

{FIXED_SIM_TEXT}
## Files

- `breast_cancer.safetensors` — the weights.
- `preprocessing.json` — feature names and divisors.
- `test_inputs.npy` — float32 `[{len(te)}, 30]`, preprocessed.
- `test_labels.npy` — int64 `[{len(te)}]`.
- `test.json` — `{{"inputs": [[30 floats], …], "labels": […]}}`.
- `test_fixed_predictions.npy` — int64, the fixed-point simulation's predictions.
- `inputs/sample_0.json` … `sample_4.json` — the first five test samples, arrays of shape `[30]`;
  labels {sample_labels}. `inputs/sample_0.npy` is test sample 0 (float32 `[30]`);
  `inputs/sample_1.csv` is test sample 1 as one row of 30 comma-separated floats.
- `metrics.json` — the numbers above.
"""
    (out / "README.md").write_text(readme)
    return metrics


# --------------------------------------------------------------------------
# 3. digits_binarized: XONN-style 64 → 64 → 10, ±1 weights
# --------------------------------------------------------------------------

def binarize_images(images):
    """pixel (0–16) >= 8 → +1, else −1; [N, 8, 8] → [N, 64] float32."""
    return np.where(images.reshape(len(images), 64) >= 8, 1.0, -1.0).astype(np.float32)


def sign_pm1(a):
    """+1 where a >= 0, else −1."""
    return np.where(a >= 0, 1.0, -1.0)


def binary_forward_int(w1, t1, w2, b2, x):
    """The exact integer forward pass the exported tensors define.

    x [N, 64] in {−1, +1}; w1 [64, 64], w2 [10, 64] in {−1, +1};
    t1 [64], b2 [10] integers.
      h_i   = +1 if Σ_j w1_ij·x_j >= t1_i else −1
      s_k   = Σ_j w2_kj·h_j + b2_k
      label = first argmax_k s_k
    """
    x, w1, w2 = (np.asarray(a).astype(np.int64) for a in (x, w1, w2))
    t1, b2 = np.asarray(t1).astype(np.int64), np.asarray(b2).astype(np.int64)
    a1 = x @ w1.T
    h = np.where(a1 >= t1[None, :], 1, -1)
    s = h @ w2.T + b2[None, :]
    return np.argmax(s, axis=1).astype(np.int64), a1, s


def train_binarized(x, y, *, seed, epochs, batch, lr, n_hidden=64, n_out=10):
    """Straight-through-estimator training of a ±1-weight MLP.

    Latent float weights W (clipped to [−1, 1]) are binarized with sign() in
    the forward pass; gradients pass straight through where |W| <= 1.  The
    hidden layer is a = x·sign(W1)ᵀ (integer), normalized by a batch-norm
    without scale (running mean μ and std σ, learned shift β), then
    h = sign((a − μ)/σ + β); the STE for this sign passes gradients where
    |(a − μ)/σ + β| <= 1.  The output is s = h·sign(W2)ᵀ + b, trained through
    softmax(s / √64).  All of it folds to an integer threshold and integer bias.
    """
    rng = np.random.default_rng(seed)
    n_in = x.shape[1]
    p = {"w1": rng.uniform(-1, 1, size=(n_hidden, n_in)),
         "beta": np.zeros(n_hidden),
         "w2": rng.uniform(-1, 1, size=(n_out, n_hidden)),
         "b2": np.zeros(n_out)}
    opt = Adam(p, lr)
    run_mu, run_var = np.zeros(n_hidden), np.full(n_hidden, float(n_in))
    momentum, eps, temp = 0.1, 1e-5, np.sqrt(n_hidden)
    n = len(x)
    for epoch in range(epochs):
        lr_now = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x[idx], y[idx]
            wb1, wb2 = sign_pm1(p["w1"]), sign_pm1(p["w2"])
            a = xb @ wb1.T
            mu, var = a.mean(axis=0), a.var(axis=0)
            run_mu = (1 - momentum) * run_mu + momentum * mu
            run_var = (1 - momentum) * run_var + momentum * var
            sd = np.sqrt(var + eps)
            ahat = (a - mu) / sd
            u = ahat + p["beta"]
            h = sign_pm1(u)
            s = h @ wb2.T + p["b2"]
            _, ds = softmax_xent_grad(s / temp, yb)
            ds /= temp
            g = {"w2": (ds.T @ h) * (np.abs(p["w2"]) <= 1), "b2": ds.sum(axis=0)}
            du = (ds @ wb2) * (np.abs(u) <= 1)
            g["beta"] = du.sum(axis=0)
            # batch-norm backward (no scale): d ahat = du
            m = len(xb)
            da = (du - du.mean(axis=0) - ahat * (du * ahat).mean(axis=0)) / sd
            g["w1"] = (da.T @ xb) * (np.abs(p["w1"]) <= 1)
            opt.step(p, g, lr_now)
            p["w1"] = np.clip(p["w1"], -1, 1)
            p["w2"] = np.clip(p["w2"], -1, 1)
    # Fold: h = +1  ⇔  (a − μ)/σ + β >= 0  ⇔  a >= μ − β·σ  ⇔  a >= ceil(μ − β·σ)
    # (a is an integer; σ > 0).
    sd = np.sqrt(run_var + eps)
    real_threshold = run_mu - p["beta"] * sd
    model_float = {"w1": sign_pm1(p["w1"]), "w2": sign_pm1(p["w2"]),
                   "t1_real": real_threshold, "b2_real": p["b2"].copy()}
    return model_float


def build_digits_binarized():
    out = MODELS / "digits_binarized"
    out.mkdir(parents=True, exist_ok=True)
    data, _, y, tr, te = digits_split()                      # same split as digits
    xb = binarize_images(data.images)
    mf = train_binarized(xb[tr].astype(np.float64), y[tr], seed=SEED, epochs=200,
                         batch=64, lr=0.01)
    # "float" model: real-valued threshold and output bias (before rounding).
    def float_pred(x):
        a = x.astype(np.float64) @ mf["w1"].T
        h = sign_pm1(a - mf["t1_real"][None, :])
        return np.argmax(h @ mf["w2"].T + mf["b2_real"][None, :], axis=1)
    t1 = np.ceil(mf["t1_real"])
    b2 = np.floor(mf["b2_real"] + 0.5)
    tensors = {"fc1.weight": mf["w1"].astype(np.float32),
               "fc1.threshold": t1.astype(np.float32),
               "fc2.weight": mf["w2"].astype(np.float32),
               "fc2.bias": b2.astype(np.float32)}
    for k, v in tensors.items():
        assert np.all(v == np.round(v)), k
    assert set(np.unique(tensors["fc1.weight"])) <= {-1.0, 1.0}
    assert set(np.unique(tensors["fc2.weight"])) <= {-1.0, 1.0}
    save_weights(out / "digits_binarized.safetensors", tensors)
    x_test = xb[te]
    sample_labels = write_test_files(out, x_test, y[te], (64,))
    pred, _, _ = binary_forward_int(tensors["fc1.weight"], tensors["fc1.threshold"],
                                    tensors["fc2.weight"], tensors["fc2.bias"], x_test)
    np.save(out / "test_fixed_predictions.npy", pred)
    _, a_tr, s_tr = binary_forward_int(tensors["fc1.weight"], tensors["fc1.threshold"],
                                       tensors["fc2.weight"], tensors["fc2.bias"], xb[tr])
    float_acc = accuracy(float_pred(x_test), y[te])
    int_acc = accuracy(pred, y[te])
    train_int_acc = accuracy(binary_forward_int(
        tensors["fc1.weight"], tensors["fc1.threshold"], tensors["fc2.weight"],
        tensors["fc2.bias"], xb[tr])[0], y[tr])
    metrics = {
        "float_accuracy": round(float_acc, 6),
        "float_accuracy_note": "real-valued folded threshold and output bias, before rounding to integers",
        "fixed_accuracy": round(int_acc, 6),
        "integer_accuracy": round(int_acc, 6),
        "train_integer_accuracy": round(train_int_acc, 6),
        "n_test": int(len(te)),
        "n_train": int(len(tr)),
        "max_abs_weight": 1.0,
        "max_abs_threshold": float(np.abs(t1).max()),
        "max_abs_output_bias": float(np.abs(b2).max()),
        "max_abs_activation": int(max(np.abs(a_tr).max(), np.abs(s_tr).max())),
        "max_abs_activation_scope": "integer pre-activations (fc1 sums, fc2 scores) over the training split",
        "saturated_values": 0,
        "sample_labels": sample_labels,
    }
    write_pretty_json(out / "metrics.json", metrics)
    readme = f"""\
# digits_binarized — XONN-style binarized MLP on 8×8 digits

Generated by `tools/train_models.py` (see `tools/README.md`); do not edit by hand.

A comparison point for `../digits`: the same data and the same train/test split
(`test_size=360, stratify=y, random_state={SEED}`), but binary inputs, ±1
weights and sign activations, so the garbled circuit is XNOR + popcount +
comparisons only (XNOR gates are free with free-XOR).

## Preprocessing (done by the client)

Each raw pixel (0–16, **not** divided by 16) is thresholded:
`x_j = +1 if pixel_j >= 8 else −1`, for the 64 pixels in row-major order
(`j = 8·row + col`). The input tensor has shape `[64]`, values ±1 (float32 in the
files). As bits: **bit 1 stands for +1, bit 0 for −1**.

## Exact semantics of the exported tensors

`digits_binarized.safetensors` (float32, every value an exact integer):

| tensor | shape | values |
| --- | --- | --- |
| `fc1.weight` | [64, 64] | ±1 |
| `fc1.threshold` | [64] | integers in [{int(t1.min())}, {int(t1.max())}] |
| `fc2.weight` | [10, 64] | ±1 |
| `fc2.bias` | [10] | integers in [{int(b2.min())}, {int(b2.max())}] |

```
x      ∈ {{−1, +1}}^64
a_i    = Σ_j fc1.weight[i, j] · x_j                  (integer, even, in [−64, 64])
h_i    = +1 if a_i >= fc1.threshold[i] else −1        (i = 0 … 63)
s_k    = Σ_j fc2.weight[k, j] · h_j + fc2.bias[k]     (integer)
label  = argmax_k s_k                                 (first maximum on ties)
```

In XNOR-popcount terms with bits (1 ↔ +1, 0 ↔ −1) and `n = 64` inputs:
`Σ_j w_ij·x_j = 2·popcount(XNOR(w_i, x)) − n`, so

- `h_i = 1  ⇔  popcount(XNOR(w_i, x)) >= ceil((fc1.threshold[i] + 64) / 2)`;
- equivalently, as a bias: `h_i = 1 ⇔ a_i + bias_i >= 0` with `bias_i = −fc1.threshold[i]`;
- `s_k = 2·popcount(XNOR(w_k, h)) − 64 + fc2.bias[k]`.

The threshold absorbs the hidden layer's bias and batch-norm (see "Training").
No fixed-point rounding happens anywhere: the forward pass is integer-exact.

## Network (as a `.gnet` would say it)

```
x: [64] binary
fc1 = bdense(x, 64)         # fc1.weight [64, 64] ±1, fc1.threshold [64]; sign → binary
fc2 = bdense(fc1, 10)       # fc2.weight [10, 64] ±1, fc2.bias [10]; integer scores
label = argmax(fc2)
```

## Training

numpy, straight-through estimator: latent float weights clipped to [−1, 1],
binarized with sign (sign(0) = +1) in the forward pass, gradients passed
through where |w| <= 1. Hidden pre-activations go through a batch-norm without
scale (batch statistics while training, running statistics after) and a
learned shift β, then sign, whose gradient is passed where its argument is in
[−1, 1]. Output scores are trained through softmax(s / 8). Adam, lr 0.01
(cosine decay), batch 64, 200 epochs. Folding: `h_i = +1 ⇔ (a_i − μ_i)/σ_i + β_i >= 0
⇔ a_i >= μ_i − β_i·σ_i`, and since `a_i` is an integer, `fc1.threshold[i] =
ceil(μ_i − β_i·σ_i)` exactly; `fc2.bias` is the learned output bias rounded to the
nearest integer.

## Results on the {len(te)} test samples

| model | accuracy |
| --- | --- |
| real-valued threshold and output bias (before rounding) | {pct(float_acc)} |
| **exact integer forward pass (the exported tensors)** | **{pct(int_acc)}** |

Training-split accuracy of the integer model: {pct(train_int_acc)}. Compare with the
fixed-point `digits` MLP (64 → 16 → 10, fixed(16, 8)) in `../digits/README.md`, which
sees the full 17 grey levels. Largest |integer pre-activation| on the training split:
{metrics['max_abs_activation']}. AND gate count (private weights, `garnet stats models/digits_binarized/digits_binarized.gnet`): 5,333; per layer in `models/README.md`. The two-party runs agree with this fixed-point model on every test sample (`tests/models_two_party.rs`).

`test_fixed_predictions.npy` holds the integer forward pass's prediction per
test sample (int64), for the Rust tests to check the circuit against.

## Files

- `digits_binarized.safetensors` — the tensors above.
- `test_inputs.npy` — float32 `[{len(te)}, 64]`, values ±1 (binarized, preprocessed).
- `test_labels.npy` — int64 `[{len(te)}]`.
- `test.json` — `{{"inputs": [[64 values ±1], …], "labels": […]}}`.
- `test_fixed_predictions.npy` — int64, the integer forward pass's predictions.
- `inputs/sample_0.json` … `sample_4.json` — the first five test samples, arrays of shape `[64]`;
  labels {sample_labels}. `inputs/sample_0.npy` is test sample 0 (float32 `[64]`);
  `inputs/sample_1.csv` is test sample 1 as one row of 64 comma-separated values.
- `metrics.json` — the numbers above.
"""
    (out / "README.md").write_text(readme)
    return metrics



# --------------------------------------------------------------------------
# 4. DeepSecure pre-processing: projected and pruned digits / breast_cancer
# --------------------------------------------------------------------------

def fixed_project(x, matrix):
    """The client's plaintext projection, as garnet computes it (`project`):
    x and the matrix quantized in fixed(16, 8), exact integer products, then
    floor shift by 8 and saturation — `dense` without a bias.  Returns ints."""
    xq, _ = quantize(x.reshape(len(x), -1))
    wq, _ = quantize(matrix)
    return saturate((xq @ wq.T) >> FRAC_BITS)


def pca_matrix(x_train, k):
    """The top-k principal directions of the training inputs (rows, unit norm),
    signs fixed so each row's largest-magnitude entry is positive.  The mean is not
    subtracted by the client: fc1's bias absorbs it after retraining."""
    centered = x_train - x_train.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    rows = vt[:k]
    signs = np.sign(rows[np.arange(k), np.argmax(np.abs(rows), axis=1)])
    return (rows * signs[:, None]).astype(np.float32)


def train_masked(x, y, n_hidden, n_out, *, seed, epochs, batch, lr, l2, w=None, masks=None):
    """`train_mlp` with optional starting weights and fixed 0/1 masks on the
    weight matrices: masked weights stay zero (their gradients are masked too)."""
    rng = np.random.default_rng(seed)
    if w is None:
        w = init_mlp(rng, x.shape[1], n_hidden, n_out)
    w = {k: v.astype(np.float64).copy() for k, v in w.items()}
    masks = masks or {}
    for k, m in masks.items():
        w[k] *= m
    opt = Adam(w, lr)
    n = len(x)
    for epoch in range(epochs):
        lr_now = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x[idx], y[idx]
            z1, h, z2 = float_forward(w, xb)
            _, dz2 = softmax_xent_grad(z2, yb)
            g = {"fc2.weight": dz2.T @ h + l2 * w["fc2.weight"],
                 "fc2.bias": dz2.sum(axis=0)}
            dz1 = (dz2 @ w["fc2.weight"]) * (z1 > 0)
            g["fc1.weight"] = dz1.T @ xb + l2 * w["fc1.weight"]
            g["fc1.bias"] = dz1.sum(axis=0)
            for k, m in masks.items():
                g[k] = g[k] * m
            opt.step(w, g, lr_now)
            for k, m in masks.items():
                w[k] *= m
    return w


def magnitude_mask(weight, keep_fraction):
    """1 for the largest-|w| round(keep·size) weights (ties: lower index first)."""
    k = int(round(keep_fraction * weight.size))
    order = np.argsort(-np.abs(weight).ravel(), kind="stable")
    mask = np.zeros(weight.size)
    mask[order[:k]] = 1.0
    return mask.reshape(weight.shape)


PP_STEPS = 3


def train_projected_pruned(p_train, y_train, n_hidden, n_out, *, keep, epochs, batch):
    """Train on projected inputs, then prune by magnitude in PP_STEPS steps to the
    kept fractions `keep` = (fc1, fc2), fine-tuning with the masks after each."""
    w = train_masked(p_train, y_train, n_hidden, n_out, seed=SEED, epochs=epochs,
                     batch=batch, lr=0.01, l2=1e-3)
    masks = {}
    for step in range(1, PP_STEPS + 1):
        masks = {name: magnitude_mask(w[name], 1 - (1 - k) * step / PP_STEPS)
                 for name, k in zip(("fc1.weight", "fc2.weight"), keep)}
        w = train_masked(p_train, y_train, n_hidden, n_out, seed=SEED + step, epochs=epochs // 3,
                         batch=batch, lr=0.003, l2=1e-3, w=w, masks=masks)
    weights = {k: v.astype(np.float32) for k, v in w.items()}
    for k, m in masks.items():
        weights[k] = (weights[k] * m).astype(np.float32)
    return weights, {k.replace(".weight", ".mask"): m.astype(np.float32) for k, m in masks.items()}


def build_pp(name, base, x, y, tr, te, sample_shape, *, k, n_hidden, n_out, keep, epochs, batch, about):
    """models/NAME: `base` with the client's input projected onto the top-k
    principal directions (`p = project(x, k)`, public) and both dense layers
    pruned (`pruned=true`, public masks), retrained on the projected data."""
    out = MODELS / name
    out.mkdir(parents=True, exist_ok=True)
    flat = x.reshape(len(x), -1).astype(np.float32)
    matrix = pca_matrix(flat[tr].astype(np.float64), k)
    proj = fixed_project(flat, matrix).astype(np.float64) / (1 << FRAC_BITS)   # exact in float32
    weights, masks = train_projected_pruned(proj[tr], y[tr], n_hidden, n_out, keep=keep,
                                            epochs=epochs, batch=batch)
    save_weights(out / f"{name}.safetensors", weights)
    save_weights(out / f"{name}.public.safetensors", {"p.weight": matrix, **masks})
    x_test = x[te]
    sample_labels = write_test_files(out, x_test, y[te], sample_shape)
    # Accuracy on the projected test inputs, the same simulation as the base model.
    metrics = fixed_report(out, weights, proj[tr].astype(np.float32), proj[te].astype(np.float32), y[te])
    base_metrics = json.loads((MODELS / base / "metrics.json").read_text())
    kept = {m: int(v.sum()) for m, v in masks.items()}
    metrics.update({
        "n_train": int(len(tr)), "sample_labels": sample_labels, "projection": k,
        "hidden": n_hidden, "kept_weights": kept,
        "weights_total": {m: int(v.size) for m, v in masks.items()},
        "base_fixed_accuracy": base_metrics["fixed_accuracy"],
        "accuracy_loss_points": round(100 * (base_metrics["fixed_accuracy"] - metrics["fixed_accuracy"]), 4),
    })
    write_pretty_json(out / "metrics.json", metrics)
    n_in = flat.shape[1]
    readme = f"""\
# {name} — `{base}` projected to {k} features and pruned (DeepSecure pre-processing)

Generated by `tools/train_models.py` (see `tools/README.md`); do not edit by hand.

{about}

## Pre-processing

- **Data (projection, public):** the client multiplies its raw input ({n_in} values,
  the same preprocessed inputs as `{base}`) by the matrix `p.weight` `[{k}, {n_in}]`, the
  top {k} principal directions of the training inputs, in plaintext before the
  garbled circuit: `p = project(x, {k})`. The server publishes the matrix in
  `{name}.public.safetensors`; it is public to the client by design. garnet computes
  the projection in fixed(16, 8) exactly as a `dense` without a bias (inputs and
  matrix quantized, exact sum, floor shift by 8, saturation), and so does the numpy
  training (`fixed_project`), which retrains the network on the projected data.
- **Network (pruning, pattern public):** after training, the smallest weights are
  removed by magnitude in {PP_STEPS} steps, fine-tuning with the masks after each:
  fc1 keeps {kept['fc1.mask']} of {masks['fc1.mask'].size} weights, fc2 {kept['fc2.mask']} of
  {masks['fc2.mask'].size}. The masks (`fc1.mask`, `fc2.mask`, 1 = kept) are in the public file: the
  circuit has no gates for pruned products, so which weights are zero is part of the
  public circuit (and of its digest); the kept weights stay private (`params from server`).

## Results on the {len(te)} test samples

| model | accuracy |
| --- | --- |
| `{base}` fixed(16, 8) | {pct(base_metrics['fixed_accuracy'])} |
| float32, projected and pruned | {pct(metrics['float_accuracy'])} |
| fixed(16, 8) simulation, projected and pruned | {pct(metrics['fixed_accuracy'])} |

AND gates, time and traffic per inference before and after: `models/README.md`.

## Files

- `{name}.gnet` — the network (hand-written).
- `{name}.safetensors` — the private weights (pruned ones exactly 0).
- `{name}.public.safetensors` — the public tensors: `p.weight`, `fc1.mask`, `fc2.mask`.
- `test_inputs.npy`, `test_labels.npy`, `test.json`, `inputs/` — raw test inputs as for `{base}`.
- `test_fixed_predictions.npy` — the fixed-point simulation's predictions (projection included).
- `metrics.json` — the numbers above.
"""
    (out / "README.md").write_text(readme)
    return metrics


def build_digits_pp():
    _, x, y, tr, te = digits_split()
    return build_pp("digits_pp", "digits", x[:, None, :, :], y, tr, te, (1, 8, 8),
                    k=16, n_hidden=24, n_out=10, keep=(0.3, 0.3), epochs=300, batch=64,
                    about="8×8 digits: image [1, 8, 8] → project 16 → dense 24 (pruned) → relu → dense 10 (pruned) → argmax.")


def build_breast_cancer_pp():
    data = load_breast_cancer()
    x_raw, y = data.data.astype(np.float64), data.target.astype(np.int64)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.25, stratify=y, random_state=SEED)
    tr, te = np.sort(tr), np.sort(te)
    divisor32 = x_raw[tr].max(axis=0).astype(np.float32)
    x = (x_raw.astype(np.float32) / divisor32).astype(np.float32)
    return build_pp("breast_cancer_pp", "breast_cancer", x, y, tr, te, (30,),
                    k=6, n_hidden=8, n_out=2, keep=(0.5, 0.5), epochs=400, batch=32,
                    about="Breast cancer diagnosis: 30 preprocessed features (as `breast_cancer`) → project 6 → dense 8 (pruned) → relu → dense 2 (pruned) → argmax.")


BUILDERS = {
    "digits": build_digits,
    "breast_cancer": build_breast_cancer,
    "digits_binarized": build_digits_binarized,
    "digits_pp": build_digits_pp,
    "breast_cancer_pp": build_breast_cancer_pp,
}


def main(argv):
    names = argv[1:] or list(BUILDERS)
    for name in names:
        if name not in BUILDERS:
            sys.exit(f"unknown model {name!r}; expected one of {', '.join(BUILDERS)}")
    for name in names:
        m = BUILDERS[name]()
        print(f"{name}: float {pct(m['float_accuracy'])}, fixed {pct(m['fixed_accuracy'])} "
              f"on {m['n_test']} test samples; max|w| {m['max_abs_weight']}, "
              f"max|act| {m['max_abs_activation']}, saturated {m['saturated_values']}")


if __name__ == "__main__":
    main(sys.argv)
