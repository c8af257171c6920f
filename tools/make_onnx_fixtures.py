#!/usr/bin/env python3
"""Builds the ONNX fixtures of `garnet import` (tests/fixtures/onnx/) with onnx.helper,
and onnxruntime's float outputs on every test sample, so the Rust tests need no Python.

    python3 -m pip install -r tools/requirements-onnx.txt
    python3 tools/make_onnx_fixtures.py

Models (opset 13, batch dimension "N" as torch.onnx.export writes with dynamic_axes):
  digits_mlp     the bundled models/digits weights: Flatten, Gemm (transB=1), Relu, Softmax
  digits_view    the same weights through Shape/Gather/Unsqueeze/Concat/Reshape (as
                 `x.view(x.size(0), -1)` exports), Transpose + MatMul + Add, LogSoftmax
  breast_mlp     the bundled models/breast_cancer weights as MatMul + Add, Relu, ArgMax
  digits_cnn     a small conv net on the 8x8 digits, trained here for a few epochs of
                 numpy SGD (seeded): Conv (padding 1) + BatchNormalization + Relu + MaxPool,
                 a residual block (Conv + Relu, Add), Conv (stride 2), AveragePool,
                 Flatten, Gemm, Softmax
  breast_act     seeded random weights on the breast-cancer inputs: Gemm, Sigmoid, Gemm,
                 Tanh; the output is the tensor (no Softmax)
Error fixtures: lstm (an LSTM node), conv_dilated (dilations 2), conv_group (group 2).

For each model NAME it writes NAME.onnx, NAME.logits.npy (float32 [samples, classes]:
the tensor before the final Softmax/ArgMax, or the output) and, for classifiers,
NAME.labels.npy (int64 argmax of the logits). Seeds are fixed: reruns write the same bytes.
"""

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "onnx")
DIGITS = os.path.join(ROOT, "models", "digits")
BREAST = os.path.join(ROOT, "models", "breast_cancer")
OPSET = 13


def init(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def value(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def model(name, nodes, inputs, outputs, initializers):
    g = helper.make_graph(nodes, name, inputs, outputs, initializers)
    m = helper.make_model(
        g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make_onnx_fixtures"
    )
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def save(m, name):
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def run(m, x, output=None):
    """onnxruntime on x; `output` names an intermediate tensor to read instead."""
    if output is not None:
        m = onnx.ModelProto.FromString(m.SerializeToString())
        m.graph.output.append(value(output, None))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    s = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    outs = s.run(None, {s.get_inputs()[0].name: x})
    return outs[-1] if output is not None else outs[0]


def save_outputs(name, logits, classifier=True):
    np.save(os.path.join(OUT, name + ".logits.npy"), np.asarray(logits, dtype=np.float32))
    if classifier:
        np.save(os.path.join(OUT, name + ".labels.npy"), np.argmax(logits, axis=1).astype(np.int64))


def digits_mlp():
    w = load_file(os.path.join(DIGITS, "digits.safetensors"))
    x = np.load(os.path.join(DIGITS, "test_inputs.npy")).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["image"], ["/Flatten_output_0"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["/Flatten_output_0", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"], name="/fc1/Gemm", transB=1),
        helper.make_node("Relu", ["/fc1/Gemm_output_0"], ["/Relu_output_0"], name="/Relu"),
        helper.make_node("Gemm", ["/Relu_output_0", "fc2.weight", "fc2.bias"], ["logits"], name="/fc2/Gemm", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="/Softmax", axis=1),
    ]
    inits = [init(k, w[k]) for k in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]]
    m = model("digits_mlp", nodes, [value("image", ["N", 1, 8, 8])], [value("probs", ["N", 10])], inits)
    save(m, "digits_mlp")
    save_outputs("digits_mlp", run(m, x, "logits"))


def breast_mlp():
    w = load_file(os.path.join(BREAST, "breast_cancer.safetensors"))
    x = np.load(os.path.join(BREAST, "test_inputs.npy")).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "onnx::MatMul_20"], ["/fc1/MatMul_output_0"], name="/fc1/MatMul"),
        helper.make_node("Add", ["fc1.bias", "/fc1/MatMul_output_0"], ["/fc1/Add_output_0"], name="/fc1/Add"),
        helper.make_node("Relu", ["/fc1/Add_output_0"], ["/Relu_output_0"], name="/Relu"),
        helper.make_node("MatMul", ["/Relu_output_0", "onnx::MatMul_21"], ["/fc2/MatMul_output_0"], name="/fc2/MatMul"),
        helper.make_node("Add", ["/fc2/MatMul_output_0", "fc2.bias"], ["logits"], name="/fc2/Add"),
        helper.make_node("ArgMax", ["logits"], ["label"], name="/ArgMax", axis=1, keepdims=0),
    ]
    inits = [
        init("onnx::MatMul_20", w["fc1.weight"].T),
        init("fc1.bias", w["fc1.bias"]),
        init("onnx::MatMul_21", w["fc2.weight"].T),
        init("fc2.bias", w["fc2.bias"]),
    ]
    out = helper.make_tensor_value_info("label", TensorProto.INT64, ["N"])
    m = model("breast_mlp", nodes, [value("x", ["N", 30])], [out], inits)
    save(m, "breast_mlp")
    save_outputs("breast_mlp", run(m, x, "logits"))


