#!/usr/bin/python3
"""tools/trace_check.py accepts well-formed traces and rejects each kind of defect with a
message that names the place. data/systemc_wave.vcd was written by SystemC 2.3.4's own VCD
tracer (sc_create_vcd_trace_file, source data/systemc_wave.cpp), so the VCD reader is checked against a real producer."""
import copy
import json
import os
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import trace_check  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

CHROME = {"traceEvents": [
    {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "card"}},
    {"ph": "X", "name": "conv1", "pid": 1, "tid": 1, "ts": 0, "dur": 10},
    {"ph": "X", "name": "tile0", "pid": 1, "tid": 1, "ts": 0, "dur": 4},
    {"ph": "X", "name": "tile1", "pid": 1, "tid": 1, "ts": 4, "dur": 6},
    {"ph": "X", "name": "dma", "pid": 1, "tid": 2, "ts": 2, "dur": 20},
    {"ph": "B", "name": "host", "pid": 0, "tid": 0, "ts": 0},
    {"ph": "E", "pid": 0, "tid": 0, "ts": 30},
    {"ph": "C", "name": "dram_bw", "pid": 1, "ts": 5, "args": {"GBps": 12.5}},
    {"ph": "i", "name": "irq", "pid": 1, "tid": 1, "ts": 25, "s": "t"},
], "displayTimeUnit": "ns"}

SPEEDSCOPE = {
    "$schema": "https://www.speedscope.app/file-format-schema.json",
    "shared": {"frames": [{"name": "layer1"}, {"name": "conv"}]},
    "profiles": [
        {"type": "evented", "name": "matrix unit", "unit": "nanoseconds", "startValue": 0, "endValue": 10,
         "events": [{"type": "O", "frame": 0, "at": 0}, {"type": "O", "frame": 1, "at": 1},
                    {"type": "C", "frame": 1, "at": 5}, {"type": "C", "frame": 0, "at": 10}]},
        {"type": "sampled", "name": "host", "unit": "none", "startValue": 0, "endValue": 2,
         "samples": [[0], [0, 1]], "weights": [1, 1]},
    ],
}


def check_json(document):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(document, f)
    try:
        return trace_check.check_file(f.name)
    finally:
        os.unlink(f.name)


def check_text(text):
    with tempfile.NamedTemporaryFile("w", suffix=".vcd", delete=False) as f:
        f.write(text)
    try:
        return trace_check.check_file(f.name)
    finally:
        os.unlink(f.name)


class Chrome(unittest.TestCase):
    def test_valid(self):
        summary = check_json(CHROME)
        self.assertEqual((summary["format"], summary["events"], summary["tracks"]), ("chrome", 9, 3))
        self.assertEqual((summary["ts_min"], summary["ts_max"]), (0, 30))
        self.assertEqual(check_json(CHROME["traceEvents"])["events"], 9)  # bare array form

    def broken(self, index, **changes):
        document = copy.deepcopy(CHROME)
        if index is None:
            document["traceEvents"].append(changes)
        else:
            document["traceEvents"][index].update(changes)
        with self.assertRaises(trace_check.TraceError) as caught:
            check_json(document)
        return str(caught.exception)

    def test_defects(self):
        self.assertIn("partially overlaps event 1", self.broken(3, dur=7))
        self.assertIn("'dur' must be a number >= 0", self.broken(2, dur=-1))
        self.assertIn("'ts' must be a number", self.broken(4, ts="2"))
        self.assertIn("with no open B", self.broken(6, tid=5))
        self.assertIn("counter needs 'args'", self.broken(7, args={"GBps": "fast"}))
        self.assertIn("unknown phase", self.broken(8, ph="Q"))
        self.assertIn("never ended", self.broken(None, ph="B", name="open", pid=3, tid=3, ts=1))


class Speedscope(unittest.TestCase):
    def test_valid(self):
        summary = check_json(SPEEDSCOPE)
        self.assertEqual((summary["format"], summary["profiles"], summary["frames"], summary["events"]),
                         ("speedscope", 2, 2, 6))

    def broken(self, mutate):
        document = copy.deepcopy(SPEEDSCOPE)
        mutate(document)
        with self.assertRaises(trace_check.TraceError) as caught:
            check_json(document)
        return str(caught.exception)

    def test_schema_defects(self):
        self.assertIn("missing required field 'shared'", self.broken(lambda d: d.pop("shared")))
        self.assertIn(".unit", self.broken(lambda d: d["profiles"][0].update(unit="furlongs")))
        self.assertIn("profiles[1]", self.broken(lambda d: d["profiles"][1].update(weights="heavy")))

    def test_semantic_defects(self):
        events = lambda d: d["profiles"][0]["events"]  # noqa: E731
        self.assertIn("closes frame 0 but the open frame is 1",
                      self.broken(lambda d: events(d).__setitem__(2, {"type": "C", "frame": 0, "at": 5})))
        self.assertIn("must not go back", self.broken(lambda d: events(d)[2].update(at=0.5)))
        self.assertIn("frame 7 out of range", self.broken(lambda d: events(d)[1].update(frame=7)))
        self.assertIn("still open", self.broken(lambda d: events(d).pop()))
        self.assertIn("2 samples but 1 weights", self.broken(lambda d: d["profiles"][1]["weights"].pop()))


class Vcd(unittest.TestCase):
    def test_systemc_output(self):
        summary = trace_check.check_file(os.path.join(HERE, "data", "systemc_wave.vcd"))
        # 4 signals; 1 ns + 5 x 2 ns = 11 ns = #110 at 100 ps (data/systemc_wave.cpp).
        self.assertEqual((summary["timescale"], summary["signals"], summary["end_time"]), ("100ps", 4, 110))

    HEADER = "$timescale 1ns $end\n$scope module top $end\n$var wire 1 ! clk $end\n" \
             "$var wire 4 # bus $end\n$upscope $end\n$enddefinitions $end\n"

    def test_defects(self):
        self.assertEqual(check_text(self.HEADER + "#0\n0!\nb0000 #\n#5\n1!\nb1010 #\n")["changes"], 4)
        cases = {
            "#5\n1!\n#5\n0!\n": "does not increase",
            "#0\n1?\n": "identifier '?' was not declared",
            "#0\nb10101 #\n": "5-bit value for 4-bit",
            "#0\n1#\n": "scalar value for 4-bit",
            "#0\nb102 #\n": "not a binary vector value",
        }
        for body, message in cases.items():
            with self.subTest(body=body), self.assertRaises(trace_check.TraceError) as caught:
                check_text(self.HEADER + body)
            self.assertIn(message, str(caught.exception))
        with self.assertRaises(trace_check.TraceError) as caught:
            check_text(self.HEADER.replace("$upscope $end\n", ""))
        self.assertIn("not closed by $upscope", str(caught.exception))
        with self.assertRaises(trace_check.TraceError) as caught:
            check_text(self.HEADER.replace("$timescale 1ns $end\n", ""))
        self.assertIn("no $timescale", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
