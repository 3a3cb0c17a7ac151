#!/usr/bin/env node
// How fast roomsync's per-edit JS API could be with a core that costs nothing: the floor that
// issue 8's apply (≥10× json-joy) and B4 (≥4× json-joy) targets have to fit above.
//   node tests/bench/js-floor.js [--trace automerge-paper] [--runs 7]
// Loads a second copy of js/ (in a temporary folder, with its own instance of dist/'s module)
// whose wasm calls for text edits are replaced by stubs, and times the benchmark's apply and B4
// (tests/bench/run.js, adapters/roomsync.js) through it:
//   apply floor: edits are checked and written into the command queue exactly as always, but
//                running the queue does nothing (rs_run_queue returns at once);
//   B4 floor:    insert/delete return at once with "an update of 17 bytes" (about what a
//                keystroke's update is), so the JS side copies it out and calls the listener.
// Alone it prints those floors beside the real build, json-joy and the replay loop, runs
// interleaved; run.js calls measureFloor() for its target lines. Not part of npm test.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO, loadTrace, replayEdits } from './traces.js';

const HAS_UPDATE = 2; // js/index.js: a transaction's result flags
// $ROOMSYNC_ROOT: another copy of js/ + dist/, as for the benchmark's adapter.
const ROOT = process.env.ROOMSYNC_ROOT ? path.resolve(process.env.ROOMSYNC_ROOT) : REPO;

// A copy of js/ whose raw wasm exports for text edits are stubs; mode() picks 'apply' or 'b4'.
async function stubbedBuild() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomsync-floor-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(ROOT, 'js'), path.join(dir, 'js'), { recursive: true });
  symlinkSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'));
  symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
  const indexFile = path.join(dir, 'js', 'index.js');
  const source = readFileSync(indexFile, 'utf8');
  if (!/^let X = null;/m.test(source) || !/^let M = null;/m.test(source)) {
    throw new Error('js/index.js no longer keeps the module in `let M` and its raw exports in `let X`: update js-floor.js');
  }
  writeFileSync(indexFile, `${source}\nexport function __swapExports(f) { X = f(X, M); }\n`);
  const api = await import(indexFile);
  (await api.createDoc()).destroy(); // loads the module, so X exists
  let mode = 'apply';
  api.__swapExports((X, M) => {
    // A text edit with `take`: the update's address and length go where DocHandle::update_at
    // puts them (the handle's first two words); any 17 bytes of memory do, the listener only counts.
    const edit = (h, take) => {
      if (!take) return 0;
      const w = M.HEAPU32; // the glue's current view (memory growth replaces it)
      w[h >>> 2] = h;
      w[(h >>> 2) + 1] = 17;
      return HAS_UPDATE << 1;
    };
    return {
      ...X,
      rs_run_queue: (h, q, words) => (mode === 'apply' ? 0 : X.rs_run_queue(h, q, words)),
      rs_text_insert: (h, root, pos, ptr, n, take) => (mode === 'b4' ? edit(h, take) : X.rs_text_insert(h, root, pos, ptr, n, take)),
      rs_text_delete: (h, root, pos, n, take) => (mode === 'b4' ? edit(h, take) : X.rs_text_delete(h, root, pos, n, take)),
    };
  });
  return { api, setMode: (m) => { mode = m; } };
}

// One apply (b4 false) or B4 pass of `trace` through a build's public API, as the adapter does.
async function replay(api, trace, b4) {
  const doc = await api.createDoc();
  const text = doc.getText('text');
  let bytes = 0;
  if (b4) doc.on('update', (u) => { bytes += u.length; });
  const t0 = performance.now();
  replayEdits(doc, text, trace);
  api._testing.runQueued(doc); // queued edits run inside the timing, as in adapters/roomsync.js
  const ms = performance.now() - t0;
  doc.destroy();
  return bytes < 0 ? NaN : ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// Medians (ms) of the stubbed build's apply and B4 on `trace`, after one warm-up each.
export async function measureFloor(trace, runs = 5) {
  const { api, setMode } = await stubbedBuild();
  const out = {};
  for (const phase of ['apply', 'b4']) {
    setMode(phase);
    await replay(api, trace, phase === 'b4');
    const ms = [];
    for (let i = 0; i < runs; i++) ms.push(await replay(api, trace, phase === 'b4'));
    out[phase] = median(ms);
  }
  return out;
}

async function main() {
  const { values: opts } = parseArgs({ options: { trace: { type: 'string', default: 'automerge-paper' }, runs: { type: 'string', default: '7' } } });
  const runs = Number(opts.runs);
  const trace = loadTrace(opts.trace);
  const real = await import(path.join(ROOT, 'js', 'index.js'));
  const jsonjoy = await import('./adapters/jsonjoy.js');
  const { api, setMode } = await stubbedBuild();
  const theirs = (b4) => {
    const t0 = performance.now();
    jsonjoy.applyTrace(trace, { b4 });
    return performance.now() - t0;
  };
  const loop = () => { // the trace's replay loop calling a text that does nothing (run.js's figure)
    let sink = 0;
    const text = { insert(pos, s) { sink += pos + s.length; }, delete(pos, n) { sink += pos + n; } };
    const t0 = performance.now();
    replayEdits({ transact(fn) { fn(); } }, text, trace);
    return sink < 0 ? NaN : performance.now() - t0;
  };
  const rows = {
    'json-joy': (b4) => theirs(b4),
    'roomsync': (b4) => replay(real, trace, b4),
    'roomsync, core stubbed (JS floor)': (b4) => { setMode(b4 ? 'b4' : 'apply'); return replay(api, trace, b4); },
    'replay loop, no-op text': () => loop(),
  };
  const times = {};
  for (const b4 of [false, true]) {
    for (const run of Object.values(rows)) await run(b4); // warm-up
    for (let i = 0; i < runs; i++) {
      for (const [name, run] of Object.entries(rows)) ((times[name] ??= [[], []])[b4 ? 1 : 0]).push(await run(b4));
    }
  }
  const fmt = (ms) => ms.toFixed(1).padStart(9);
  console.log(`${opts.trace} (${trace.stats.calls.toLocaleString('en-US')} edits), medians of ${runs} interleaved runs, ms`);
  console.log(`${''.padEnd(36)}${'apply'.padStart(9)}${'B4'.padStart(9)}`);
  for (const [name, [a, b]] of Object.entries(times)) console.log(`${name.padEnd(36)}${fmt(median(a))}${fmt(median(b))}`);
  const [ja, jb] = times['json-joy'];
  console.log(`${'target (json-joy ÷ 10, ÷ 4)'.padEnd(36)}${fmt(median(ja) / 10)}${fmt(median(jb) / 4)}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
