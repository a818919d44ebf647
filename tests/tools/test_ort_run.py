#!/usr/bin/python3
"""Smoke tests of tools/ort_run.js and its TensorProto codec (tools/tensor_proto.js).

The expected values come from independent sources: the ONNX conformance suite's recorded
outputs (libonnx-testdata) and onnx's own Python TensorProto code (numpy_helper)."""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORT_RUN = os.path.join(ROOT, "tools", "ort_run.js")
COMPARE = os.path.join(ROOT, "tools", "compare_pb.py")
NODE_TESTS = "/usr/share/libonnx-testdata/data/node"

# Conformance cases covering float/int64/uint8/int8/float16/bool tensors, several inputs,
# quantised operators and shape-only outputs.
CONFORMANCE_CASES = [
    "test_conv_with_strides_padding", "test_gemm_default_matrix_bias", "test_matmul_2d",
    "test_maxpool_2d_pads", "test_softmax_axis_1", "test_argmax_default_axis_random",
    "test_cast_FLOAT_to_FLOAT16", "test_qlinearconv", "test_qlinearmatmul_3D",
    "test_quantizelinear_axis", "test_dequantizelinear", "test_equal", "test_where_example",
    "test_shape",
]


def run(*args):
    return subprocess.run(["node", ORT_RUN, *args], capture_output=True, text=True)


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


class ConformanceOutputs(unittest.TestCase):
    def test_reproduces_recorded_outputs(self):
        for case in CONFORMANCE_CASES:
            with self.subTest(case=case), tempfile.TemporaryDirectory() as out:
                model = os.path.join(NODE_TESTS, case, "model.onnx")
                data = os.path.join(NODE_TESTS, case, "test_data_set_0")
                result = run(model, "--inputs", data, "--outputs", out)
                self.assertEqual(result.returncode, 0, result.stderr)
                cmp = subprocess.run([sys.executable, COMPARE, data, out], capture_output=True, text=True)
                self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)
                # Output names follow the graph's output names.
                graph_outputs = [o.name for o in onnx.load(model).graph.output]
                for i, name in enumerate(graph_outputs):
                    self.assertEqual(read_tensor(os.path.join(out, f"output_{i}.pb")).name, name)

    def test_data_sets_mode_matches(self):
        case = "test_gemm_default_matrix_bias"
        with tempfile.TemporaryDirectory() as root:
            for k in range(2):
                os.makedirs(os.path.join(root, f"test_data_set_{k}"))
                for i in range(3):
                    src = os.path.join(NODE_TESTS, case, "test_data_set_0", f"input_{i}.pb")
                    with open(src, "rb") as f, open(os.path.join(root, f"test_data_set_{k}", f"input_{i}.pb"), "wb") as g:
                        g.write(f.read())
            result = run(os.path.join(NODE_TESTS, case, "model.onnx"), "--data-sets", root)
            self.assertEqual(result.returncode, 0, result.stderr)
            for k in range(2):
                cmp = subprocess.run([sys.executable, COMPARE, os.path.join(NODE_TESTS, case, "test_data_set_0"),
                                      os.path.join(root, f"test_data_set_{k}")], capture_output=True, text=True)
                self.assertEqual(cmp.returncode, 0, cmp.stdout)


