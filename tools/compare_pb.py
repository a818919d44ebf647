#!/usr/bin/python3
"""Compare two directories of ONNX test-data tensors (output_N.pb) element-wise.

usage: compare_pb.py EXPECTED_DIR ACTUAL_DIR [--prefix output] [--rtol R] [--atol A]

Reads EXPECTED_DIR/<prefix>_N.pb for N = 0, 1, ... and the same names in ACTUAL_DIR with
onnx.numpy_helper (an implementation independent of tools/tensor_proto.js), checks dtype,
shape and values (np.allclose; exact for integer/bool/string), prints one line per tensor and
exits 1 on any mismatch, 2 on a usage or file error.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def load_tensor(path):
    tensor = onnx.TensorProto()
    try:
        with open(path, "rb") as f:
            tensor.ParseFromString(f.read())
    except OSError as e:
        raise SystemExit(f"compare_pb: {path}: {e.strerror}") from None
    except Exception as e:  # protobuf DecodeError
        raise SystemExit(f"compare_pb: {path}: not a TensorProto ({e})") from None
    return tensor.name, numpy_helper.to_array(tensor)


def compare(expected, actual, rtol, atol):
    """Returns (ok, detail)."""
    if expected.dtype != actual.dtype:
        return False, f"dtype {actual.dtype} != expected {expected.dtype}"
    if expected.shape != actual.shape:
        return False, f"shape {actual.shape} != expected {expected.shape}"
    if expected.size == 0:
        return True, "empty"
    if expected.dtype.kind in "fc":
        diff = np.abs(expected.astype(np.complex128 if expected.dtype.kind == "c" else np.float64)
                      - actual.astype(np.complex128 if actual.dtype.kind == "c" else np.float64))
        same_nan = np.isnan(expected) == np.isnan(actual)
        finite = ~np.isnan(expected)
        max_abs = float(np.max(diff[finite])) if finite.any() else 0.0
        ok = bool(same_nan.all()) and np.allclose(actual[finite], expected[finite], rtol=rtol, atol=atol)
        return ok, f"max_abs_diff {max_abs:.3g}"
    mismatches = int(np.count_nonzero(expected != actual))
    return mismatches == 0, f"{mismatches} mismatching elements"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expected_dir")
    parser.add_argument("actual_dir")
    parser.add_argument("--prefix", default="output")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args(argv)

    count = 0
    all_ok = True
    while os.path.exists(os.path.join(args.expected_dir, f"{args.prefix}_{count}.pb")):
        name = f"{args.prefix}_{count}.pb"
        actual_path = os.path.join(args.actual_dir, name)
        if not os.path.exists(actual_path):
            print(f"{name}: MISSING in {args.actual_dir}")
            all_ok = False
        else:
            exp_name, expected = load_tensor(os.path.join(args.expected_dir, name))
            _, actual = load_tensor(actual_path)
            ok, detail = compare(expected, actual, args.rtol, args.atol)
            all_ok &= ok
            print(f"{name} ({exp_name or '?'}): {'ok' if ok else 'MISMATCH'} {detail}")
        count += 1
    if count == 0:
        print(f"compare_pb: no {args.prefix}_N.pb in {args.expected_dir}", file=sys.stderr)
        return 2
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
