#!/usr/bin/python3
"""End-to-end tests of `cardsim sweep`: local, resumed after a kill, Slurm (a real
single-node cluster on localhost), spec errors, Pareto. Usage: test_sweep.py CARDSIM [--slurm]"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CARDSIM = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding/model.onnx"
failures = []
passed = 0


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
        print(f"PASS {name}")
    else:
        failures.append(name)
        print(f"FAIL {name} {detail}")


def spec(tmp, **over):
    s = {
        "base": "default",
        "networks": [{"name": "conv", "model": MODEL}],
        "precisions": ["fp32"],
        "axes": [{"path": "dram.channels", "values": [1, 2]},
                 {"name": "array", "paths": ["matrix.rows", "matrix.cols"], "values": [8, 16, 32]}],
        "metrics": ["total.cycles", "total.latency_s", "total.energy_j"],
    }
    s.update(over)
    path = os.path.join(tmp, "spec.json")
    with open(path, "w") as f:
        json.dump(s, f)
    return path


def rows(d):
    with open(os.path.join(d, "results.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]


def as_set(rs):
    return {r["id"]: r for r in rs}


def run(*args, **kw):
    return subprocess.run([CARDSIM, *args], capture_output=True, text=True, **kw)


def main():
    tmp = tempfile.mkdtemp(prefix="cardsim-sweep-test.")
    try:
        sp = spec(tmp)
        a = os.path.join(tmp, "a")
        r = run("sweep", sp, "-o", a, "--jobs", "2", "--quiet")
        check("local sweep exits 0", r.returncode == 0, r.stderr[-2000:])
        ra = rows(a)
        check("local sweep records 6 points, all ok", len(ra) == 6 and all(x["status"] == "ok" for x in ra),
              json.dumps(ra)[:2000])
        check("no duplicate points", len(as_set(ra)) == len(ra))
        cycles = {(x["array"], x["dram.channels"]): x["total.cycles"] for x in ra if x["status"] == "ok"}
        check("a bigger array is never slower", len(cycles) == 6 and all(
            cycles[(big, c)] <= cycles[(small, c)] for c in (1, 2) for small, big in ((8, 16), (16, 32))), str(cycles))

        # Killed at a random moment, then re-run: same result set, nothing lost or duplicated.
        b = os.path.join(tmp, "b")
        p = subprocess.Popen([CARDSIM, "sweep", sp, "-o", b, "--jobs", "1", "--quiet"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline:
            jl = os.path.join(b, "results.jsonl")
            if os.path.exists(jl) and sum(1 for l in open(jl) if l.strip()) >= 2:
                break
            time.sleep(0.05)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        partial = len(rows(b)) if os.path.exists(os.path.join(b, "results.jsonl")) else 0
        check("the kill left a partial result set", 0 < partial < 6, f"{partial} rows")
        r = run("sweep", sp, "-o", b, "--resume", "--quiet")
        rb = rows(b)
        check("resumed sweep completes", r.returncode == 0 and len(rb) == 6, r.stderr[-2000:])
        check("resumed results are all ok", all(x["status"] == "ok" for x in rb), json.dumps(rb)[:2000])
        check("resumed results equal the uninterrupted ones", as_set(rb) == as_set(ra))

        # Sharding: two shards together equal the whole.
        c = os.path.join(tmp, "c")
        run("sweep", sp, "-o", c, "--shard", "0/2", "--results-name", "s0", "--quiet")
        run("sweep", sp, "-o", c, "--shard", "1/2", "--results-name", "s1", "--quiet")
        s0 = rows_named(c, "s0")
        s1 = rows_named(c, "s1")
        check("shard results are all ok", all(x["status"] == "ok" for x in s0 + s1), json.dumps(s0 + s1)[:2000])
        check("shards partition the points", len(s0) + len(s1) == 6 and as_set(s0 + s1) == as_set(ra))

        if "--slurm" in sys.argv:
            d = os.path.join(tmp, "d")
            r = subprocess.run([os.path.join(HERE, "slurm_localhost.sh"), CARDSIM, "sweep", sp, "-o", d, "--backend",
                                "slurm", "--quiet"], capture_output=True, text=True, timeout=600)
            check("slurm sweep exits 0", r.returncode == 0, r.stdout[-1000:] + r.stderr[-2000:])
            rd = rows(d) if os.path.exists(os.path.join(d, "results.jsonl")) else []
            check("slurm results equal local results point for point", as_set(rd) == as_set(ra),
                  f"{len(rd)} rows")

        # Spec errors: reported before anything runs, naming the path.
        for name, over, needle in [
            ("unknown config path", {"axes": [{"path": "matrix.rowz", "values": [1]}]}, "matrix.rowz"),
            ("empty axis", {"axes": [{"path": "matrix.rows", "values": []}]}, "matrix.rows"),
            ("contradictory constraints", {"constraints": ["matrix.rows <= 8", "matrix.rows >= 64"]}, "constraints"),
            ("out-of-range value", {"axes": [{"path": "pcie.gen", "values": [9]}]}, "pcie.gen"),
        ]:
            e = os.path.join(tmp, "err-" + name.replace(" ", "-"))
            r = run("sweep", spec(tmp, **over), "-o", e, "--quiet")
            check(f"spec error: {name}", r.returncode == 2 and needle in r.stderr and not os.path.exists(
                os.path.join(e, "results.jsonl")), r.stderr[-500:])

        r = run("pareto", os.path.join(a, "results.csv"), "--minimize", "total.latency_s,total.energy_j")
        check("pareto prints a front", r.returncode == 0 and "Pareto front" in r.stdout, r.stderr[-500:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


def rows_named(d, name):
    p = os.path.join(d, name + ".jsonl")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(l) for l in f if l.strip()]


if __name__ == "__main__":
    main()
