#!/usr/bin/python3
"""Export torchvision networks to ONNX test cases with onnxruntime reference outputs.

usage: export_models.py --out DIR [--force] [names...]
       names: resnet18 resnet50 mobilenet_v2 squeezenet1_1 vit_b_16 (default: all)

For each model writes
  DIR/<name>/model.onnx                       opset 13, batch 1, static shapes, BN folded
  DIR/<name>/test_data_set_0/input_0.pb       a seeded 1x3x224x224 float input
  DIR/<name>/test_data_set_0/output_0.pb      the logits computed by onnxruntime-node
                                              (tools/ort_run.js, one thread) - not by torch
  DIR/<name>/export.json                      script hash, versions, file hashes, timings

Weights are random (weights=None, fixed seed) but made meaningful: BatchNorm statistics are
recalibrated with train-mode passes (momentum=None: a cumulative average) over seeded
structured images, because random-init running stats (mean 0, var 1) shrink activations
layer after layer (mobilenet_v2 would give ~1e-10 logits); ViT's zero-init head is
re-initialised (normal, std 0.02). Idempotent: a model whose files exist and whose recorded
script hash matches this script is skipped (--force re-exports).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import onnx
import torch
import torchvision
from onnx import numpy_helper

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(TOOLS_DIR, "ort_run.js")

# name -> (constructor, seed). Seeds are fixed per model so adding a model changes no other.
MODELS = {
    "resnet18": (torchvision.models.resnet18, 18),
    "resnet50": (torchvision.models.resnet50, 50),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, 2),
    "squeezenet1_1": (torchvision.models.squeezenet1_1, 11),
    "vit_b_16": (torchvision.models.vit_b_16, 16),
}
IMAGE_SIZE = 224
CALIBRATION_BATCHES = 4
CALIBRATION_BATCH_SIZE = 8
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def script_hash():
    # The hash covers this script and the reference runner: either changing means re-export.
    digest = hashlib.sha256()
    for path in (os.path.abspath(__file__), ORT_RUN, os.path.join(TOOLS_DIR, "tensor_proto.js")):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def structured_images(count, generator):
    """Image-like inputs: smooth colour fields (coarse noise upsampled) plus fine noise and
    edges, in [0, 1] before ImageNet normalisation - closer to natural image statistics than
    white noise, so recalibrated BN statistics suit the test input too."""
    coarse = torch.rand(count, 3, 7, 7, generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear",
                                             align_corners=False)
    detail = torch.rand(count, 3, 28, 28, generator=generator)
    detail = torch.nn.functional.interpolate(detail, size=(IMAGE_SIZE, IMAGE_SIZE), mode="nearest")
    fine = torch.rand(count, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    image = (0.6 * smooth + 0.25 * detail + 0.15 * fine).clamp(0, 1)
    return (image - IMAGENET_MEAN) / IMAGENET_STD


def build_model(name):
    constructor, seed = MODELS[name]
    torch.manual_seed(seed)
    model = constructor(weights=None)
    generator = torch.Generator().manual_seed(1000 + seed)
    if name == "vit_b_16":
        # torchvision zero-initialises the ViT head, which would make every logit 0.
        head = model.heads.head
        torch.nn.init.normal_(head.weight, std=0.02)  # global RNG, seeded above
        torch.nn.init.zeros_(head.bias)
    batch_norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if batch_norms:
        for bn in batch_norms:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative moving average over all calibration batches
        model.train()
        with torch.no_grad():
            for _ in range(CALIBRATION_BATCHES):
                model(structured_images(CALIBRATION_BATCH_SIZE, generator))
    model.eval()
    return model, seed


def export_one(name, out_dir, expected_hash):
    case_dir = os.path.join(out_dir, name)
    data_dir = os.path.join(case_dir, "test_data_set_0")
    model_path = os.path.join(case_dir, "model.onnx")
    input_path = os.path.join(data_dir, "input_0.pb")
    output_path = os.path.join(data_dir, "output_0.pb")
    stamp_path = os.path.join(case_dir, "export.json")
    timings = {}
    # Drop the old stamp first: an interrupted export must not look up to date next time.
    if os.path.exists(stamp_path):
        os.remove(stamp_path)

    t0 = time.perf_counter()
    model, seed = build_model(name)
    timings["build_and_calibrate_s"] = time.perf_counter() - t0

    os.makedirs(data_dir, exist_ok=True)
    example = structured_images(1, torch.Generator().manual_seed(2000 + seed))
    t0 = time.perf_counter()
    # Not under torch.no_grad(): vit_b_16's export fails inside it (torch 1.13).
    torch.onnx.export(model, example, model_path, opset_version=13, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL)
    timings["export_s"] = time.perf_counter() - t0
    onnx.checker.check_model(model_path)

    tensor = numpy_helper.from_array(example.numpy().astype(np.float32), name="input")
    with open(input_path, "wb") as f:
        f.write(tensor.SerializeToString())

    t0 = time.perf_counter()
    result = subprocess.run(["node", ORT_RUN, model_path, "--inputs", data_dir, "--outputs", data_dir],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{name}: tools/ort_run.js failed: {result.stderr.strip()}")
    timings["onnxruntime_s"] = time.perf_counter() - t0

    with torch.no_grad():
        torch_logits = model(example).numpy()
    ort_tensor = onnx.TensorProto()
    with open(output_path, "rb") as f:
        ort_tensor.ParseFromString(f.read())
    ort_logits = numpy_helper.to_array(ort_tensor)
    torch_vs_ort = float(np.max(np.abs(torch_logits - ort_logits)))

    stamp = {
        "model": name,
        "seed": seed,
        "script_sha256": expected_hash,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "opset": 13,
        "files": {os.path.relpath(p, case_dir): {"sha256": file_sha256(p), "bytes": os.path.getsize(p)}
                  for p in (model_path, input_path, output_path)},
        "logits": {"top1": int(np.argmax(ort_logits)), "absmax": float(np.max(np.abs(ort_logits))),
                   "std": float(np.std(ort_logits))},
        "max_abs_diff_torch_vs_onnxruntime": torch_vs_ort,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    with open(stamp_path, "w") as f:
        json.dump(stamp, f, indent=1, sort_keys=True)
        f.write("\n")
    return stamp


def up_to_date(name, out_dir, expected_hash):
    case_dir = os.path.join(out_dir, name)
    stamp_path = os.path.join(case_dir, "export.json")
    try:
        with open(stamp_path) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return False
    if stamp.get("script_sha256") != expected_hash:
        return False
    files = stamp.get("files", {})
    required = ("model.onnx", "test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb")
    if not all(isinstance(files.get(rel), dict) for rel in required):
        return False
    # Sizes catch truncated or replaced files without re-hashing hundreds of megabytes.
    return all(os.path.exists(os.path.join(case_dir, rel)) and
               os.path.getsize(os.path.join(case_dir, rel)) == files[rel].get("bytes") for rel in required)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Export torchvision models to ONNX test cases.")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--force", action="store_true", help="re-export even if up to date")
    parser.add_argument("names", nargs="*", help=f"models (default all): {' '.join(MODELS)}")
    args = parser.parse_args(argv)
    names = args.names or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")

    torch.set_num_threads(1)
    # The tracer warns about Python asserts in torchvision (shape checks on static shapes): harmless.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    expected_hash = script_hash()
    total = time.perf_counter()
    for name in names:
        if not args.force and up_to_date(name, args.out, expected_hash):
            print(f"{name}: up to date, skipped")
            continue
        t0 = time.perf_counter()
        try:
            stamp = export_one(name, args.out, expected_hash)
        except Exception as e:  # report which model failed, then stop with a non-zero code
            print(f"export_models: {name}: {e}", file=sys.stderr)
            return 1
        t = stamp["timings_s"]
        print(f"{name}: {time.perf_counter() - t0:.1f} s (calibrate {t['build_and_calibrate_s']} s, export "
              f"{t['export_s']} s, onnxruntime {t['onnxruntime_s']} s); top1 {stamp['logits']['top1']}, "
              f"logit std {stamp['logits']['std']:.3g}, torch vs onnxruntime max diff "
              f"{stamp['max_abs_diff_torch_vs_onnxruntime']:.2g}")
    print(f"total {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
