#!/usr/bin/env node
// Two builds of roomsync side by side in one Node process, runs interleaved: the fair way to
// compare a change on this noisy shared machine (README, benchmarks: the seventh session's A/B).
//   node tests/bench/ab-builds.js <dir A> <dir B> [--reps 60]
// Each dir holds js/ and dist/ of a build (a worktree of another commit, built). Prints the
// median of each row for A and B and B/A: merging the concurrent sessions' agent states and
// their updates in causal order (captured once with this checkout's build), and loading
// automerge-paper's state (read text included).
import path from 'node:path';
import { parseArgs } from 'node:util';
import { capture, makeLibs } from './concurrent-merge.js';
import { loadTrace as loadConcurrent } from '../js/helpers/traces.js';
import { loadTrace, replayEdits, tracesDir } from './traces.js';

const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { reps: { type: 'string', default: '60' } } });
if (positionals.length !== 2) {
  console.error('usage: node tests/bench/ab-builds.js <dir A> <dir B> [--reps 60]');
  process.exit(2);
}
const reps = Number(opts.reps);
const [A, B] = await Promise.all(positionals.map((d) => import(path.resolve(d, 'js', 'index.js'))));

const lib = makeLibs().roomsync;
await lib.init();
const sessions = {};
for (const name of ['clownschool', 'friendsforever']) {
  sessions[name] = await capture(lib, loadConcurrent(path.join(tracesDir(), 'concurrent'), name));
}
const seq = await A.createDoc();
replayEdits(seq, seq.getText('text'), loadTrace('automerge-paper'));
const paperState = seq.encodeState();
seq.destroy();

async function timed(M, applyAll) {
  const doc = await M.createDoc({ clientId: 99 });
  const t0 = performance.now();
  applyAll(doc);
  doc.getText('text').toString();
  const ms = performance.now() - t0;
  doc.destroy();
  return ms;
}
const rows = {};
for (const [name, cap] of Object.entries(sessions)) {
  rows[`${name}: agents' states`] = (M) => timed(M, (d) => { for (const s of cap.states) d.applyUpdate(s); });
  rows[`${name}: updates, causal`] = (M) => timed(M, (d) => { for (const u of cap.updates) d.applyUpdate(u); });
}
rows['automerge-paper: load state'] = (M) => timed(M, (d) => d.applyUpdate(paperState));

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
for (const [row, run] of Object.entries(rows)) {
  const a = [], b = [];
  for (let i = 0; i < 3; i++) { await run(A); await run(B); }
  for (let i = 0; i < reps; i++) { a.push(await run(A)); b.push(await run(B)); }
  console.log(`${row.padEnd(34)} A ${median(a).toFixed(2).padStart(8)} ms  B ${median(b).toFixed(2).padStart(8)} ms  B/A ${(median(b) / median(a)).toFixed(3)}`);
}