class TypedFieldsRoundTrip(unittest.TestCase):
    """Inputs stored in the typed fields (float_data, int32_data, int64_data, double_data,
    uint64_data; not raw_data) pass through an Identity model unchanged."""

    TYPES = [
        (TensorProto.FLOAT, np.float32, [1.5, -2.25, 3.0e-7, 1e30]),
        (TensorProto.DOUBLE, np.float64, [1.0 / 3.0, -2.0, 1e-300, 7.0]),
        (TensorProto.INT8, np.int8, [-128, -1, 0, 127]),
        (TensorProto.UINT8, np.uint8, [0, 1, 200, 255]),
        (TensorProto.INT16, np.int16, [-32768, -5, 6, 32767]),
        (TensorProto.INT32, np.int32, [-2**31, -1, 7, 2**31 - 1]),
        (TensorProto.INT64, np.int64, [-2**63, -1, 2**53 + 1, 2**63 - 1]),
        (TensorProto.UINT64, np.uint64, [0, 1, 2**53 + 1, 2**64 - 1]),
        (TensorProto.BOOL, np.bool_, [True, False, False, True]),
        (TensorProto.FLOAT16, np.float16, [0.5, -1.0, 65504.0, 6.1e-5]),
    ]

    def test_identity_typed_fields(self):
        inputs, outputs, nodes = [], [], []
        for i, (elem, _, _) in enumerate(self.TYPES):
            inputs.append(helper.make_tensor_value_info(f"in{i}", elem, [2, 2]))
            outputs.append(helper.make_tensor_value_info(f"out{i}", elem, [2, 2]))
            nodes.append(helper.make_node("Identity", [f"in{i}"], [f"out{i}"]))
        model = helper.make_model(helper.make_graph(nodes, "identity", inputs, outputs),
                                  opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 7
        with tempfile.TemporaryDirectory() as tmp:
            model_path = os.path.join(tmp, "model.onnx")
            onnx.save(model, model_path)
            for i, (elem, dtype, values) in enumerate(self.TYPES):
                array = np.array(values, dtype=dtype).reshape(2, 2)
                # make_tensor stores float16 as its bit pattern in int32_data, like onnx itself.
                tensor = helper.make_tensor(f"in{i}", elem, [2, 2], array.flatten().tolist())
                self.assertFalse(tensor.HasField("raw_data"))
                with open(os.path.join(tmp, f"input_{i}.pb"), "wb") as f:
                    f.write(tensor.SerializeToString())
            result = run(model_path, "--inputs", tmp, "--outputs", os.path.join(tmp, "out"))
            self.assertEqual(result.returncode, 0, result.stderr)
            for i, (elem, dtype, values) in enumerate(self.TYPES):
                with self.subTest(dtype=np.dtype(dtype).name):
                    t = read_tensor(os.path.join(tmp, "out", f"output_{i}.pb"))
                    self.assertEqual(t.data_type, elem)
                    self.assertEqual(list(t.dims), [2, 2])
                    got = numpy_helper.to_array(t)
                    np.testing.assert_array_equal(got, np.array(values, dtype=dtype).reshape(2, 2))


class SeededInputsAndTiming(unittest.TestCase):
    MODEL = os.path.join(NODE_TESTS, "test_conv_with_strides_padding", "model.onnx")

    def test_seed_inputs_are_deterministic_and_shaped(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b, \
                tempfile.TemporaryDirectory() as c:
            for d, seed in ((a, "7"), (b, "7"), (c, "8")):
                result = run(self.MODEL, "--seed-inputs", d, "--seed", seed)
                self.assertEqual(result.returncode, 0, result.stderr)
            model = onnx.load(self.MODEL)
            for i, graph_input in enumerate(model.graph.input):
                with open(os.path.join(a, f"input_{i}.pb"), "rb") as f1, open(os.path.join(b, f"input_{i}.pb"), "rb") as f2:
                    self.assertEqual(f1.read(), f2.read())
                array = numpy_helper.to_array(read_tensor(os.path.join(a, f"input_{i}.pb")))
                other = numpy_helper.to_array(read_tensor(os.path.join(c, f"input_{i}.pb")))
                expected = [d.dim_value for d in graph_input.type.tensor_type.shape.dim]
                self.assertEqual(list(array.shape), expected)
                self.assertTrue(np.all(array >= -1) and np.all(array < 1))
                self.assertFalse(np.array_equal(array, other))

    def test_time_prints_median(self):
        result = run(self.MODEL, "--time", "5", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        import json
        report = json.loads(result.stdout)
        self.assertEqual(report["runs"], 5)
        self.assertTrue(report["min_ms"] <= report["median_ms"] <= report["max_ms"])


class Fold(unittest.TestCase):
    def test_fold_removes_constant_and_shape_arithmetic(self):
        # y = Reshape(x + a*b, Shape(x)): a*b and Shape(x) are constant for a static input.
        a = numpy_helper.from_array(np.array([1.5, -2.0, 0.25], dtype=np.float32), "a")
        b = numpy_helper.from_array(np.array([2.0, 3.0, 4.0], dtype=np.float32), "b")
        nodes = [helper.make_node("Mul", ["a", "b"], ["ab"]), helper.make_node("Add", ["x", "ab"], ["s"]),
                 helper.make_node("Shape", ["x"], ["shape"]), helper.make_node("Reshape", ["s", "shape"], ["y"])]
        graph = helper.make_graph(nodes, "fold", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], [a, b])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 7
        with tempfile.TemporaryDirectory() as tmp:
            onnx.save(model, os.path.join(tmp, "model.onnx"))
            result = run(os.path.join(tmp, "model.onnx"), "--fold", os.path.join(tmp, "folded.onnx"))
            self.assertEqual(result.returncode, 0, result.stderr)
            folded = onnx.load(os.path.join(tmp, "folded.onnx"))
            ops = [n.op_type for n in folded.graph.node]
            self.assertNotIn("Mul", ops)
            self.assertNotIn("Shape", ops)
            self.assertTrue(all(n.domain in ("", "ai.onnx") for n in folded.graph.node))
            x = np.arange(6, dtype=np.float32).reshape(2, 3)
            with open(os.path.join(tmp, "input_0.pb"), "wb") as f:
                f.write(numpy_helper.from_array(x, "x").SerializeToString())
            result = run(os.path.join(tmp, "folded.onnx"), "--inputs", tmp, "--outputs", tmp)
            self.assertEqual(result.returncode, 0, result.stderr)
            y = numpy_helper.to_array(read_tensor(os.path.join(tmp, "output_0.pb")))
            np.testing.assert_allclose(y, x + np.array([3.0, -6.0, 1.0], dtype=np.float32))


class Errors(unittest.TestCase):
    CASE = os.path.join(NODE_TESTS, "test_conv_with_strides_padding")

    def test_missing_input_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            result = run(os.path.join(self.CASE, "model.onnx"), "--inputs", tmp, "--outputs", tmp)
            self.assertEqual(result.returncode, 1)
            self.assertIn("input_0.pb: missing", result.stderr)

    def test_truncated_tensor(self):
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(2):
                with open(os.path.join(self.CASE, "test_data_set_0", f"input_{i}.pb"), "rb") as f:
                    data = f.read()
                with open(os.path.join(tmp, f"input_{i}.pb"), "wb") as f:
                    f.write(data[: len(data) - 10] if i == 0 else data)
            result = run(os.path.join(self.CASE, "model.onnx"), "--inputs", tmp, "--outputs", tmp)
            self.assertEqual(result.returncode, 1)
            self.assertIn("input_0.pb", result.stderr)
            self.assertIn("byte", result.stderr)

    def test_wrong_shape(self):
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(2):
                array = numpy_helper.to_array(read_tensor(os.path.join(self.CASE, "test_data_set_0", f"input_{i}.pb")))
                if i == 0:
                    array = array.reshape(1, 1, 5, 7)
                with open(os.path.join(tmp, f"input_{i}.pb"), "wb") as f:
                    f.write(numpy_helper.from_array(array).SerializeToString())
            result = run(os.path.join(self.CASE, "model.onnx"), "--inputs", tmp, "--outputs", tmp)
            self.assertEqual(result.returncode, 1)
            self.assertIn("dims [1,1,5,7]", result.stderr)

    def test_not_a_model_and_bad_usage(self):
        with tempfile.NamedTemporaryFile(suffix=".onnx") as f:
            f.write(b"not an onnx model")
            f.flush()
            result = run(f.name, "--info")
            self.assertEqual(result.returncode, 1)
            self.assertIn("cannot load the model", result.stderr)
        result = run(os.path.join(self.CASE, "model.onnx"), "--time", "zero")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--time expects a positive integer", result.stderr)


if __name__ == "__main__":
    unittest.main()
