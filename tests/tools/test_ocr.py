#!/usr/bin/python3
"""OCR round trip: rendered text lines read back exactly by the PaddleOCR recognizer on
onnxruntime-node, the direction classifier tells 0 from 180 degrees, and the CTC decoder
behaves on hand-made probabilities."""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import ocr  # noqa: E402


class CtcDecoding(unittest.TestCase):
    def test_greedy_ctc_merges_repeats_and_drops_blanks(self):
        characters = ["<blank>", "a", "b", " "]
        # time steps: a a blank a b b space -> "aab "
        steps = [1, 1, 0, 1, 2, 2, 3]
        peaks = [0.9, 0.8, 0.97, 0.6, 0.7, 0.5, 0.95]
        probabilities = np.full((1, len(steps), 4), 0.01, dtype=np.float32)
        probabilities[0, np.arange(len(steps)), steps] = peaks
        [(text, confidence)] = ocr.decode_rec(probabilities, characters)
        self.assertEqual(text, "aab ")
        # Confidence: mean over the kept steps 0, 3, 4, 6 (as PaddleOCR's CTCLabelDecode).
        self.assertAlmostEqual(confidence, (0.9 + 0.6 + 0.7 + 0.95) / 4, places=6)

    def test_dictionary_matches_recognizer_classes(self):
        characters = ocr.load_characters()
        self.assertEqual(len(characters), 6625)  # blank + 6623 + space: the model's class count
        self.assertEqual(characters[-1], " ")

    def test_preprocessing_shapes(self):
        image = ocr.render_line("cardsim 2026")
        w, h = image.size
        rec = ocr.rec_input(image)
        self.assertEqual(rec.shape[:3], (1, 3, 48))
        self.assertEqual(rec.shape[3], int(48 * max(320 / 48, w / h)))
        self.assertLessEqual(rec.max(), 1.0)
        self.assertGreaterEqual(rec.min(), -1.0)
        self.assertEqual(ocr.cls_input(image).shape, (1, 3, 48, 192))


class RoundTrip(unittest.TestCase):
    def test_verify_reads_every_line(self):
        with tempfile.TemporaryDirectory() as out:
            texts = ["cardsim 2026", "Hello World", "SystemC TLM-2.0"]
            args = [sys.executable, os.path.join(ROOT, "tools", "ocr.py"), "verify", "--out", out]
            for t in texts:
                args += ["--text", t]
            result = subprocess.run(args, capture_output=True, text=True)
            print(result.stdout, end="")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(result.stdout.count("rec ok"), 3)
            self.assertEqual(result.stdout.count("cls ok"), 6)
            decoded = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "ocr.py"), "decode-rec",
                                      os.path.join(out, "rec", "test_data_set_0", "output_0.pb")],
                                     capture_output=True, text=True)
            self.assertEqual(decoded.stdout.split("\t")[0], "cardsim 2026")

    def test_static_folded_models_read_padded_lines(self):
        with tempfile.TemporaryDirectory() as out:
            args = [sys.executable, os.path.join(ROOT, "tools", "ocr.py"), "verify", "--out", out,
                    "--rec-width", "480", "--text", "cardsim 2026", "--text", "Matrix unit 128x128"]
            result = subprocess.run(args, capture_output=True, text=True)
            print(result.stdout, end="")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            import onnx
            rec = onnx.load(os.path.join(out, "models", "rec_w480.onnx"))
            dims = [d.dim_value for d in rec.graph.input[0].type.tensor_type.shape.dim]
            self.assertEqual(dims, [1, 3, 48, 480])
            ops = {n.op_type for n in rec.graph.node}
            self.assertFalse(ops & {"Shape", "Cast", "BatchNormalization"}, ops)
            too_narrow = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "ocr.py"), "render", "--out", out,
                                         "--rec-width", "320", "--text", "a rather long line of text"],
                                        capture_output=True, text=True)
            self.assertEqual(too_narrow.returncode, 1)
            self.assertIn("> --rec-width 320", too_narrow.stderr)


if __name__ == "__main__":
    unittest.main()
