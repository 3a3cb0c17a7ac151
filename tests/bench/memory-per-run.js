// Memory per run of loaded documents, per trace (and the worst case, random-typing-30k), for
// roomsync alone and quickly (tests/bench/run.js prints the same beside Yjs, with every row).
// Each trace is replayed, saved with encodeState(), and loaded in a fresh child process, which
// prints: the state's bytes, the runs of the loaded text, the bytes allocated in wasm memory
// (used), what the core counts the document holds (core), and how much the wasm memory grew
// for the load (grown: it never shrinks, so this is the peak during the load).
//   node tests/bench/memory-per-run.js [--trace NAME]...
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as roomsync from '../../js/index.js';
import { RANDOM_TRACE, listTraces, loadTrace, replayEdits } from './traces.js';

const self = fileURLToPath(import.meta.url);
if (process.argv[2] === '--child') {
  const bytes = new Uint8Array(readFileSync(process.argv[3]));
  (await roomsync.createDoc()).destroy(); // the module is loaded: the baseline
  const u0 = await roomsync.memoryUsage();
  const doc = await roomsync.createDoc({ state: bytes });
  const u1 = await roomsync.memoryUsage();
  const { runs, docBytes } = roomsync._testing.textStats(doc.getText('text'));
  console.log(JSON.stringify({ runs, docBytes, used: u1.usedBytes - u0.usedBytes, grown: u1.wasmBytes - u0.wasmBytes }));
  process.exit(0);
}

const wanted = process.argv.slice(2).filter((a, i, all) => all[i - 1] === '--trace');
const names = wanted.length ? wanted : [...listTraces(), RANDOM_TRACE];
const dir = mkdtempSync(path.join(os.tmpdir(), 'roomsync-mem-'));
const row = (cells) => console.log(`| ${cells.join(' | ')} |`);
row(['trace', 'state bytes', 'runs', 'used B/run', 'core B/run', 'grown B/run']);
row(['---', '---:', '---:', '---:', '---:', '---:']);
try {
  for (const name of names) {
    const trace = loadTrace(name);
    const doc = await roomsync.createDoc();
    replayEdits(doc, doc.getText('text'), trace);
    const state = doc.encodeState();
    doc.destroy();
    const file = path.join(dir, 'state.bin');
    writeFileSync(file, state);
    const r = spawnSync(process.execPath, [self, '--child', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    const m = JSON.parse(r.stdout);
    const per = (b) => Math.round(b / m.runs);
    row([name, state.length, m.runs, per(m.used), per(m.docBytes), per(m.grown)]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
