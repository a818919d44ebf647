#!/usr/bin/env node
'use strict';
// Reference runtime: runs an ONNX model on onnxruntime-node (CPU, one thread) over
// ONNX-test-data style input_N.pb files and writes output_N.pb. See tools/README.md.

const fs = require('fs');
const path = require('path');
const { decodeTensor, encodeTensor, ProtoError } = require('./tensor_proto');

const USAGE = `usage:
  node tools/ort_run.js MODEL.onnx --inputs DIR --outputs DIR
      run once on DIR/input_N.pb (graph-input order) and write DIR/output_N.pb
  node tools/ort_run.js MODEL.onnx --data-sets DIR
      for every DIR/test_data_set_*/: read its input_N.pb, write output_N.pb next to them
  node tools/ort_run.js MODEL.onnx --seed-inputs DIR [--seed S] [--dim SYMBOL=V]... [--shape NAME=AxBxC]...
      write seeded random input_N.pb matching the model's inputs (symbolic dims default to 1)
  node tools/ort_run.js MODEL.onnx [--inputs DIR] --time N [--json]
      run N timed inferences (after one warm-up) and print the median wall time;
      without --inputs, seeded random inputs are used
  node tools/ort_run.js MODEL.onnx --info
      print the model's inputs and outputs as JSON
  node tools/ort_run.js MODEL.onnx --fold OUT.onnx
      save the model after onnxruntime's basic optimisations (constant folding, shape arithmetic
      removed, Conv+BN/Add/Mul folded): plain ONNX-domain ops only
options: --seed S (default 1), --threads T (default 1: intra- and inter-op threads)`;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { model: null, inputs: null, outputs: null, dataSets: null, fold: null, seedInputs: null, seed: 1, time: 0, info: false,
    json: false, threads: 1, dims: {}, shapes: {} };
  const need = (i, flag) => {
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    return argv[i + 1];
  };
  const positiveInt = (text, flag) => {
    if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} expects a positive integer, got '${text}'`);
    return Number(text);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--inputs': opts.inputs = need(i, a); i++; break;
      case '--outputs': opts.outputs = need(i, a); i++; break;
      case '--fold': opts.fold = need(i, a); i++; break;
      case '--data-sets': opts.dataSets = need(i, a); i++; break;
      case '--seed-inputs': opts.seedInputs = need(i, a); i++; break;
      case '--seed': {
        const s = need(i, a); i++;
        if (!/^\d+$/.test(s)) throw new UsageError(`--seed expects a non-negative integer, got '${s}'`);
        opts.seed = Number(s);
        break;
      }
      case '--time': opts.time = positiveInt(need(i, a), a); i++; break;
      case '--threads': opts.threads = positiveInt(need(i, a), a); i++; break;
      case '--info': opts.info = true; break;
      case '--json': opts.json = true; break;
      case '--dim': case '--shape': {
        const spec = need(i, a); i++;
        const eq = spec.lastIndexOf('=');
        if (eq <= 0) throw new UsageError(`${a} expects NAME=VALUE, got '${spec}'`);
        const key = spec.slice(0, eq), value = spec.slice(eq + 1);
        if (a === '--dim') opts.dims[key] = positiveInt(value, a);
        else opts.shapes[key] = value.split('x').map((v) => positiveInt(v, a));
        break;
      }
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'`);
        if (opts.model) throw new UsageError(`more than one model given ('${opts.model}', '${a}')`);
        opts.model = a;
    }
  }
  if (!opts.model) throw new UsageError('no MODEL.onnx given');
  const modes = [opts.info, opts.seedInputs !== null, opts.time > 0, opts.outputs !== null,
    opts.dataSets !== null, opts.fold !== null].filter(Boolean).length;
  if (modes === 0) throw new UsageError('nothing to do: give --outputs, --data-sets, --seed-inputs, --time, --fold or --info');
  if (opts.outputs !== null && opts.inputs === null) throw new UsageError('--outputs needs --inputs DIR');
  return opts;
}

