// Out-of-order delivery: the transactions of a real concurrent session (../shared/traces/
// concurrent) are replayed with one document per agent, each transaction's update captured;
// then the first N updates are applied to a fresh document in order and in reverse order
// (every update but the first then waits for its parents). Prints ms for roomsync and Yjs.
//   node tests/bench/out-of-order.js [--trace clownschool] [--count 3000]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as Y from 'yjs';

import { createDoc } from '../../js/index.js';
import { listTraces, loadTrace, tracesDir } from '../js/helpers/traces.js';

const { values } = parseArgs({ options: { trace: { type: 'string', default: 'clownschool' }, count: { type: 'string', default: '3000' } } });
const dir = join(tracesDir(), 'concurrent');
if (!listTraces(dir).includes(values.trace)) {
  console.log(`SKIPPED: concurrent trace ${values.trace} not found in ${dir} (set ROOMSYNC_TRACES)`);
  process.exit(0);
}
const trace = loadTrace(dir, values.trace);
const count = Math.min(Number(values.count), trace.txns.length);

// Both libraries share this API shape: one transaction per trace transaction, its update kept.
function edit(doc, patches) {
  let update = null;
  const grab = (u) => { update = u; };
  doc.on('update', grab);
  const text = doc.getText('text');
  doc.transact(() => {
    for (const [pos, del, ins] of patches) {
      if (del > 0) text.delete(pos, del);
      if (ins.length > 0) text.insert(pos, ins);
    }
  });
  doc.off('update', grab);
  return update;
}

const libs = {
  roomsync: {
    async create(id) { return createDoc({ clientId: id }); },
    edit,
    apply(doc, update) { doc.applyUpdate(update); },
    text(doc) { return doc.getText('text').toString(); },
    pending(doc) { return doc.pendingOps; },
  },
  yjs: {
    async create(id) { const d = new Y.Doc(); d.clientID = id; return d; },
    edit,
    apply(doc, update) { Y.applyUpdate(doc, update); },
    text(doc) { return doc.getText('text').toString(); },
    pending(doc) { return doc.store.pendingStructs ? 1 : 0; },
  },
};

// One document per agent, each transaction applied on top of exactly its parents' version.
// A version is a per-agent count of included transactions (each agent's are totally ordered).
async function captureUpdates(lib) {
  const n = trace.numAgents;
  const docs = [];
  for (let a = 0; a < n; a++) docs.push(await lib.create(a + 1));
  const docVersion = docs.map(() => new Array(n).fill(0));
  const byAgent = Array.from({ length: n }, () => []); // agent -> its txn indexes, in order
  const versions = []; // txn index -> version right after it
  const updates = [];
  for (let i = 0; i < trace.txns.length; i++) {
    const { agent, parents, patches } = trace.txns[i];
    const need = new Array(n).fill(0);
    for (const p of parents) for (let b = 0; b < n; b++) need[b] = Math.max(need[b], versions[p][b]);
    for (let b = 0; b < n; b++) {
      for (let k = docVersion[agent][b]; k < need[b]; k++) lib.apply(docs[agent], updates[byAgent[b][k]]);
      docVersion[agent][b] = Math.max(docVersion[agent][b], need[b]);
    }
    updates.push(lib.edit(docs[agent], patches));
    byAgent[agent].push(i);
    docVersion[agent][agent] = byAgent[agent].length;
    need[agent] = byAgent[agent].length;
    versions.push(need);
  }
  const final = await lib.create(98);
  for (const u of updates) lib.apply(final, u);
  if (lib.text(final) !== trace.endContent) throw new Error('replay did not reach endContent');
  return updates;
}

async function time(lib, updates, order) {
  const doc = await lib.create(99);
  const t0 = performance.now();
  for (const i of order) lib.apply(doc, updates[i]);
  return { ms: performance.now() - t0, text: lib.text(doc) };
}

const forward = Array.from({ length: count }, (_, i) => i);
const reverse = [...forward].reverse();
console.log(`${values.trace}: first ${count} of ${trace.txns.length} transactions (${trace.numAgents} agents)`);
console.log('| library | in order (ms) | reverse order (ms) | reverse ÷ in order |');
console.log('|---|---:|---:|---:|');
for (const [name, lib] of Object.entries(libs)) {
  const updates = await captureUpdates(lib);
  const a = await time(lib, updates, forward);
  const b = await time(lib, updates, reverse);
  if (a.text !== b.text) throw new Error(`${name}: reverse delivery ended with another text`);
  console.log(`| ${name} | ${a.ms.toFixed(1)} | ${b.ms.toFixed(1)} | ${(b.ms / a.ms).toFixed(1)}× |`);
}
