#!/usr/bin/python3
"""Validate trace files the way their viewers will read them, and summarise them.

usage: trace_check.py [--format auto|chrome|speedscope|vcd] [--json] FILE...

Formats (auto-detected from content):
  chrome      Chrome/Perfetto trace-event JSON (array, or object with "traceEvents"): every
              event has ph; ts/pid/tid where the phase needs them; X has dur >= 0; B/E balance
              per thread; slices on one thread nest (no partial overlap - Perfetto and
              chrome://tracing draw those wrongly); counters carry numeric args.
  speedscope  speedscope file format: validated against the JSON schema shipped in the pinned
              speedscope package (node/node_modules/speedscope/dist/release/file-format-schema.json)
              plus its semantics: frame indices in range, evented profiles open/close in stack
              order with non-decreasing "at" inside [startValue, endValue], sampled profiles
              have one weight per sample.
  vcd         Value Change Dump (IEEE 1364): header sections closed, $timescale present,
              identifiers declared before use, times strictly increasing, values well formed.
Prints one summary line per file (or JSON with --json); exit 1 on the first problem in any
file, naming the file, event index / line, and what was expected.
"""
import argparse
import json
import os
import re
import sys

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
SPEEDSCOPE_SCHEMA = os.path.join(TOOLS_DIR, "node", "node_modules", "speedscope", "dist", "release",
                                 "file-format-schema.json")


class TraceError(Exception):
    pass


# ---------------------------------------------------------------- Chrome / Perfetto JSON
PHASES_NEEDING_TS = set("BEXiIbenstfCPONDR")


def check_chrome(events, where):
    if not isinstance(events, list):
        raise TraceError(f"{where}: traceEvents must be an array")
    open_slices = {}   # (pid, tid) -> stack of (name, ts, index) for B/E
    complete = {}      # (pid, tid) -> [(ts, end, index)] for X
    tracks, names, t_min, t_max = set(), set(), None, None
    for i, event in enumerate(events):
        at = f"{where}: event {i}"
        if not isinstance(event, dict):
            raise TraceError(f"{at}: expected an object, got {type(event).__name__}")
        phase = event.get("ph")
        if not isinstance(phase, str) or len(phase) != 1:
            raise TraceError(f"{at}: 'ph' must be a one-letter phase, got {phase!r}")
        if phase == "M":
            if "name" not in event:
                raise TraceError(f"{at}: metadata event without 'name'")
            continue
        if phase in PHASES_NEEDING_TS:
            ts = event.get("ts")
            if not isinstance(ts, (int, float)) or isinstance(ts, bool):
                raise TraceError(f"{at} (ph {phase}): 'ts' must be a number, got {ts!r}")
            for key in ("pid", "tid"):
                if key in event and not isinstance(event[key], (int, str)):
                    raise TraceError(f"{at}: '{key}' must be an integer or string, got {event[key]!r}")
            t_min = ts if t_min is None else min(t_min, ts)
            t_max = ts if t_max is None else max(t_max, ts)
        else:
            raise TraceError(f"{at}: unknown phase {phase!r}")
        track = (event.get("pid"), event.get("tid"))
        if phase in "BEX":
            tracks.add(track)
        if "name" in event:
            names.add(event["name"])
        if phase == "X":
            dur = event.get("dur")
            if not isinstance(dur, (int, float)) or isinstance(dur, bool) or dur < 0:
                raise TraceError(f"{at} (X '{event.get('name')}'): 'dur' must be a number >= 0, got {dur!r}")
            complete.setdefault(track, []).append((ts, ts + dur, i))
            t_max = max(t_max, ts + dur)
        elif phase == "B":
            if "name" not in event:
                raise TraceError(f"{at}: B event without 'name'")
            open_slices.setdefault(track, []).append((event["name"], ts, i))
        elif phase == "E":
            stack = open_slices.get(track)
            if not stack:
                raise TraceError(f"{at}: E event on pid {track[0]} tid {track[1]} with no open B")
            name, begin, begin_index = stack.pop()
            if "name" in event and event["name"] != name:
                raise TraceError(f"{at}: E '{event['name']}' closes B '{name}' (event {begin_index})")
            if ts < begin:
                raise TraceError(f"{at}: E at ts {ts} before its B at {begin} (event {begin_index})")
        elif phase == "C":
            args = event.get("args")
            if not isinstance(args, dict) or not args or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in args.values()):
                raise TraceError(f"{at}: counter needs 'args' with numeric values, got {args!r}")
        elif phase in "ben":
            if "id" not in event and "id2" not in event:
                raise TraceError(f"{at}: async event '{phase}' needs 'id' or 'id2'")
        elif phase in "iI":
            if event.get("s", "t") not in ("g", "p", "t"):
                raise TraceError(f"{at}: instant scope 's' must be g, p or t, got {event.get('s')!r}")
    for track, stack in open_slices.items():
        if stack:
            name, _, index = stack[-1]
            raise TraceError(f"{where}: B '{name}' (event {index}) on pid {track[0]} tid {track[1]} never ended")
    for track, slices in complete.items():
        # Sort by start, longer first: a parent must fully contain every slice that starts inside it.
        parents = []
        for start, end, index in sorted(slices, key=lambda s: (s[0], -s[1], s[2])):
            while parents and parents[-1][1] <= start:
                parents.pop()
            if parents and end > parents[-1][1]:
                p_start, p_end, p_index = parents[-1]
                raise TraceError(f"{where}: X event {index} [{start}, {end}] partially overlaps event {p_index} "
                                 f"[{p_start}, {p_end}] on pid {track[0]} tid {track[1]}")
            parents.append((start, end, index))
    return {"format": "chrome", "events": len(events), "tracks": len(tracks), "names": len(names),
            "ts_min": t_min, "ts_max": t_max}


