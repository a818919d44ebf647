// Imports Chrome trace-event JSON files with speedscope's own importer (the pinned npm package
// in tools/node) and prints what came out. speedscope ships only a browser bundle; we load it
// in a vm context without a DOM: the app's start-up (rendering into document.body) is cut off
// and the trace-event importer function is exposed instead. Names are found by the shape of
// the code, not hard-coded, so a re-minified bundle of the same version still works.
// usage: node speedscope_import.js TRACE.json...   -> one JSON line per file:
//   {"file":..., "profiles":N, "frames":N, "names":[profile names], "samples":N}
// Exit 1 if a file cannot be imported or yields no profile.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

function findBundle() {
  const candidates = [
    process.env.SPEEDSCOPE_DIR,
    path.join(__dirname, '..', '..', 'tools', 'node', 'node_modules', 'speedscope'),
  ].filter(Boolean);
  for (const dir of candidates) {
    const rel = path.join(dir, 'dist', 'release');
    if (!fs.existsSync(rel)) continue;
    const js = fs.readdirSync(rel).find(f => /^speedscope-.*\.js$/.test(f));
    if (js) return path.join(rel, js);
  }
  throw new Error('speedscope bundle not found (run scripts/setup to install tools/node)');
}

function loadImporter() {
  let src = fs.readFileSync(findBundle(), 'utf8');
  // The trace-event dispatcher: function NAME(t){return A(t)?B(t):C(t)?D(t.traceEvents):...}
  const disp = /function ([\w$]+)\(t\)\{return [\w$]+\(t\)\?[\w$]+\(t\):[\w$]+\(t\)\?[\w$]+\(t\.traceEvents\)/.exec(src);
  if (!disp) throw new Error('speedscope bundle: trace-event importer not found');
  // Its lazily initialised module wrapper follows it: var X,INIT=re(()=>{"use strict";...
  const after = src.slice(disp.index);
  const init = /\}var (?:[\w$]+,)*([\w$]+)=([\w$]+)\(\(\)=>\{"use strict";/.exec(after);
  if (!init) throw new Error('speedscope bundle: importer module initialiser not found');
  const start = src.lastIndexOf('console.log(`speedscope v');
  if (start < 0) throw new Error('speedscope bundle: app start-up not found');
  const end = src.lastIndexOf('})();');
  src = src.slice(0, start) + `globalThis.__cardsimImport=function(j){${init[1]}();return ${disp[1]}(j)};` + src.slice(end);
  const noop = () => {};
  const element = () => new Proxy(function () {}, { get: (t, k) => (k === 'style' ? {} : element()), apply: () => element() });
  const sandbox = {
    console: { log: noop, warn: noop, error: noop, info: noop },
    setTimeout, clearTimeout, setInterval, clearInterval, TextDecoder, TextEncoder, URL, Uint8Array, Map, Set,
    navigator: { userAgent: 'node', platform: 'linux' },
    location: { hash: '', search: '', href: 'file:///', protocol: 'file:' },
    document: element(), localStorage: { getItem: () => null, setItem: noop },
    addEventListener: noop, removeEventListener: noop, requestAnimationFrame: noop, devicePixelRatio: 1,
  };
  sandbox.window = sandbox;
  sandbox.self = sandbox;
  vm.createContext(sandbox);
  vm.runInContext(src, sandbox, { filename: 'speedscope-bundle.js' });
  if (typeof sandbox.__cardsimImport !== 'function') throw new Error('speedscope bundle: importer not exposed');
  return sandbox.__cardsimImport;
}

function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node speedscope_import.js TRACE.json...');
    process.exit(2);
  }
  const importTraceEvents = loadImporter();
  let failed = 0;
  for (const file of files) {
    try {
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      const group = importTraceEvents(json);
      if (!group || !group.profiles || group.profiles.length === 0) throw new Error('no profiles imported');
      const frames = new Set();
      let samples = 0;
      for (const p of group.profiles) {
        p.forEachFrame(f => frames.add(f.name));
        samples += p.getTotalWeight() > 0 ? 1 : 0;
      }
      const names = group.profiles.map(p => p.getName());
      console.log(JSON.stringify({ file, profiles: group.profiles.length, frames: frames.size, names,
                                   nonempty_profiles: samples, frame_names: [...frames].sort().slice(0, 50) }));
    } catch (e) {
      console.log(JSON.stringify({ file, error: String(e && e.stack || e) }));
      failed++;
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
