#!/usr/bin/python3
"""tools/digits.py trains, exports float + QDQ ONNX, and onnxruntime-node scores both.

Checks against independent facts: labels come from sklearn, accuracies are recomputed here
from onnxruntime's logits, the QDQ graph must really be quantised (int8 weights), and the
batch-1 test data sets must agree with the batch-360 run on the same images."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import numpy_helper
from sklearn.datasets import load_digits

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIGITS = os.path.join(ROOT, "tools", "digits.py")


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


class Digits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = cls.tmp.name
        cls.result = subprocess.run([sys.executable, DIGITS, "--out", cls.out, "--test-sets", "4"],
                                    capture_output=True, text=True)
        print(cls.result.stdout, end="")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)

    def test_accuracy_recomputed_from_onnxruntime_outputs(self):
        labels = load_digits().target[-360:]
        np.testing.assert_array_equal(np.load(os.path.join(self.out, "heldout", "labels.npy")), labels)
        np.testing.assert_array_equal(read_tensor(os.path.join(self.out, "heldout", "labels.pb")), labels)
        with open(os.path.join(self.out, "digits.json")) as f:
            report = json.load(f)
        for variant in ("float", "qdq"):
            logits = read_tensor(os.path.join(self.out, "heldout", variant, "output_0.pb"))
            self.assertEqual(logits.shape, (360, 10))
            accuracy = float((logits.argmax(1) == labels).mean())
            self.assertAlmostEqual(accuracy, report["accuracy"][f"onnxruntime_{variant}"])
            self.assertGreaterEqual(accuracy, 0.95, variant)

    def test_qdq_model_is_quantised(self):
        model = onnx.load(os.path.join(self.out, "digits_qdq", "model.onnx"))
        ops = [n.op_type for n in model.graph.node]
        self.assertEqual(ops.count("Conv"), 2)
        self.assertEqual(ops.count("Gemm"), 2)
        self.assertGreaterEqual(ops.count("QuantizeLinear"), 5)
        weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        for layer in ("conv1", "conv2", "fc1", "fc2"):
            self.assertEqual(weights[f"{layer}_weight_q"].dtype, np.int8)
            self.assertEqual(weights[f"{layer}_bias_q"].dtype, np.int32)

    def test_test_data_sets_match_batched_run(self):
        batched = {v: read_tensor(os.path.join(self.out, "heldout", v, "output_0.pb")) for v in ("float", "qdq")}
        images = read_tensor(os.path.join(self.out, "heldout", "input_0.pb"))
        for variant in ("float", "qdq"):
            for k in range(4):
                case = os.path.join(self.out, f"digits_{variant}", f"test_data_set_{k}")
                np.testing.assert_array_equal(read_tensor(os.path.join(case, "input_0.pb"))[0], images[k])
                single = read_tensor(os.path.join(case, "output_0.pb"))
                self.assertEqual(single.shape, (1, 10))
                np.testing.assert_allclose(single[0], batched[variant][k], rtol=1e-4, atol=1e-4)


if __name__ == "__main__":
    unittest.main()