function loadOrt() {
  const dir = path.join(__dirname, 'node', 'node_modules', 'onnxruntime-node');
  try {
    return require(dir);
  } catch (e) {
    throw new Error(`cannot load onnxruntime-node from ${dir} (run scripts/setup): ${e.message}`);
  }
}

// Deterministic PRNG (mulberry32) so seeded inputs are identical on every machine.
function makeRng(seed) {
  let a = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resolveShape(meta, opts) {
  if (opts.shapes[meta.name]) return opts.shapes[meta.name];
  if (!Array.isArray(meta.shape)) throw new Error(`input '${meta.name}' has no known shape: pass --shape ${meta.name}=AxB...`);
  return meta.shape.map((d) => {
    if (typeof d === 'number' && d >= 0) return d;
    if (typeof d === 'string' && opts.dims[d] !== undefined) return opts.dims[d];
    return 1; // unknown or symbolic dimension: batch-like, 1 unless overridden
  });
}

// Random values per type: floats uniform in [-1, 1), integers in [0, 4) so that index-like
// inputs stay in range for small tensors, bools 0/1.
function randomTensor(name, ortType, dims, rng) {
  const count = dims.reduce((a, b) => a * b, 1);
  let data;
  switch (ortType) {
    case 'float32': data = Float32Array.from({ length: count }, () => rng() * 2 - 1); break;
    case 'float64': data = Float64Array.from({ length: count }, () => rng() * 2 - 1); break;
    case 'int64': data = BigInt64Array.from({ length: count }, () => BigInt(Math.floor(rng() * 4))); break;
    case 'uint64': data = BigUint64Array.from({ length: count }, () => BigInt(Math.floor(rng() * 4))); break;
    case 'int32': data = Int32Array.from({ length: count }, () => Math.floor(rng() * 4)); break;
    case 'uint32': data = Uint32Array.from({ length: count }, () => Math.floor(rng() * 4)); break;
    case 'int16': data = Int16Array.from({ length: count }, () => Math.floor(rng() * 4)); break;
    case 'uint16': data = Uint16Array.from({ length: count }, () => Math.floor(rng() * 4)); break;
    case 'int8': data = Int8Array.from({ length: count }, () => Math.floor(rng() * 4)); break;
    case 'uint8': data = Uint8Array.from({ length: count }, () => Math.floor(rng() * 4)); break;
    case 'bool': data = Uint8Array.from({ length: count }, () => (rng() < 0.5 ? 1 : 0)); break;
    default: throw new Error(`input '${name}': cannot generate random values of type ${ortType}`);
  }
  return { name, ortType, dims, data };
}

function seededInputs(session, opts) {
  const rng = makeRng(opts.seed);
  return session.inputMetadata.map((meta) => {
    if (!meta.isTensor) throw new Error(`input '${meta.name}' is not a tensor`);
    return randomTensor(meta.name, meta.type, resolveShape(meta, opts), rng);
  });
}

function readInputs(session, dir) {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`--inputs ${dir}: not a directory`);
  const names = session.inputNames;
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) throw new Error(`input '${meta.name}' is a sequence/map/optional: only tensor inputs are supported`);
  }
  const tensors = [];
  for (let i = 0; i < names.length; i++) {
    const file = path.join(dir, `input_${i}.pb`);
    if (!fs.existsSync(file)) throw new Error(`${file}: missing (model has ${names.length} inputs: ${names.join(', ')})`);
    tensors.push(decodeTensor(fs.readFileSync(file), file));
  }
  const extra = path.join(dir, `input_${names.length}.pb`);
  if (fs.existsSync(extra)) throw new Error(`${extra}: model has only ${names.length} inputs (${names.join(', ')})`);
  // Files are in graph-input order; a file whose name matches an input is used for that input.
  const byName = new Map(tensors.filter((t) => names.includes(t.name)).map((t) => [t.name, t]));
  return names.map((name, i) => {
    const t = byName.size === names.length ? byName.get(name) : tensors[i];
    return { ...t, name };
  });
}

