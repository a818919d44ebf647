#!/usr/bin/python3
"""tools/export_models.py on the smallest network (squeezenet1_1): files, static opset-13
graph, onnxruntime reference output, idempotent second run."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORT = os.path.join(ROOT, "tools", "export_models.py")
ORT_RUN = os.path.join(ROOT, "tools", "ort_run.js")


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


class ExportSqueezenet(unittest.TestCase):
    def test_export_and_skip(self):
        with tempfile.TemporaryDirectory() as out:
            first = subprocess.run([sys.executable, EXPORT, "--out", out, "squeezenet1_1"], capture_output=True, text=True)
            print(first.stdout, end="")
            self.assertEqual(first.returncode, 0, first.stderr)
            case = os.path.join(out, "squeezenet1_1")
            model = onnx.load(os.path.join(case, "model.onnx"))
            self.assertEqual(model.opset_import[0].version, 13)
            dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
            self.assertEqual(dims, [1, 3, 224, 224])
            logits = read_tensor(os.path.join(case, "test_data_set_0", "output_0.pb"))
            self.assertEqual(logits.shape, (1, 1000))
            self.assertGreater(float(np.std(logits)), 1e-3)  # meaningful, not collapsed logits
            # The stored reference is onnxruntime's: a fresh run reproduces it bit for bit.
            with tempfile.TemporaryDirectory() as again:
                rerun = subprocess.run(["node", ORT_RUN, os.path.join(case, "model.onnx"), "--inputs",
                                        os.path.join(case, "test_data_set_0"), "--outputs", again],
                                       capture_output=True, text=True)
                self.assertEqual(rerun.returncode, 0, rerun.stderr)
                np.testing.assert_array_equal(read_tensor(os.path.join(again, "output_0.pb")), logits)
            with open(os.path.join(case, "export.json")) as f:
                stamp = json.load(f)
            self.assertLess(stamp["max_abs_diff_torch_vs_onnxruntime"], 1e-4)
            before = os.path.getmtime(os.path.join(case, "model.onnx"))
            second = subprocess.run([sys.executable, EXPORT, "--out", out, "squeezenet1_1"], capture_output=True, text=True)
            self.assertEqual(second.returncode, 0, second.stderr)
            self.assertIn("up to date, skipped", second.stdout)
            self.assertEqual(os.path.getmtime(os.path.join(case, "model.onnx")), before)
            # A damaged file (here: truncated input) is noticed and the case re-exported.
            with open(os.path.join(case, "test_data_set_0", "input_0.pb"), "r+b") as f:
                f.truncate(100)
            third = subprocess.run([sys.executable, EXPORT, "--out", out, "squeezenet1_1"], capture_output=True, text=True)
            self.assertEqual(third.returncode, 0, third.stderr)
            self.assertNotIn("skipped", third.stdout)
            np.testing.assert_array_equal(read_tensor(os.path.join(case, "test_data_set_0", "output_0.pb")), logits)

    def test_unknown_model_is_an_error(self):
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run([sys.executable, EXPORT, "--out", out, "alexnet9"], capture_output=True, text=True)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("unknown model", result.stderr)


if __name__ == "__main__":
    unittest.main()
