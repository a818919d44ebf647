#!/usr/bin/python3
"""PaddleOCR on the card: rendered text lines (DejaVuSans, tools/ocr.py) read by the
recognizer compiled for the card must decode exactly as onnxruntime's output decodes (and as
the rendered text), in fp32 and fp16; the direction classifier must tell 0 from 180 degrees.
Models: tools/ocr.py static-models (static shapes, onnxruntime 'basic' folding).
Usage: test_ocr_card.py CARDSIM_BINARY WORK_DIR [--lines N]"""
import json
import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ocr  # noqa: E402
from onnx import numpy_helper, TensorProto  # noqa: E402

CARDSIM = WORK = None
LINES = ["cardsim 2026", "Hello World"]
SLOW_LINES = ["SystemC TLM-2.0", "resnet50 int8", "Matrix unit 128x128", "0123456789"]  # each fits width 480


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def read_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


class OcrOnCard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rec = os.path.join(WORK, "rec_w480.onnx")
        cls.cls = os.path.join(WORK, "cls_w192.onnx")
        if not (os.path.exists(cls.rec) and os.path.exists(cls.cls)):
            run([sys.executable, os.path.join(ROOT, "tools", "ocr.py"), "static-models", "--out", WORK, "--rec-width", "480"])
        cls.data = os.path.join(WORK, "data")
        args = [sys.executable, os.path.join(ROOT, "tools", "ocr.py"), "render", "--out", cls.data, "--rec-width", "480"]
        for t in LINES:
            args += ["--text", t]
        run(args)
        with open(os.path.join(cls.data, "lines.json")) as f:
            cls.lines = json.load(f)["lines"]
        cls.characters = ocr.load_characters()

    def card_run(self, model, inputs, precision, tag, mode="functional"):
        out = os.path.join(WORK, "out", tag)
        run([CARDSIM, "run", model, "-c", "default", "--precision", precision, "--mode", mode, "--inputs", inputs,
             "--outputs", out, "--quiet"])
        return read_pb(os.path.join(out, "output_0.pb"))

    def ort_run(self, model, inputs, tag):
        out = os.path.join(WORK, "ort", tag)
        run(["node", os.path.join(ROOT, "tools", "ort_run.js"), model, "--inputs", inputs, "--outputs", out])
        return read_pb(os.path.join(out, "output_0.pb"))

    def check_rec(self, precision, mode):
        for line in self.lines:
            inputs = os.path.join(self.data, "rec", f"test_data_set_{line['rec_set']}")
            [(ort_text, _)] = ocr.decode_rec(self.ort_run(self.rec, inputs, f"rec{line['rec_set']}"), self.characters)
            [(card_text, conf)] = ocr.decode_rec(
                self.card_run(self.rec, inputs, precision, f"rec{line['rec_set']}_{precision}", mode), self.characters)
            print(f"rec {precision} ({mode}): rendered {line['text']!r}, onnxruntime {ort_text!r}, card {card_text!r} "
                  f"(confidence {conf:.3f})", flush=True)
            self.assertEqual(card_text, ort_text)
            self.assertEqual(card_text, line["text"])

    def test_recognizer_fp32_on_the_systemc_card(self):
        self.check_rec("fp32", "both")

    def test_recognizer_fp16(self):
        self.check_rec("fp16", "functional")

    def test_direction_classifier_fp32(self):
        for line in self.lines:
            for angle, k in line["cls_sets"].items():
                inputs = os.path.join(self.data, "cls", f"test_data_set_{k}")
                probs = self.card_run(self.cls, inputs, "fp32", f"cls{k}")
                label = ["0", "180"][int(probs.reshape(-1).argmax())]
                print(f"cls fp32: {line['text']!r} rotated {angle}: card says {label} (p {probs.max():.3f})", flush=True)
                self.assertEqual(label, angle)


if __name__ == "__main__":
    CARDSIM, WORK = sys.argv[1], sys.argv[2]
    del sys.argv[1:3]
    if "--slow" in sys.argv:
        sys.argv.remove("--slow")
        LINES = LINES + SLOW_LINES
    os.makedirs(WORK, exist_ok=True)
    unittest.main()
