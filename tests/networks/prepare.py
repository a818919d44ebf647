#!/usr/bin/python3
"""Fixture for tests/networks: exports the real networks (tools/export_models.py, logits by
onnxruntime) and trains the digits CNN (tools/digits.py) into the build tree; both tools cache
their results. Also writes the int8 calibration set for digits from TRAINING images.
Usage: prepare.py OUT_DIR [model ...] [--digits]"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main():
    out = sys.argv[1]
    args = sys.argv[2:]
    models = [a for a in args if not a.startswith("--")]
    os.makedirs(out, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if models:
        run([PY, os.path.join(ROOT, "tools", "export_models.py"), "--out", os.path.join(out, "models"), *models])
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
