#!/usr/bin/python3
"""Fixture for tests/networks: exports the real networks (tools/export_models.py, logits by
onnxruntime) and trains the digits CNN (tools/digits.py) into the build tree; both tools cache
their results. Also writes the int8 calibration sets: for each exported model
CALIBRATION_SAMPLES structured images drawn like its test image (tools/export_models.py
structured_images) but from their own seed, so the test image stays held out; for digits the
first 360 TRAINING images.
Usage: prepare.py OUT_DIR [model ...] [--digits]"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
CALIBRATION_SAMPLES = 8
# Seeds of tools/export_models.py: 1000 + s BN statistics, 2000 + s the test image; 3000 + s here.
CALIBRATION_SEED_BASE = 3000


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def write_model_calibration(models_dir, name):
    """models_dir/<name>/calibration/test_data_set_K/input_0.pb, K < CALIBRATION_SAMPLES."""
    sets = [os.path.join(models_dir, name, "calibration", f"test_data_set_{k}") for k in range(CALIBRATION_SAMPLES)]
    if all(os.path.exists(os.path.join(d, "input_0.pb")) for d in sets):
        return
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import numpy as np
    import torch
    from onnx import numpy_helper
    import export_models
    _, seed = export_models.MODELS[name]
    images = export_models.structured_images(CALIBRATION_SAMPLES,
                                             torch.Generator().manual_seed(CALIBRATION_SEED_BASE + seed))
    for k, d in enumerate(sets):
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "input_0.pb")
        with open(path + ".tmp", "wb") as f:
            f.write(numpy_helper.from_array(images[k:k + 1].numpy().astype(np.float32), "input").SerializeToString())
        os.replace(path + ".tmp", path)
    print(f"{name}: {CALIBRATION_SAMPLES} calibration images", flush=True)


def main():
    out = sys.argv[1]
    args = sys.argv[2:]
    models = [a for a in args if not a.startswith("--")]
    os.makedirs(out, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if models:
        run([PY, os.path.join(ROOT, "tools", "export_models.py"), "--out", os.path.join(out, "models"), *models])
        for name in models:
            write_model_calibration(os.path.join(out, "models"), name)
    if "--digits" in args:
        d = os.path.join(out, "digits")
        if not os.path.exists(os.path.join(d, "digits.json")):
            run([PY, os.path.join(ROOT, "tools", "digits.py"), "--out", d])
        # int8 calibration data: the first 360 training images (digits.py trains on the first
        # 1437), never the held-out ones the accuracy is measured on.
        calib = os.path.join(d, "calibration", "input_0.pb")
        if not os.path.exists(calib):
            import numpy as np
            from onnx import numpy_helper
            from sklearn.datasets import load_digits
            images = (load_digits().images / 16.0).astype(np.float32)[:360, None, :, :]
            os.makedirs(os.path.dirname(calib), exist_ok=True)
            with open(calib + ".tmp", "wb") as f:
                f.write(numpy_helper.from_array(images, "image").SerializeToString())
            os.replace(calib + ".tmp", calib)
    print("prepared", out)


if __name__ == "__main__":
    main()
