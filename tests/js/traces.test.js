// Real editing traces replayed through the public JS API on the wasm build.
// Traces: josephg/editing-traces (CC BY 4.0), read from ../shared/traces or $ROOMSYNC_TRACES.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { createDoc } from '../../js/index.js';
import { listTraces, loadTrace, tracesDir } from './helpers/traces.js';

const dir = tracesDir();
const sequential = listTraces(dir);
const concurrent = listTraces(join(dir, 'concurrent'));

const ms = (t0) => `${(performance.now() - t0).toFixed(0)} ms`;

function applyPatches(text, patches) {
  for (const [pos, del, ins] of patches) {
    if (del > 0) text.delete(pos, del);
    if (ins.length > 0) text.insert(pos, ins);
  }
}

describe('sequential traces', () => {
  if (sequential.length === 0) {
    test('sequential traces', (t) => {
      const msg = `NO TRACES FOUND in ${dir} (set ROOMSYNC_TRACES): trace replays were NOT run`;
      console.warn(`\n!!! ${msg}\n`);
      t.skip(msg);
    });
    return;
  }
  for (const name of sequential) {
    test(name, async (t) => {
      const trace = loadTrace(dir, name);
      const doc = await createDoc({ clientId: 1 });
      const text = doc.getText('text');
      let t0 = performance.now();
      let patches = 0;
      for (const txn of trace.txns) {
        patches += txn.patches.length;
        if (txn.patches.length === 1) applyPatches(text, txn.patches);
        else doc.transact(() => applyPatches(text, txn.patches));
      }
      const replay = ms(t0);
      assert.equal(text.length, trace.endContent.length);
      assert.ok(text.toString() === trace.endContent, `${name}: final text differs from endContent`);

      t0 = performance.now();
      const state = doc.encodeState();
      const encode = ms(t0);
      t0 = performance.now();
      const loaded = await createDoc({ state });
      const load = ms(t0);
      assert.ok(loaded.getText('text').toString() === trace.endContent, `${name}: reloaded text differs`);
      t.diagnostic(`${name}: ${patches} patches replayed in ${replay}; state ${state.length} B ` +
        `(encode ${encode}, load ${load})`);
      doc.destroy();
      loaded.destroy();
    });
  }
});

describe('concurrent traces', () => {
  if (concurrent.length === 0) {
    test('concurrent traces', (t) => {
      const msg = `NO CONCURRENT TRACES FOUND in ${join(dir, 'concurrent')}: concurrent replays were NOT run`;
      console.warn(`\n!!! ${msg}\n`);
      t.skip(msg);
    });
    return;
  }
  for (const name of concurrent) {
    test(name, async (t) => {
      const trace = loadTrace(join(dir, 'concurrent'), name);
      t.diagnostic(await replayConcurrent(name, trace));
    });
  }
});

// One document per agent. Before each transaction the agent's document is brought to exactly
// the version of the transaction's parents, by applying the updates that the missing
// transactions produced (each captured from the 'update' event of its own transaction).
async function replayConcurrent(name, trace) {
  const n = trace.numAgents;
  const docs = [];
  for (let a = 0; a < n; a++) docs.push(await createDoc({ clientId: a + 1 }));
  const texts = docs.map((d) => d.getText('text'));

  // A version is a per-agent count of included transactions: each agent's transactions are
  // totally ordered, so any causally closed set holds a prefix of each agent's sequence.
  const byAgent = Array.from({ length: n }, () => []); // agent -> [txn index]
  const seqOf = new Int32Array(trace.txns.length); // txn index -> position in its agent's sequence
  const versions = []; // txn index -> version right after it
  const updates = new Array(trace.txns.length);
  const docVersion = docs.map(() => new Array(n).fill(0));

  let captured = null;
  docs.forEach((d) => d.on('update', (u, origin) => { if (origin === 'local') captured = u; }));

  const t0 = performance.now();
  let synced = 0;
  trace.txns.forEach((txn, i) => {
    const a = txn.agent;
    seqOf[i] = byAgent[a].length;
    byAgent[a].push(i);
    const target = new Array(n).fill(0);
    for (const p of txn.parents) {
      const v = versions[p];
      for (let k = 0; k < n; k++) if (v[k] > target[k]) target[k] = v[k];
    }
    // Catch the agent's document up to `target`, applying missing transactions in trace order
    // (parents always come before children, so no update waits for a missing parent).
    const have = docVersion[a];
    const missing = [];
    for (let k = 0; k < n; k++) {
      assert.ok(have[k] <= target[k], `${name}: txn ${i}: agent ${a} is ahead of its parents`);
      for (let s = have[k]; s < target[k]; s++) missing.push(byAgent[k][s]);
    }
    missing.sort((x, y) => x - y);
    for (const j of missing) docs[a].applyUpdate(updates[j], 'remote');
    synced += missing.length;
    for (let k = 0; k < n; k++) have[k] = target[k];

    captured = null;
    docs[a].transact(() => applyPatches(texts[a], txn.patches), 'local');
    assert.ok(captured !== null, `${name}: txn ${i} produced no update`);
    updates[i] = captured;
    have[a] = seqOf[i] + 1;
    target[a] = seqOf[i] + 1;
    versions[i] = target;
  });
  const replay = ms(t0);

  const t1 = performance.now();
  const merged = await createDoc({ clientId: n + 1 });
  for (const d of docs) merged.applyUpdate(d.encodeState());
  const merge = ms(t1);
  assert.equal(merged.pendingOps, 0);
  assert.ok(merged.getText('text').toString() === trace.endContent, `${name}: merged text differs from endContent`);

  // Every agent converges too once it has everything.
  for (const d of docs) {
    d.applyUpdate(merged.encodeStateSince(d.stateVector()));
    assert.ok(d.getText('text').toString() === trace.endContent, `${name}: agent ${d.clientId - 1} differs`);
  }
  for (const d of [...docs, merged]) d.destroy();
  return `${name}: ${trace.txns.length} txns by ${n} agents replayed in ${replay} ` +
    `(${synced} remote txn updates applied); merge of ${n} states in ${merge}`;
}
