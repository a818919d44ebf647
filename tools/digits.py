#!/usr/bin/python3
"""Train a small CNN on sklearn's 8x8 digits and export float and int8 QDQ ONNX models.

usage: digits.py --out DIR [--epochs N] [--test-sets K]

Deterministic (fixed seeds, one thread, fixed split: the first 80% of the 1797 images train,
the last 20% (360) are held out). Writes
  DIR/digits_float/model.onnx            float CNN, opset 13, input "image" [1,1,8,8] in [0,1]
  DIR/digits_qdq/model.onnx              the same weights as an int8 QDQ graph (QuantizeLinear/
                                         DequantizeLinear around every Conv/Gemm, calibrated scales)
  DIR/<model>/test_data_set_K/           K = 0..test-sets-1: held-out image K (input_0.pb) and
                                         its onnxruntime-node logits (output_0.pb)
  DIR/heldout/input_0.pb                 all held-out images, [360,1,8,8] float
  DIR/heldout/labels.pb, labels.npy      their labels, int64 [360]
  DIR/eval/<model>_b360.onnx             batch-360 copies used to score the held-out set
  DIR/digits.json                        accuracies (torch, onnxruntime float, onnxruntime QDQ),
                                         quantisation scales, timings
Accuracies are computed by onnxruntime-node (tools/ort_run.js), not by torch.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(TOOLS_DIR, "ort_run.js")
SEED = 2026
TRAIN_FRACTION = 0.8
OPSET = 13


class DigitsNet(torch.nn.Module):
    """conv3x3(1->16)+ReLU, conv3x3(16->32)+ReLU, maxpool 2, fc 512->64 + ReLU, fc 64->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = torch.nn.Linear(32 * 4 * 4, 64)
        self.fc2 = torch.nn.Linear(64, 10)

    def forward(self, x, record=None):
        a1 = torch.relu(self.conv1(x))
        a2 = torch.relu(self.conv2(a1))
        pooled = torch.flatten(torch.nn.functional.max_pool2d(a2, 2), 1)
        h = torch.relu(self.fc1(pooled))
        logits = self.fc2(h)
        if record is not None:  # activations that get a quantisation scale in the QDQ graph
            record.update(image=x, conv1=a1, conv2=a2, fc1=h, logits=logits)
        return logits


def load_split():
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]  # [1797,1,8,8] in [0,1]
    labels = digits.target.astype(np.int64)
    n_train = int(len(images) * TRAIN_FRACTION)
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]