# ---------------------------------------------------------------- speedscope
def load_speedscope_schema():
    try:
        with open(SPEEDSCOPE_SCHEMA) as f:
            return json.load(f)
    except OSError:
        raise TraceError(f"{SPEEDSCOPE_SCHEMA}: missing (run scripts/setup to install speedscope)") from None


def validate_schema(value, schema, root, path):
    """The JSON-schema subset the speedscope schema uses: $ref, type, const, enum, anyOf,
    properties, required, items (draft-07 semantics)."""
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/definitions/"):
            raise TraceError(f"schema: unsupported $ref {ref}")
        return validate_schema(value, root["definitions"][ref[len("#/definitions/"):]], root, path)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate_schema(value, option, root, path)
                return
            except TraceError as e:
                errors.append(str(e))
        raise TraceError(f"{path}: matches none of {len(errors)} alternatives ({'; '.join(errors)})")
    expected = schema.get("type")
    if expected is not None:
        checks = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
                  "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
                  "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                  "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "null": lambda v: v is None}
        types = expected if isinstance(expected, list) else [expected]
        if not any(checks[t](value) for t in types):
            raise TraceError(f"{path}: expected {expected}, got {json.dumps(value)[:60]}")
    if "const" in schema and value != schema["const"]:
        raise TraceError(f"{path}: expected {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise TraceError(f"{path}: expected one of {schema['enum']}, got {value!r}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise TraceError(f"{path}: missing required field '{key}'")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                validate_schema(value[key], sub, root, f"{path}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            validate_schema(item, schema["items"], root, f"{path}[{i}]")


def check_speedscope(document, where):
    schema = load_speedscope_schema()
    validate_schema(document, schema, schema, where)
    frame_count = len(document["shared"]["frames"])
    total_events = 0
    for p, profile in enumerate(document["profiles"]):
        at = f"{where}: profiles[{p}] '{profile.get('name')}'"
        start, end = profile["startValue"], profile["endValue"]
        if end < start:
            raise TraceError(f"{at}: endValue {end} < startValue {start}")
        if profile["type"] == "evented":
            stack, last = [], start
            for e, event in enumerate(profile["events"]):
                frame, when = event["frame"], event["at"]
                if not (isinstance(frame, int) and 0 <= frame < frame_count):
                    raise TraceError(f"{at}: events[{e}] frame {frame} out of range [0, {frame_count})")
                if when < last or when > end:
                    raise TraceError(f"{at}: events[{e}] at {when} not in [{last}, {end}] (must not go back)")
                last = when
                if event["type"] == "O":
                    stack.append(frame)
                elif not stack or stack[-1] != frame:
                    raise TraceError(f"{at}: events[{e}] closes frame {frame} but the open frame is "
                                     f"{stack[-1] if stack else 'none'}")
                else:
                    stack.pop()
            if stack:
                raise TraceError(f"{at}: {len(stack)} frames still open at the end (innermost {stack[-1]})")
            total_events += len(profile["events"])
        else:
            samples, weights = profile["samples"], profile["weights"]
            if len(samples) != len(weights):
                raise TraceError(f"{at}: {len(samples)} samples but {len(weights)} weights")
            for s, sample in enumerate(samples):
                bad = [f for f in sample if not (isinstance(f, int) and 0 <= f < frame_count)]
                if bad:
                    raise TraceError(f"{at}: samples[{s}] frame {bad[0]} out of range [0, {frame_count})")
            total_events += len(samples)
    return {"format": "speedscope", "profiles": len(document["profiles"]), "frames": frame_count,
            "events": total_events}


# ---------------------------------------------------------------- VCD
VCD_HEADER_KEYWORDS = {"$date", "$version", "$timescale", "$comment", "$scope", "$upscope", "$var",
                       "$enddefinitions"}
VCD_DUMP_KEYWORDS = {"$dumpvars", "$dumpall", "$dumpon", "$dumpoff"}


def vcd_tokens(text):
    for line_no, line in enumerate(text.split("\n"), 1):
        for word in line.split():
            yield word, line_no


def check_vcd(text, where):
    """VCD is whitespace-separated tokens: header sections '$keyword ... $end' up to
    '$enddefinitions $end', then '#time', scalar changes '0id', vector changes 'b0101 id' /
    'r1.5 id', and $dumpvars-style blocks closed by $end."""
    tokens = list(vcd_tokens(text))
    ids, scopes, timescale, i = {}, 0, None, 0
    while True:
        if i >= len(tokens):
            raise TraceError(f"{where}: no $enddefinitions")
        word, line_no = tokens[i]
        if word not in VCD_HEADER_KEYWORDS:
            raise TraceError(f"{where}:{line_no}: expected a header $keyword, got {word!r}")
        body_start = i + 1
        i = body_start
        while i < len(tokens) and tokens[i][0] != "$end":
            i += 1
        if i >= len(tokens):
            raise TraceError(f"{where}:{line_no}: {word} is not closed by $end")
        body = [w for w, _ in tokens[body_start:i]]
        i += 1
        if word == "$timescale":
            timescale = "".join(body)
            if not re.fullmatch(r"(1|10|100)(s|ms|us|ns|ps|fs)", timescale):
                raise TraceError(f"{where}:{line_no}: $timescale {timescale!r} is not 1/10/100 s|ms|us|ns|ps|fs")
        elif word == "$scope":
            scopes += 1
        elif word == "$upscope":
            scopes -= 1
            if scopes < 0:
                raise TraceError(f"{where}:{line_no}: $upscope without an open $scope")
        elif word == "$var":
            if len(body) < 4 or not body[1].isdigit() or int(body[1]) < 1:
                raise TraceError(f"{where}:{line_no}: $var needs 'type width id name', got {' '.join(body)!r}")
            ids[body[2]] = int(body[1])
        elif word == "$enddefinitions":
            break
    if timescale is None:
        raise TraceError(f"{where}: no $timescale in the header")
    if scopes != 0:
        raise TraceError(f"{where}: {scopes} $scope sections not closed by $upscope")
    if not ids:
        raise TraceError(f"{where}: no $var declared")

    last_time, changes = None, 0
    while i < len(tokens):
        word, line_no = tokens[i]
        i += 1
        if word in VCD_DUMP_KEYWORDS or word == "$end":
            continue
        if word == "$comment":
            while i < len(tokens) and tokens[i][0] != "$end":
                i += 1
            i += 1
            continue
        if word.startswith("#"):
            if not word[1:].isdigit():
                raise TraceError(f"{where}:{line_no}: time {word!r} is not #<non-negative integer>")
            time = int(word[1:])
            if last_time is not None and time <= last_time:
                raise TraceError(f"{where}:{line_no}: time #{time} does not increase (previous #{last_time})")
            last_time = time
            continue
        if word[0] in "bBrR":
            if i >= len(tokens):
                raise TraceError(f"{where}:{line_no}: vector value {word!r} without an identifier")
            ident = tokens[i][0]
            i += 1
            if word[0] in "bB" and not re.fullmatch(r"[01xXzZ]+", word[1:]):
                raise TraceError(f"{where}:{line_no}: {word!r} is not a binary vector value")
        elif word[0] in "01xXzZ" and len(word) > 1:
            ident = word[1:]
        else:
            raise TraceError(f"{where}:{line_no}: cannot parse value change {word!r}")
        if ident not in ids:
            raise TraceError(f"{where}:{line_no}: identifier {ident!r} was not declared by $var")
        if word[0] in "bB" and len(word) - 1 > ids[ident]:
            raise TraceError(f"{where}:{line_no}: {len(word) - 1}-bit value for {ids[ident]}-bit {ident!r}")
        if word[0] in "01xXzZ" and ids[ident] != 1:
            raise TraceError(f"{where}:{line_no}: scalar value for {ids[ident]}-bit {ident!r} (use b...)")
        changes += 1
    return {"format": "vcd", "timescale": timescale, "signals": len(ids), "changes": changes,
            "end_time": last_time if last_time is not None else 0}


# ---------------------------------------------------------------- driver
def check_file(path, fmt="auto"):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise TraceError(f"{path}: cannot read ({e})") from None
    if fmt == "auto":
        stripped = text.lstrip()
        fmt = "vcd" if stripped.startswith("$") else "json"
    if fmt == "vcd":
        return check_vcd(text, path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise TraceError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    if fmt == "speedscope" or (fmt == "json" and isinstance(document, dict) and
                               "speedscope" in str(document.get("$schema", ""))):
        return check_speedscope(document, path)
    if isinstance(document, dict):
        if "traceEvents" not in document:
            raise TraceError(f"{path}: JSON object without 'traceEvents' (and not a speedscope file)")
        return check_chrome(document["traceEvents"], path)
    return check_chrome(document, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Validate and summarise trace files.")
    parser.add_argument("--format", choices=["auto", "chrome", "speedscope", "vcd"], default="auto")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    for path in args.files:
        try:
            summary = check_file(path, args.format)
        except TraceError as e:
            print(f"trace_check: {e}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps({"file": path, **summary}, sort_keys=True))
        else:
            print(f"{path}: ok " + " ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
