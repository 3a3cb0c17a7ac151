// Child process of tests/js/memory.test.js: grows the module past 2 GiB with ballast documents,
// then checks that documents whose memory lies above 2 GiB edit, read, observe, encode and sync
// (pointers above 2^31 must reach JS unsigned). Prints "ok: …" and exits 0, or throws.
import assert from 'node:assert/strict';

import { createDoc, memoryUsage } from '../../../js/index.js';

const MB = 2 ** 20;
const ballast = [];
const chunk = 'b'.repeat(2 * MB); // 4 MB of UTF-16 per document
while ((await memoryUsage()).usedBytes < 2200 * MB) {
  const d = await createDoc();
  d.getText('t').insert(0, chunk);
  ballast.push(d);
}
// Allocated now, so above 2 GiB: a bigger scratch buffer, the documents and their buffers.
const a = await createDoc({ clientId: 1 });
const b = await createDoc({ clientId: 2 });
const deltas = [];
b.getText('t').observe((e) => deltas.push(e.delta));
const big = 'héllo wörld 👋 '.repeat(2 ** 18); // 4.5 M units, longer than any string before: a new scratch
a.getText('t').insert(0, big);
a.getText('t').insert(5, '<>');
a.getMap('m').set('k', { v: [1, 2, 3] });
b.applyUpdate(a.encodeState(), 'net');
assert.equal(b.getText('t').toString(), a.getText('t').toString());
assert.equal(b.getText('t').length, big.length + 2);
assert.deepEqual(b.getMap('m').get('k'), { v: [1, 2, 3] });
assert.equal(deltas.length, 1);
assert.equal(deltas[0][0].insert.length, big.length + 2);
b.getText('t').delete(0, 5);
a.applyUpdate(b.encodeStateSince(a.stateVector()));
assert.equal(a.getText('t').toString(), b.getText('t').toString());
assert.ok(a.getText('t').toString().startsWith('<>'));
const u = await memoryUsage();
assert.ok(u.wasmBytes > 2 * 1024 * MB, `wasm memory only ${u.wasmBytes}`);
console.log(`ok: wasm memory ${Math.round(u.wasmBytes / MB)} MB, ${ballast.length} ballast documents`);