def train(train_x, train_y, epochs):
    """AdamW with a one-cycle schedule; each batch is shifted by up to one pixel (the held-out
    writers centre digits differently: without the shift accuracy stalls near 94%)."""
    torch.manual_seed(SEED)
    model = DigitsNet()
    batch_size = 32
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=3e-3, total_steps=epochs * ((len(train_x) + batch_size - 1) // batch_size))
    generator = torch.Generator().manual_seed(SEED)
    x, y = torch.from_numpy(train_x), torch.from_numpy(train_y)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            padded = torch.nn.functional.pad(x[batch], (1, 1, 1, 1))
            dx, dy = torch.randint(0, 3, (2,), generator=generator).tolist()
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(padded[:, :, dy:dy + 8, dx:dx + 8]), y[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()
    return model


# ---------------------------------------------------------------- int8 QDQ graph
def activation_qparams(max_value):
    """Non-negative activations (image, ReLU outputs) use the full int8 range [-128, 127] for
    [0, max]: scale = max/255, zero point -128."""
    scale = max(float(max_value), 1e-8) / 255.0
    return np.float32(scale), np.int8(-128)


def symmetric_qparams(max_abs):
    """Signed tensors (weights, logits): symmetric, zero point 0, range [-127, 127]."""
    return np.float32(max(float(max_abs), 1e-8) / 127.0), np.int8(0)


def quantize(values, scale, zero_point, dtype, lo, hi):
    # Round half to even, like QuantizeLinear.
    return np.clip(np.rint(values / scale) + zero_point, lo, hi).astype(dtype)


def build_qdq_model(model, scales, batch):
    """Float model -> QDQ ONNX: weights as int8 initialisers (per-tensor symmetric) behind
    DequantizeLinear, biases as int32 with scale s_in*s_w, activations passed through
    QuantizeLinear->DequantizeLinear at the calibrated scale - the form onnxruntime's own
    quantiser emits and fuses into QLinearConv/QGemm."""
    initializers, nodes = [], []

    def const(name, array):
        initializers.append(numpy_helper.from_array(np.asarray(array), name=name))
        return name

    def qdq(tensor, key):
        scale, zp = scales[key]
        s, z = const(f"{key}_scale", scale), const(f"{key}_zero_point", zp)
        nodes.append(helper.make_node("QuantizeLinear", [tensor, s, z], [f"{key}_q"], name=f"{key}_quantize"))
        nodes.append(helper.make_node("DequantizeLinear", [f"{key}_q", s, z], [f"{key}_dq"], name=f"{key}_dequantize"))
        return f"{key}_dq"

    def quantized_params(layer_name, layer, input_key):
        weight = layer.weight.detach().numpy().astype(np.float32)
        bias = layer.bias.detach().numpy().astype(np.float32)
        w_scale, w_zp = symmetric_qparams(np.max(np.abs(weight)))
        scales[f"{layer_name}_weight"] = (w_scale, w_zp)
        w_q = quantize(weight, w_scale, 0, np.int8, -127, 127)
        b_scale = np.float32(scales[input_key][0] * w_scale)
        b_q = quantize(bias, b_scale, 0, np.int32, -2**31, 2**31 - 1)
        w_name = const(f"{layer_name}_weight_q", w_q)
        b_name = const(f"{layer_name}_bias_q", b_q)
        ws, wz = const(f"{layer_name}_weight_scale", w_scale), const(f"{layer_name}_weight_zero_point", w_zp)
        bs, bz = const(f"{layer_name}_bias_scale", b_scale), const(f"{layer_name}_bias_zero_point", np.int32(0))
        nodes.append(helper.make_node("DequantizeLinear", [w_name, ws, wz], [f"{layer_name}_weight_dq"]))
        nodes.append(helper.make_node("DequantizeLinear", [b_name, bs, bz], [f"{layer_name}_bias_dq"]))
        return f"{layer_name}_weight_dq", f"{layer_name}_bias_dq"

    x = qdq("image", "image")
    w, b = quantized_params("conv1", model.conv1, "image")
    nodes.append(helper.make_node("Conv", [x, w, b], ["conv1_out"], name="conv1", pads=[1, 1, 1, 1],
                                  kernel_shape=[3, 3]))
    nodes.append(helper.make_node("Relu", ["conv1_out"], ["conv1_relu"], name="conv1_relu"))
    x = qdq("conv1_relu", "conv1")
    w, b = quantized_params("conv2", model.conv2, "conv1")
    nodes.append(helper.make_node("Conv", [x, w, b], ["conv2_out"], name="conv2", pads=[1, 1, 1, 1],
                                  kernel_shape=[3, 3]))
    nodes.append(helper.make_node("Relu", ["conv2_out"], ["conv2_relu"], name="conv2_relu"))
    x = qdq("conv2_relu", "conv2")
    # MaxPool and Flatten keep the conv2 scale: max and reshape commute with quantisation.
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1))
    scales["flat"] = scales["conv2"]
    x = qdq("flat", "flat")
    w, b = quantized_params("fc1", model.fc1, "flat")
    nodes.append(helper.make_node("Gemm", [x, w, b], ["fc1_out"], name="fc1", transB=1))
    nodes.append(helper.make_node("Relu", ["fc1_out"], ["fc1_relu"], name="fc1_relu"))
    x = qdq("fc1_relu", "fc1")
    w, b = quantized_params("fc2", model.fc2, "fc1")
    nodes.append(helper.make_node("Gemm", [x, w, b], ["fc2_out"], name="fc2", transB=1))
    logits = qdq("fc2_out", "logits")
    nodes.append(helper.make_node("Identity", [logits], ["logits"], name="output"))

    graph = helper.make_graph(
        nodes, "digits_qdq",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 10])],
        initializers)
    qdq_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="cardsim tools/digits.py")
    qdq_model.ir_version = 7  # opset 13 era; onnxruntime accepts it and so does onnx 1.12
    onnx.checker.check_model(qdq_model, full_check=True)
    return qdq_model


def calibrate(model, calib_x):
    record = {}
    with torch.no_grad():
        model(torch.from_numpy(calib_x), record)
    scales = {key: activation_qparams(record[key].max()) for key in ("image", "conv1", "conv2", "fc1")}
    scales["logits"] = symmetric_qparams(record["logits"].abs().max())
    return scales


