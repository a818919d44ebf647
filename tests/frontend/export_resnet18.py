#!/usr/bin/python3
"""Exports a random-weight torchvision resnet18 (weights=None, seed 0, opset 13, eval mode,
BN folded by torch) for the frontend tests.

usage: export_resnet18.py OUT_DIR
writes OUT_DIR/resnet18.onnx (static 1x3x224x224 input), OUT_DIR/resnet18_dynamic.onnx
(batch dim exported as the symbolic 'batch') and OUT_DIR/external/resnet18.onnx with every
weight in OUT_DIR/external/weights.bin (ONNX external data, written by the onnx package).
OUT_DIR/tiny/ holds a small dynamic-batch network full of PyTorch shape plumbing
(interpolate, view(x.size(0), -1), slicing by a computed size, LayerNorm) with a batch-2
input and torch's output as ONNX test data. Skips files that already exist.
"""
import os
import sys
import warnings

import torch
import torchvision


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    example = torch.randn(1, 3, 224, 224)
    for name, dynamic in (("resnet18.onnx", None), ("resnet18_dynamic.onnx", {"input": {0: "batch"}, "logits": {0: "batch"}})):
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            continue
        tmp = "%s.tmp%d" % (path, os.getpid())  # concurrent test processes may export at once
        torch.onnx.export(model, example, tmp, opset_version=13, input_names=["input"], output_names=["logits"],
                          do_constant_folding=True, dynamic_axes=dynamic,
                          training=torch.onnx.TrainingMode.EVAL)
        os.replace(tmp, path)

    external_dir = os.path.join(out_dir, "external")
    if not os.path.exists(external_dir):
        # onnx appends to the weights file, so build the folder aside and rename it into place.
        import onnx
        import shutil
        tmp_dir = "%s.tmp%d" % (external_dir, os.getpid())
        shutil.rmtree(tmp_dir, ignore_errors=True)
        os.makedirs(tmp_dir)
        model_proto = onnx.load(os.path.join(out_dir, "resnet18.onnx"))
        onnx.save_model(model_proto, os.path.join(tmp_dir, "resnet18.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
        try:
            os.rename(tmp_dir, external_dir)
        except OSError:  # another test process finished first
            shutil.rmtree(tmp_dir, ignore_errors=True)
    export_tiny(out_dir)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8 * 8 * 8, 10)
        self.norm = torch.nn.LayerNorm(10)

    def forward(self, x):
        y = torch.nn.functional.relu(self.conv(x))
        y = torch.nn.functional.interpolate(y, scale_factor=2, mode="nearest")
        y = torch.nn.functional.max_pool2d(y, 4)
        y = y.view(y.size(0), -1)
        y = self.norm(self.fc(y))
        half = y.shape[1] // 2
        return torch.cat([y[:, :half] * 2, y[:, half:]], 1).softmax(-1)


def export_tiny(out_dir):
    import onnx
    from onnx import numpy_helper
    tiny_dir = os.path.join(out_dir, "tiny")
    if os.path.exists(tiny_dir):
        return
    tmp_dir = "%s.tmp%d" % (tiny_dir, os.getpid())
    os.makedirs(os.path.join(tmp_dir, "test_data_set_0"))
    torch.manual_seed(0)
    model = Tiny().eval()
    x = torch.randn(2, 3, 16, 16)
    torch.onnx.export(model, x[:1], os.path.join(tmp_dir, "model.onnx"), opset_version=13, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "b"}, "y": {0: "b"}})
    with torch.no_grad():
        y = model(x)
    for name, value, file in (("x", x, "input_0.pb"), ("y", y, "output_0.pb")):
        with open(os.path.join(tmp_dir, "test_data_set_0", file), "wb") as f:
            f.write(numpy_helper.from_array(value.numpy(), name=name).SerializeToString())
    try:
        os.rename(tmp_dir, tiny_dir)
    except OSError:  # another test process finished first
        import shutil
        shutil.rmtree(tmp_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
