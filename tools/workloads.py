#!/usr/bin/python3
"""TPU v1 study workloads (Jouppi et al., ISCA 2017, Table 1) as static-shape ONNX (opset 13).

    /usr/bin/python3 tools/workloads.py --out build/workloads [mlp0 lstm0 cnn0] [--force]

mlp0   MLP0-like: 5 fully connected layers, 2048 wide (~20M weights), batch 200, ReLU.
       ~200 MACs per weight byte: memory-bound on TPU v1 (ridge ~1350).
lstm0  LSTM0-like: 2 stacked LSTM layers, hidden 1024, 8 time steps unrolled, batch 64; every
       step multiplies [x_t, h] by the layer's gate weights again (~64 MACs per weight byte).
cnn0   CNN0-like: resnet-ish 16-conv network on 3x224x224 images, batch 8 (thousands of MACs
       per weight byte: compute-bound).

Deterministic: fixed seeds, one torch thread; the same command writes the same bytes. An
existing file is kept unless --force (the sweep's program cache keys on the file digest).
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

torch.set_num_threads(1)


class MLP(nn.Module):
    def __init__(self, width=2048, layers=5):
        super().__init__()
        self.fcs = nn.ModuleList([nn.Linear(width, width) for _ in range(layers)])

    def forward(self, x):
        for fc in self.fcs:
            x = torch.relu(fc(x))
        return x


class UnrolledLSTM(nn.Module):
    """LSTM cells written out as matmuls so the export is a static chain of MatMul/Add/
    Sigmoid/Tanh/Mul per time step (no ONNX LSTM op): the weight-bound shape of LSTM0."""

    def __init__(self, hidden=1024, layers=2, steps=8):
        super().__init__()
        self.hidden, self.steps = hidden, steps
        self.wx = nn.ModuleList([nn.Linear(hidden, 4 * hidden) for _ in range(layers)])
        self.wh = nn.ModuleList([nn.Linear(hidden, 4 * hidden, bias=False) for _ in range(layers)])

    def forward(self, x):  # x: [steps, batch, hidden]
        seq = [x[t] for t in range(self.steps)]
        H = self.hidden
        for wx, wh in zip(self.wx, self.wh):
            h = torch.zeros_like(seq[0])
            c = torch.zeros_like(seq[0])
            out = []
            for t in range(self.steps):
                g = wx(seq[t]) + wh(h)
                i = torch.sigmoid(g[:, 0:H])
                f = torch.sigmoid(g[:, H:2 * H])
                u = torch.tanh(g[:, 2 * H:3 * H])
                o = torch.sigmoid(g[:, 3 * H:4 * H])
                c = f * c + i * u
                h = o * torch.tanh(c)
                out.append(h)
            seq = out
        return seq[-1]


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1, stride) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        y = self.c2(torch.relu(self.c1(x)))
        return torch.relu(y + (self.skip(x) if self.skip is not None else x))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 7, 2, 3)
        chans = [(64, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)]
        self.blocks = nn.Sequential(*[Block(a, b, s) for a, b, s in chans])
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.stem(x)), 3, 2, 1)
        x = self.blocks(x)
        x = torch.flatten(torch.mean(x, dim=(2, 3), keepdim=True), 1)
        return self.fc(x)


WORKLOADS = {
    "mlp0": (lambda: MLP(), lambda: torch.randn(200, 2048)),
    "lstm0": (lambda: UnrolledLSTM(), lambda: torch.randn(8, 64, 1024)),
    "cnn0": (lambda: CNN(), lambda: torch.randn(8, 3, 224, 224)),
}


def export(name, path):
    torch.manual_seed(1234)
    make_model, make_input = WORKLOADS[name]
    model = make_model().eval()
    x = make_input()
    with torch.no_grad():
        torch.onnx.export(model, (x,), path, opset_version=13, input_names=["input"], output_names=["output"],
                          do_constant_folding=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (NAME.onnx per workload)")
    ap.add_argument("--force", action="store_true", help="re-export existing files")
    ap.add_argument("names", nargs="*", help="workloads (default: all): " + ", ".join(WORKLOADS))
    a = ap.parse_args()
    names = a.names or list(WORKLOADS)
    for n in names:
        if n not in WORKLOADS:
            print(f"workloads.py: unknown workload '{n}' (known: {', '.join(WORKLOADS)})", file=sys.stderr)
            return 2
    os.makedirs(a.out, exist_ok=True)
    for n in names:
        path = os.path.join(a.out, n + ".onnx")
        if os.path.exists(path) and os.path.getsize(path) > 0 and not a.force:
            print(f"{path}: exists")
            continue
        tmp = path + ".tmp"
        export(n, tmp)
        os.replace(tmp, path)
        print(f"{path}: {os.path.getsize(path)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