function toFeeds(ort, session, tensors) {
  const feeds = {};
  tensors.forEach((t, i) => {
    const meta = session.inputMetadata[i];
    if (meta && meta.isTensor && meta.type !== t.ortType) {
      throw new Error(`input ${i} '${t.name}': file holds ${t.ortType}, model expects ${meta.type}`);
    }
    if (meta && Array.isArray(meta.shape)) {
      const fixedMismatch = meta.shape.length !== t.dims.length ||
        meta.shape.some((d, k) => typeof d === 'number' && d >= 0 && d !== t.dims[k]);
      if (fixedMismatch) {
        throw new Error(`input ${i} '${t.name}': file has dims [${t.dims}], model expects [${meta.shape}]`);
      }
    }
    feeds[t.name] = new ort.Tensor(t.ortType, t.data, t.dims);
  });
  return feeds;
}

function writeTensors(dir, prefix, tensors) {
  fs.mkdirSync(dir, { recursive: true });
  tensors.forEach((t, i) => fs.writeFileSync(path.join(dir, `${prefix}_${i}.pb`), encodeTensor(t)));
}

function outputTensors(session, results) {
  return session.outputNames.map((name) => {
    const v = results[name];
    return { name, ortType: v.type, dims: Array.from(v.dims, Number), data: v.data };
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(opts.model)) throw new Error(`${opts.model}: no such model file`);
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: opts.threads,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 4, // fatal only: load errors are reported below, once, without colour codes
  }).catch((e) => { throw new Error(`${opts.model}: onnxruntime cannot load the model: ${e.message.trim()}`); });

  if (opts.fold !== null) {
    // 'basic' keeps to ONNX-domain operators; 'extended'/'all' would emit com.microsoft fused ops.
    const folder = await ort.InferenceSession.create(opts.model, {
      executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1,
      graphOptimizationLevel: 'basic', optimizedModelFilePath: opts.fold, logSeverityLevel: 4,
    });
    await folder.release();
  }
  if (opts.info) {
    console.log(JSON.stringify({ inputs: session.inputMetadata, outputs: session.outputMetadata }, null, 1));
  }
  if (opts.seedInputs !== null) {
    writeTensors(opts.seedInputs, 'input', seededInputs(session, opts));
  }
  let inputs = null;
  if (opts.outputs !== null) {
    inputs = readInputs(session, opts.inputs);
    const results = await session.run(toFeeds(ort, session, inputs));
    writeTensors(opts.outputs, 'output', outputTensors(session, results));
  }
  if (opts.dataSets !== null) {
    if (!fs.existsSync(opts.dataSets) || !fs.statSync(opts.dataSets).isDirectory()) {
      throw new Error(`--data-sets ${opts.dataSets}: not a directory`);
    }
    const sets = fs.readdirSync(opts.dataSets).filter((d) => /^test_data_set_\d+$/.test(d))
      .sort((a, b) => Number(a.slice(14)) - Number(b.slice(14)));
    if (sets.length === 0) throw new Error(`--data-sets ${opts.dataSets}: no test_data_set_N folders`);
    for (const set of sets) {
      const dir = path.join(opts.dataSets, set);
      const results = await session.run(toFeeds(ort, session, readInputs(session, dir)));
      writeTensors(dir, 'output', outputTensors(session, results));
    }
  }
  if (opts.time > 0) {
    if (!inputs) inputs = opts.inputs !== null ? readInputs(session, opts.inputs) : seededInputs(session, opts);
    const feeds = toFeeds(ort, session, inputs);
    await session.run(feeds); // warm-up: first run allocates arenas
    const ms = [];
    for (let i = 0; i < opts.time; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const sorted = [...ms].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    if (opts.json) {
      console.log(JSON.stringify({ model: opts.model, runs: opts.time, threads: opts.threads,
        median_ms: median, min_ms: sorted[0], max_ms: sorted[sorted.length - 1] }));
    } else {
      console.log(`median_ms ${median.toFixed(3)} runs ${opts.time} min_ms ${sorted[0].toFixed(3)} max_ms ${sorted[sorted.length - 1].toFixed(3)}`);
    }
  }
  await session.release();
}

main().catch((e) => {
  if (e instanceof UsageError) {
    console.error(`ort_run: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(`ort_run: error: ${e instanceof ProtoError || e instanceof Error ? e.message : e}`);
  process.exit(1);
});