# ---------------------------------------------------------------- files and onnxruntime
def write_tensor(path, array, name):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name=name).SerializeToString())


def read_tensor(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return numpy_helper.to_array(tensor)


def ort_run(*args):
    result = subprocess.run(["node", ORT_RUN, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"tools/ort_run.js {' '.join(args)} failed: {result.stderr.strip()}")


def export_float(model, path, batch):
    torch.onnx.export(model, torch.zeros(batch, 1, 8, 8), path, opset_version=OPSET, input_names=["image"],
                      output_names=["logits"], do_constant_folding=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the digits CNN and export float + QDQ ONNX.")
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--test-sets", type=int, default=8, help="held-out images written as test_data_set_K")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.test_sets < 0:
        parser.error("--epochs must be >= 1 and --test-sets >= 0")

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    timings = {}
    t0 = time.perf_counter()
    train_x, train_y, test_x, test_y = load_split()
    model = train(train_x, train_y, args.epochs)
    timings["train_s"] = time.perf_counter() - t0
    with torch.no_grad():
        torch_accuracy = float((model(torch.from_numpy(test_x)).argmax(1).numpy() == test_y).mean())

    t0 = time.perf_counter()
    scales = calibrate(model, train_x)  # calibrate on training data only: the held-out set stays unseen
    n_test = len(test_x)
    os.makedirs(os.path.join(args.out, "eval"), exist_ok=True)
    for batch, float_path, qdq_path in (
            (1, os.path.join(args.out, "digits_float", "model.onnx"), os.path.join(args.out, "digits_qdq", "model.onnx")),
            (n_test, os.path.join(args.out, "eval", f"digits_float_b{n_test}.onnx"),
             os.path.join(args.out, "eval", f"digits_qdq_b{n_test}.onnx"))):
        os.makedirs(os.path.dirname(float_path), exist_ok=True)
        os.makedirs(os.path.dirname(qdq_path), exist_ok=True)
        export_float(model, float_path, batch)
        onnx.save(build_qdq_model(model, scales, batch), qdq_path)
    timings["export_s"] = time.perf_counter() - t0

    heldout = os.path.join(args.out, "heldout")
    write_tensor(os.path.join(heldout, "input_0.pb"), test_x, "image")
    write_tensor(os.path.join(heldout, "labels.pb"), test_y, "labels")
    np.save(os.path.join(heldout, "labels.npy"), test_y)

    t0 = time.perf_counter()
    accuracy = {"torch_float": torch_accuracy}
    for variant in ("float", "qdq"):
        out = os.path.join(heldout, variant)
        ort_run(os.path.join(args.out, "eval", f"digits_{variant}_b{n_test}.onnx"), "--inputs", heldout,
                "--outputs", out)
        predictions = read_tensor(os.path.join(out, "output_0.pb")).argmax(1)
        accuracy[f"onnxruntime_{variant}"] = float((predictions == test_y).mean())
        case_dir = os.path.join(args.out, f"digits_{variant}")
        for k in range(min(args.test_sets, n_test)):
            write_tensor(os.path.join(case_dir, f"test_data_set_{k}", "input_0.pb"), test_x[k:k + 1], "image")
        if args.test_sets > 0:
            ort_run(os.path.join(case_dir, "model.onnx"), "--data-sets", case_dir)
    timings["onnxruntime_s"] = time.perf_counter() - t0

    report = {
        "train_images": len(train_x), "heldout_images": n_test, "epochs": args.epochs, "seed": SEED,
        "accuracy": accuracy,
        "quantization": {k: {"scale": float(s), "zero_point": int(z)} for k, (s, z) in sorted(scales.items())},
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    with open(os.path.join(args.out, "digits.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"digits: trained {args.epochs} epochs on {len(train_x)} images in {timings['train_s']:.1f} s; "
          f"held-out accuracy ({n_test} images): torch float {torch_accuracy:.4f}, "
          f"onnxruntime float {accuracy['onnxruntime_float']:.4f}, onnxruntime QDQ int8 {accuracy['onnxruntime_qdq']:.4f}")
    print(f"timings: export {timings['export_s']:.1f} s, onnxruntime {timings['onnxruntime_s']:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"digits: {e}", file=sys.stderr)
        sys.exit(1)