def conv(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    cols = np.stack(
        [xp[:, :, i * stride : i * stride + k, j * stride : j * stride + k].reshape(n, -1) for i in range(oh) for j in range(ow)],
        axis=1,
    )  # n, oh*ow, c*k*k
    y = cols @ w.reshape(o, -1).T + b
    return y.transpose(0, 2, 1).reshape(n, o, oh, ow), cols


def digits_cnn():
    """Trains the conv layers' stand-in quickly: random conv features (seeded), then
    the classifier by softmax regression on them, so the network is accurate enough
    that most test samples have a clear margin."""
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(13)
    d = load_digits()
    x_all = (d.images / 16.0).astype(np.float32)[:, None]
    x_test = np.load(os.path.join(DIGITS, "test_inputs.npy")).astype(np.float32)
    p = {
        "conv1.weight": rng.normal(0, 0.5, (4, 1, 3, 3)),
        "conv1.bias": rng.normal(0, 0.1, 4),
        "bn1.weight": rng.uniform(0.5, 1.5, 4),
        "bn1.bias": rng.normal(0, 0.2, 4),
        "bn1.running_mean": rng.normal(0, 0.2, 4),
        "bn1.running_var": rng.uniform(0.5, 2.0, 4),
        "res.conv.weight": rng.normal(0, 0.3, (4, 4, 3, 3)),
        "res.conv.bias": rng.normal(0, 0.1, 4),
        "conv2.weight": rng.normal(0, 0.3, (16, 4, 3, 3)),
        "conv2.bias": rng.normal(0, 0.1, 16),
    }
    eps = 1e-3  # not PyTorch's 1e-5: the importer must carry it over

    def features(x):
        y, _ = conv(x, p["conv1.weight"], p["conv1.bias"], 1, 1)
        s = p["bn1.weight"] / np.sqrt(p["bn1.running_var"] + eps)
        y = (y - p["bn1.running_mean"][None, :, None, None]) * s[None, :, None, None] + p["bn1.bias"][None, :, None, None]
        y = np.maximum(y, 0)
        y = y.reshape(len(x), 4, 4, 2, 4, 2).max(axis=(3, 5))
        r, _ = conv(y, p["res.conv.weight"], p["res.conv.bias"], 1, 1)
        y = y + np.maximum(r, 0)
        y, _ = conv(y, p["conv2.weight"], p["conv2.bias"], 2, 1)  # 16 x 2 x 2
        return y.reshape(len(x), 16, 1, 2, 1, 2).mean(axis=(3, 5)).reshape(len(x), 16)

    f = features(x_all)
    # Standardise the features inside conv2 (the average pool is linear), then fit the
    # classifier with plain softmax SGD and a little weight decay.
    mu, sd = f.mean(0), f.std(0) + 1e-6
    p["conv2.weight"] = p["conv2.weight"] / sd[:, None, None, None]
    p["conv2.bias"] = (p["conv2.bias"] - mu) / sd
    fs = (f - mu) / sd
    w = np.zeros((10, 16))
    b = np.zeros(10)
    onehot = np.eye(10)[d.target]
    for _ in range(1500):
        z = fs @ w.T + b
        z -= z.max(1, keepdims=True)
        pr = np.exp(z)
        pr /= pr.sum(1, keepdims=True)
        g = (pr - onehot) / len(fs)
        w -= 1.0 * (g.T @ fs + 1e-3 * w)
        b -= 1.0 * g.sum(0)
    p["fc.weight"] = w
    p["fc.bias"] = b
    for k, v in p.items():
        print(f"  {k}: max |value| {np.abs(v).max():.3f}")

    nodes = [
        helper.make_node("Conv", ["image", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"], ["b1"], name="/bn1/BatchNormalization", epsilon=eps),
        helper.make_node("Relu", ["b1"], ["r1"], name="/Relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "res.conv.weight", "res.conv.bias"], ["rc"], name="/res/conv/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["rc"], ["rr"], name="/res/Relu"),
        helper.make_node("Add", ["p1", "rr"], ["s"], name="/Add"),
        helper.make_node("Conv", ["s", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("AveragePool", ["c2"], ["a2"], name="/AveragePool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["a2"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="/Softmax", axis=1),
    ]
    inits = [init(k, v) for k, v in p.items()]
    m = model("digits_cnn", nodes, [value("image", ["N", 1, 8, 8])], [value("probs", ["N", 10])], inits)
    save(m, "digits_cnn")
    logits = run(m, x_test, "logits")
    save_outputs("digits_cnn", logits)
    labels = np.load(os.path.join(DIGITS, "test_labels.npy"))
    print(f"digits_cnn float accuracy on the test split: {(logits.argmax(1) == labels).mean():.3f}")


def digits_view():
    """The digits weights as the TorchScript exporter writes `x.view(x.size(0), -1)` and
    a Linear through a transposed weight: Shape, Gather, Unsqueeze, Concat, Reshape,
    Transpose, MatMul + Add, LogSoftmax."""
    w = load_file(os.path.join(DIGITS, "digits.safetensors"))
    x = np.load(os.path.join(DIGITS, "test_inputs.npy")).astype(np.float32)
    i64 = lambda name, v: numpy_helper.from_array(np.asarray(v, dtype=np.int64), name)
    nodes = [
        helper.make_node("Shape", ["input.1"], ["/Shape_output_0"], name="/Shape"),
        helper.make_node("Constant", [], ["/Constant_output_0"], name="/Constant", value=i64("c0", 0)),
        helper.make_node("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"], name="/Gather", axis=0),
        helper.make_node("Constant", [], ["/Constant_1_output_0"], name="/Constant_1", value=i64("c1", [0])),
        helper.make_node("Unsqueeze", ["/Gather_output_0", "/Constant_1_output_0"], ["/Unsqueeze_output_0"], name="/Unsqueeze"),
        helper.make_node("Constant", [], ["/Constant_2_output_0"], name="/Constant_2", value=i64("c2", [-1])),
        helper.make_node("Concat", ["/Unsqueeze_output_0", "/Constant_2_output_0"], ["/Concat_output_0"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["input.1", "/Concat_output_0"], ["/Reshape_output_0"], name="/Reshape"),
        helper.make_node("Transpose", ["fc1.weight"], ["/fc1/Transpose_output_0"], name="/fc1/Transpose", perm=[1, 0]),
        helper.make_node("MatMul", ["/Reshape_output_0", "/fc1/Transpose_output_0"], ["/fc1/MatMul_output_0"], name="/fc1/MatMul"),
        helper.make_node("Add", ["/fc1/MatMul_output_0", "fc1.bias"], ["/fc1/Add_output_0"], name="/fc1/Add"),
        helper.make_node("Relu", ["/fc1/Add_output_0"], ["/Relu_output_0"], name="/Relu"),
        helper.make_node("Gemm", ["/Relu_output_0", "fc2.weight", "fc2.bias"], ["logits"], name="/fc2/Gemm", transB=1),
        helper.make_node("LogSoftmax", ["logits"], ["23"], name="/LogSoftmax", axis=1),
    ]
    inits = [init(k, w[k]) for k in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]]
    m = model("digits_view", nodes, [value("input.1", ["N", 1, 8, 8])], [value("23", ["N", 10])], inits)
    save(m, "digits_view")
    save_outputs("digits_view", run(m, x, "logits"))


def breast_act():
    rng = np.random.default_rng(7)
    x = np.load(os.path.join(BREAST, "test_inputs.npy")).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], name="/fc1/Gemm", transB=1),
        helper.make_node("Sigmoid", ["h"], ["s"], name="/Sigmoid"),
        helper.make_node("Gemm", ["s", "fc2.weight", "fc2.bias"], ["z"], name="/fc2/Gemm", transB=1),
        helper.make_node("Tanh", ["z"], ["y"], name="/Tanh"),
    ]
    inits = [
        init("fc1.weight", rng.normal(0, 1.0, (8, 30))),
        init("fc1.bias", rng.normal(0, 0.5, 8)),
        init("fc2.weight", rng.normal(0, 0.7, (4, 8))),
        init("fc2.bias", rng.normal(0, 0.5, 4)),
    ]
    m = model("breast_act", nodes, [value("x", ["N", 30])], [value("y", ["N", 4])], inits)
    save(m, "breast_act")
    save_outputs("breast_act", run(m, x), classifier=False)


def errors():
    rng = np.random.default_rng(1)
    lstm = model(
        "lstm",
        [
            helper.make_node("Identity", ["input"], ["x"], name="/Identity"),
            helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="/lstm/LSTM", hidden_size=4),
        ],
        [value("input", [1, 5, 8])],
        [value("y", [1, 1, 5, 4])],
        [init("W", rng.normal(0, 1, (1, 16, 8))), init("R", rng.normal(0, 1, (1, 16, 4)))],
    )
    save(lstm, "lstm")
    for name, attrs in [("conv_dilated", {"dilations": [2, 2]}), ("conv_group", {"group": 2})]:
        cin = 1 if name == "conv_group" else 2
        m = model(
            name,
            [
                helper.make_node("Relu", ["input"], ["r"], name="/Relu"),
                helper.make_node("Conv", ["r", "conv1.weight"], ["y"], name="/conv1/Conv", kernel_shape=[3, 3], **attrs),
            ],
            [value("input", ["N", 2, 8, 8])],
            [value("y", ["N", 4, "H", "W"])],
            [init("conv1.weight", rng.normal(0, 1, (4, cin, 3, 3)))],
        )
        save(m, name)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in [digits_mlp, breast_mlp, digits_cnn, digits_view, breast_act, errors]:
        if len(sys.argv) < 2 or f.__name__ in sys.argv[1:]:
            f()
            print("wrote", f.__name__)


if __name__ == "__main__":
    main()
