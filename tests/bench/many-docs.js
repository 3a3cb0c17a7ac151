// Many documents in one process: replays a real concurrent editing session (../shared/traces/
// concurrent) in room after room, one document per replica, all in one Node process (what a
// test suite or a server holding many rooms does), and prints the WebAssembly memory as it goes.
// Each room has one replica per agent of the trace; before each transaction the agent's replica
// receives exactly the updates of its parents' history that it lacks, then edits.
//
//   node tests/bench/many-docs.js [--trace clownschool] [--replicas 300] [--loads 3000] [--limit-mb N]
//
// Then --loads more documents are loaded from the replicas' saved states (a server loading the
// rooms it holds), which reaches the module's memory ceiling within a minute or two.
// --limit-mb sets roomsync's soft memory limit (setMemoryLimit) to see the failure earlier.
// Ends with what happened: every replica converged, or which call failed and with what error,
// and whether the documents created before the failure still edit, encode and sync.
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import * as roomsync from '../../js/index.js';
import { listTraces, loadTrace, tracesDir } from '../js/helpers/traces.js';

const { values } = parseArgs({
  options: {
    trace: { type: 'string', default: 'clownschool' },
    replicas: { type: 'string', default: '300' },
    loads: { type: 'string', default: '3000' },
    'limit-mb': { type: 'string' },
  },
});
const dir = join(tracesDir(), 'concurrent');
if (!listTraces(dir).includes(values.trace)) {
  console.log(`SKIPPED: concurrent trace ${values.trace} not found in ${dir} (set ROOMSYNC_TRACES)`);
  process.exit(0);
}
const trace = loadTrace(dir, values.trace);
const agents = trace.numAgents;
const rooms = Math.ceil(Number(values.replicas) / agents);
const MB = 1024 * 1024;
const mod = await roomsync.loadModule();
const wasmBytes = () => mod.HEAPU8.buffer.byteLength;
if (values['limit-mb'] !== undefined) {
  if (typeof roomsync.setMemoryLimit !== 'function') throw new Error('this build has no setMemoryLimit');
  await roomsync.setMemoryLimit(Number(values["limit-mb"]) * MB);
}

// Replays the whole session into a fresh room of `agents` documents; returns them.
async function replayRoom(room) {
  const docs = [];
  for (let a = 0; a < agents; a++) docs.push(await roomsync.createDoc({ clientId: room * agents + a + 1 }));
  const texts = docs.map((d) => d.getText('text'));
  const docVersion = docs.map(() => new Array(agents).fill(0));
  const byAgent = Array.from({ length: agents }, () => []);
  const versions = [];
  const updates = [];
  let captured = null;
  const grab = (u) => { captured = u; };
  for (const d of docs) d.on('update', grab);
  for (let i = 0; i < trace.txns.length; i++) {
    const { agent, parents, patches } = trace.txns[i];
    const need = new Array(agents).fill(0);
    for (const p of parents) for (let b = 0; b < agents; b++) need[b] = Math.max(need[b], versions[p][b]);
    for (let b = 0; b < agents; b++) {
      for (let k = docVersion[agent][b]; k < need[b]; k++) docs[agent].applyUpdate(updates[byAgent[b][k]], 'net');
      docVersion[agent][b] = Math.max(docVersion[agent][b], need[b]);
    }
    captured = null;
    docs[agent].transact(() => {
      for (const [pos, del, ins] of patches) {
        if (del > 0) texts[agent].delete(pos, del);
        if (ins.length > 0) texts[agent].insert(pos, ins);
      }
    });
    updates.push(captured);
    byAgent[agent].push(i);
    docVersion[agent][agent] = byAgent[agent].length;
    need[agent] = byAgent[agent].length;
    versions.push(need);
  }
  for (const d of docs) d.off('update', grab);
  // Everyone gets everything: all replicas hold the final text.
  for (let a = 0; a < agents; a++) {
    for (let b = 0; b < agents; b++) if (a !== b) docs[a].applyUpdate(docs[b].encodeStateSince(docs[a].stateVector()));
    if (texts[a].toString() !== trace.endContent) throw new Error(`room ${room}: replica ${a} did not converge`);
  }
  return docs;
}

console.log(`${values.trace}: ${trace.txns.length} transactions, ${agents} agents; ${rooms} rooms = ${rooms * agents} replicas, one document each`);
console.log(`wasm memory at start: ${(wasmBytes() / MB).toFixed(1)} MB`);
const all = [];
const t0 = performance.now();
let failure = null;
const report = (what) => console.log(`after ${what.padEnd(18)} (${String(all.length).padStart(5)} documents): ` +
  `wasm memory ${(wasmBytes() / MB).toFixed(0).padStart(5)} MB, ${(wasmBytes() / all.length / 1024).toFixed(0)} KB per document, ` +
  `${((performance.now() - t0) / 1000).toFixed(1)} s`);
for (let r = 0; r < rooms; r++) {
  try {
    all.push(...await replayRoom(r));
  } catch (err) {
    failure = { what: `replaying room ${r}`, err };
    break;
  }
  if ((r + 1) % 10 === 0 || r === rooms - 1) report(`${r + 1} rooms replayed`);
}
const loads = Number(values.loads);
const states = all.slice(0, agents).map((d) => d.encodeState());
for (let i = 0; failure === null && i < loads; i++) {
  try {
    all.push(await roomsync.createDoc({ state: states[i % states.length] }));
  } catch (err) {
    failure = { what: `loading saved state ${i}`, err };
  }
  if ((i + 1) % 250 === 0 || i === loads - 1) report(`${i + 1} states loaded`);
}
if (failure === null) {
  console.log(`every replica converged; wasm memory ${(wasmBytes() / MB).toFixed(0)} MB for ${all.length} documents`);
} else {
  const { err } = failure;
  console.log(`${failure.what} failed at ${(wasmBytes() / MB).toFixed(0)} MB of wasm memory: ` +
    `${err?.constructor?.name}: ${err?.message}${err?.code ? ` (code ${err.code})` : ''}`);
  let after;
  try {
    // What an app does on OutOfMemoryError: free something (here the last 20 documents).
    for (const d of all.splice(-20)) d.destroy();
    let checked = 0;
    for (const d of all) {
      const t = d.getText('text');
      if (t.toString() !== trace.endContent) throw new Error('a replica lost its text');
      checked++;
    }
    const probe = await roomsync.createDoc();
    const first = all[0].getText('text');
    first.insert(0, '!');
    probe.applyUpdate(all[0].encodeState());
    if (probe.getText('text').toString() !== first.toString()) throw new Error('sync after the failure diverged');
    after = `after destroying 20 documents, the ${checked} others still hold their text, and still edit, encode and sync`;
  } catch (err2) {
    after = `the documents made before it are dead too: ${err2?.constructor?.name}: ${err2?.message}`;
  }
  console.log(after);
}
