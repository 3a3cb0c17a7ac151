#!/usr/bin/env node
// Profiles one library on one phase of one trace, for finding what dominates our time.
//   node tests/bench/profile.js [--lib roomsync] [--phase apply|b4|load|update|encode] [--trace automerge-paper] [--reps 5]
//   node tests/bench/profile.js --phase merge [--trace clownschool] [--order causal|reversed|random|states]
//     (a concurrent session's updates merged into a fresh document: tests/bench/concurrent-merge.js)
//   [--interval µs]   (ROOMSYNC_ROOT=dir with js/ + dist/ profiles another build, e.g. --profiling-funcs)
// Runs the phase once to warm up, then --reps times under the V8 CPU profiler (node:inspector),
// writes bench-results/profile-<lib>-<phase>.cpuprofile (open in Chrome DevTools) and prints the
// functions with the most self time (wasm functions appear under their export/C++ names when
// the build keeps a name section; otherwise as wasm-function[N]).
import { Session } from 'node:inspector/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, loadTrace } from './traces.js';

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const lib = arg('--lib', 'roomsync');
const phase = arg('--phase', 'apply');
const traceName = arg('--trace', phase === 'merge' ? 'clownschool' : 'automerge-paper');
const reps = parseInt(arg('--reps', '5'), 10);

const A = await import(`./adapters/${lib}.js`);
await A.init();
const merge = phase === 'merge' ? await (await import('./concurrent-merge.js')).prepareMerge(lib, traceName, arg('--order', 'causal')) : null;
const trace = merge ? null : loadTrace(traceName);
let bytes = null, update = null, built = null;
if (!merge) {
  const r = await A.applyTrace(trace, { keep: true });
  bytes = await A.encode(r.doc);
  update = await A.encodeUpdate(r.doc);
  built = r.doc; // kept for --phase encode (20 encodes per rep)
}
const once = async () => {
  let r;
  if (merge) return merge();
  if (phase === 'apply') r = await A.applyTrace(trace);
  else if (phase === 'b4') r = await A.applyTrace(trace, { b4: true });
  else if (phase === 'load') r = await A.loadReadEdit(bytes);
  else if (phase === 'update') r = await A.applyRemote(update);
  else if (phase === 'encode') { for (let i = 0; i < 20; i++) await A.encode(built); return; }
  else throw new Error(`unknown phase ${phase}`);
  A.destroy(r.doc);
};
await once();
const s = new Session();
s.connect();
await s.post('Profiler.enable');
await s.post('Profiler.setSamplingInterval', { interval: Number(arg('--interval', '250')) });
await s.post('Profiler.start');
const t0 = performance.now();
for (let i = 0; i < reps; i++) await once();
const ms = (performance.now() - t0) / reps;
const { profile } = await s.post('Profiler.stop');
const dir = path.join(REPO, 'bench-results');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `profile-${lib}-${phase}.cpuprofile`);
writeFileSync(file, JSON.stringify(profile));

// self time per function
const dt = new Map();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (let i = 0; i < profile.samples.length; i++) {
  const n = byId.get(profile.samples[i]);
  const f = n.callFrame;
  const key = `${f.functionName || '(anonymous)'}  ${f.url ? path.basename(f.url) + ':' + (f.lineNumber + 1) : ''}`;
  dt.set(key, (dt.get(key) || 0) + 1); // samples (timeDeltas put the profiler's own stop on one sample)
}
const total = [...dt.values()].reduce((a, b) => a + b, 0);
console.log(`${lib} ${phase} ${traceName}: ${ms.toFixed(1)} ms per run (${reps} runs, profiled); ${file}`);
for (const [k, v] of [...dt].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
