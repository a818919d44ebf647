#!/usr/bin/python3
"""`cardsim check`: exit codes, the mismatch message, JUnit XML, and clear errors on bad input.

Expected values come from the ONNX suite's own output_N.pb; the mismatch cases perturb one
element of a copy with onnx's numpy_helper and check that the message names exactly that
element and both values. The JUnit report is read back with xml.etree, the way CI tools read it.
Usage: test_check.py CARDSIM_BINARY (or CARDSIM_BIN in the environment)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE = "/usr/share/libonnx-testdata/data/node"
CONV = os.path.join(NODE, "test_conv_with_strides_padding")   # x [1,1,7,5], W [1,1,3,3] -> y [1,1,4,3]
ADD = os.path.join(NODE, "test_add")                          # x, y [3,4,5] -> sum [3,4,5]
CARDSIM = None


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t), t.name


def write_pb(path, array, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def cardsim(*args):
    r = subprocess.run([CARDSIM, *args], capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout, r.stderr


class Check(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def copy_set(self, test_dir):
        d = os.path.join(self.dir, os.path.basename(test_dir))
        shutil.copytree(os.path.join(test_dir, "test_data_set_0"), d)
        return d

    def check(self, test_dir, data, *extra):
        return cardsim("check", os.path.join(test_dir, "model.onnx"), "-c", "default", "--precision", "fp32",
                       "--inputs", data, *extra)

    # ---- exit 0 ------------------------------------------------------------------------
    def test_match_exits_0_and_writes_passing_junit(self):
        data = os.path.join(CONV, "test_data_set_0")
        report = os.path.join(self.dir, "report.xml")
        rc, out, err = self.check(CONV, data, "--expected", data, "--junit", report)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("PASS", out)
        root = ET.parse(report).getroot()
        self.assertEqual(root.tag, "testsuites")
        suites = root.findall("testsuite")
        self.assertEqual(len(suites), 1)
        self.assertEqual(suites[0].get("tests"), "1")
        self.assertEqual(suites[0].get("failures"), "0")
        cases = suites[0].findall("testcase")
        self.assertEqual([c.get("name") for c in cases], ["y"])
        self.assertIsNone(cases[0].find("failure"))

    def test_cbin_is_checked_like_the_onnx(self):
        cbin = os.path.join(self.dir, "add.cbin")
        rc, out, err = cardsim("compile", os.path.join(ADD, "model.onnx"), "-c", "default", "--precision", "fp32", "-o", cbin)
        self.assertEqual(rc, 0, out + err)
        data = os.path.join(ADD, "test_data_set_0")
        rc, out, err = cardsim("check", cbin, "-c", "default", "--inputs", data, "--expected", data)
        self.assertEqual(rc, 0, out + err)

    # ---- exit 1 ------------------------------------------------------------------------
    def test_mismatch_names_output_worst_element_index_and_values(self):
        data = self.copy_set(ADD)
        y, name = read_pb(os.path.join(data, "output_0.pb"))
        true_value = float(y[2, 1, 3])
        y = y.copy()
        y[2, 1, 3] += 0.5      # the worst element
        y[0, 0, 0] += 0.01     # also beyond tolerance, but smaller
        write_pb(os.path.join(data, "output_0.pb"), y, name)
        report = os.path.join(self.dir, "report.xml")
        rc, out, err = self.check(ADD, data, "--expected", data, "--junit", report)
        self.assertEqual(rc, 1, out + err)
        line = next(l for l in out.splitlines() if l.startswith("FAIL"))
        self.assertIn(f"'{name}'", line)
        self.assertIn("2 of 60", line)
        self.assertIn("[2,1,3]", line)
        m = re.search(r"got ([-0-9.e+]+), expected ([-0-9.e+]+)", line)
        self.assertIsNotNone(m, line)
        self.assertAlmostEqual(float(m.group(1)), true_value, places=5)
        self.assertAlmostEqual(float(m.group(2)), float(y[2, 1, 3]), places=5)
        suite = ET.parse(report).getroot().find("testsuite")
        self.assertEqual(suite.get("failures"), "1")
        failure = suite.find("testcase").find("failure")
        self.assertIsNotNone(failure)
        self.assertIn("[2,1,3]", failure.get("message"))

    def test_tolerance_options_decide(self):
        data = self.copy_set(ADD)
        y, name = read_pb(os.path.join(data, "output_0.pb"))
        y = y.copy()
        y[1, 2, 3] += 0.05
        write_pb(os.path.join(data, "output_0.pb"), y, name)
        self.assertEqual(self.check(ADD, data, "--expected", data)[0], 1)
        rc, out, err = self.check(ADD, data, "--expected", data, "--atol", "0.1")
        self.assertEqual(rc, 0, out + err)

    def test_misshaped_expected_output_is_a_mismatch(self):
        data = self.copy_set(ADD)
        y, name = read_pb(os.path.join(data, "output_0.pb"))
        write_pb(os.path.join(data, "output_0.pb"), y.reshape(4, 3, 5), name)
        rc, out, err = self.check(ADD, data, "--expected", data)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("[3,4,5]", out)
        self.assertIn("[4,3,5]", out)

    # ---- exit 2 ------------------------------------------------------------------------
    def test_missing_input_tensor(self):
        data = self.copy_set(ADD)
        os.remove(os.path.join(data, "input_1.pb"))
        rc, out, err = self.check(ADD, data, "--expected", data)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("found 1 input_N.pb", err)
        self.assertIn("2 inputs", err)

    def test_misshaped_input_names_tensor_and_both_shapes(self):
        data = self.copy_set(ADD)
        x, name = read_pb(os.path.join(data, "input_1.pb"))
        write_pb(os.path.join(data, "input_1.pb"), x[:, :2, :].copy(), name)
        rc, out, err = self.check(ADD, data, "--expected", data)
        self.assertEqual(rc, 2, out + err)
        self.assertIn(f"'{name}'", err)
        self.assertIn("[3,2,5]", err)
        self.assertIn("[3,4,5]", err)

    def test_wrong_input_dtype_names_tensor_and_both_dtypes(self):
        data = self.copy_set(ADD)
        x, name = read_pb(os.path.join(data, "input_0.pb"))
        write_pb(os.path.join(data, "input_0.pb"), x.astype(np.int32), name)
        rc, out, err = self.check(ADD, data, "--expected", data)
        self.assertEqual(rc, 2, out + err)
        self.assertIn(f"'{name}'", err)
        self.assertIn("i32", err)
        self.assertIn("f32", err)

    def test_missing_expected_outputs(self):
        data = self.copy_set(ADD)
        os.remove(os.path.join(data, "output_0.pb"))
        rc, out, err = self.check(ADD, data, "--expected", data)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("output_N.pb", err)
        self.assertIn("sum", err)   # names the output it expected

    def test_usage_errors(self):
        data = os.path.join(ADD, "test_data_set_0")
        self.assertEqual(self.check(ADD, data)[0], 2)                                       # neither
        self.assertEqual(self.check(ADD, data, "--expected", data, "--reference", "onnxruntime")[0], 2)
        rc, _, err = self.check(ADD, data, "--reference", "tensorflow")
        self.assertEqual(rc, 2)
        self.assertIn("onnxruntime", err)
        rc, _, err = self.check(ADD, os.path.join(self.dir, "nowhere"), "--expected", data)
        self.assertEqual(rc, 2)
        self.assertIn("nowhere", err)

    def test_bad_model_file(self):
        bad = os.path.join(self.dir, "bad.onnx")
        with open(bad, "wb") as f:
            f.write(b"not a protobuf at all")
        data = os.path.join(ADD, "test_data_set_0")
        rc, out, err = cardsim("check", bad, "--inputs", data, "--expected", data)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("bad.onnx", err)

    # ---- --reference onnxruntime -------------------------------------------------------
    @unittest.skipUnless(os.path.isdir(os.path.join(ROOT, "tools", "node", "node_modules", "onnxruntime-node")),
                         "tools/node/node_modules not installed (run scripts/setup)")
    def test_reference_onnxruntime(self):
        data = os.path.join(CONV, "test_data_set_0")
        report = os.path.join(self.dir, "ort.xml")
        rc, out, err = self.check(CONV, data, "--reference", "onnxruntime", "--junit", report)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(ET.parse(report).getroot().find("testsuite").get("failures"), "0")


if __name__ == "__main__":
    CARDSIM = os.environ.get("CARDSIM_BIN")
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        CARDSIM = sys.argv.pop(1)
    if not CARDSIM or not os.path.exists(CARDSIM):
        sys.exit("test_check.py: give the cardsim binary as the first argument or in CARDSIM_BIN")
    unittest.main()
