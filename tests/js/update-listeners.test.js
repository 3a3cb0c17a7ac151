// 'update' listeners of a document nobody observes (its transactions carry no events: B4 of
// issue 8) get the same bytes, origins, order and errors as those of a document whose observers
// make every transaction carry events (js/index.js, Doc._dispatch).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createDoc, ListenerError } from '../../js/index.js';
import { rng } from './helpers/rng.js';

const PIECES = ['a', ' ', 'é', '中', 'hello world ', 'x'.repeat(5000)]; // no pairs: random positions would split them

// Two documents of one client id: `plain` has 'update' listeners only, `observed` observes every
// root too (so its transactions carry events). Returns what each listener saw.
async function pair() {
  const out = [];
  for (const observe of [false, true]) {
    const doc = await createDoc({ clientId: 41 });
    const seen = [];
    doc.on('update', (u, origin) => seen.push([u, origin]));
    if (observe) for (const r of [doc.getText('t'), doc.getMap('m'), doc.getCounter('c')]) r.observe(() => {});
    out.push({ doc, seen });
  }
  return out;
}

describe("'update' listeners without observers", () => {
  test('seeded edits, transactions and remote updates: the same bytes and origins as with observers', async () => {
    for (let seed = 1; seed <= 8; seed++) {
      const r = rng(seed);
      const [plain, observed] = await pair();
      const peer = await createDoc({ clientId: 42 });
      const peerUpdates = [];
      peer.on('update', (u) => peerUpdates.push(u));
      for (let step = 0; step < 300; step++) {
        const k = Math.floor(r() * 6);
        const s = PIECES[Math.floor(r() * PIECES.length)];
        const pos = Math.floor(r() * (plain.doc.getText('t').length + 1));
        for (const { doc } of [plain, observed]) {
          const t = doc.getText('t');
          if (k === 0 && t.length > 0) t.delete(Math.min(pos, t.length - 1), 1);
          else if (k === 1) doc.getMap('m').set(`k${step % 7}`, step);
          else if (k === 2) doc.getCounter('c').increment(step);
          else if (k === 3) doc.transact(() => { t.insert(0, s); t.insert(t.length, s); }, `txn ${step}`);
          else if (k === 4 && peerUpdates.length > 0) doc.applyUpdate(peerUpdates[peerUpdates.length - 1], 'peer');
          else t.insert(pos, s);
        }
        if (r() < 0.2) peer.getText('t').insert(0, s);
      }
      assert.ok(plain.seen.length > 200, `seed ${seed}: ${plain.seen.length} updates`);
      assert.deepEqual(plain.seen, observed.seen, `seed ${seed}`);
      assert.deepEqual(plain.doc.encodeState(), observed.doc.encodeState());
      for (const d of [plain.doc, observed.doc, peer]) d.destroy();
    }
  });

  test('a listener that edits: its update follows the one being emitted, on both paths', async () => {
    const [plain, observed] = await pair();
    for (const { doc } of [plain, observed]) {
      doc.on('update', (u, origin) => {
        if (origin !== 'echo') doc.transact(() => doc.getText('t').insert(0, '>'), 'echo');
      });
      doc.getText('t').insert(0, 'a');
      doc.getText('t').insert(2, 'b');
      assert.equal(doc.getText('t').toString(), '>>ab');
    }
    assert.deepEqual(plain.seen.map(([, o]) => o), [null, 'echo', null, 'echo']);
    assert.deepEqual(plain.seen, observed.seen);
  });

  test('a listener that throws: every listener still gets the bytes, the edit stays, then a ListenerError', async () => {
    const [plain, observed] = await pair();
    for (const { doc, seen } of [plain, observed]) {
      const boom = new Error('boom');
      const after = [];
      doc.on('update', () => { throw boom; });
      doc.on('update', (u) => after.push(u));
      assert.throws(() => doc.getText('t').insert(0, 'hi'), (e) => e instanceof ListenerError &&
        e.cause === boom && e.errors.length === 1);
      assert.equal(doc.getText('t').toString(), 'hi');
      assert.deepEqual(after, [seen[0][0]]);
      assert.throws(() => doc.transact(() => doc.getText('t').insert(2, '!'), 'o'), ListenerError);
      assert.equal(doc.getText('t').toString(), 'hi!');
      assert.deepEqual(after, [seen[0][0], seen[1][0]]);
    }
    assert.deepEqual(plain.seen, observed.seen);
    assert.deepEqual(plain.seen.map(([, o]) => o), [null, 'o']);
  });

  test('each update is a copy: later edits leave the bytes a listener kept as they were', async () => {
    const doc = await createDoc({ clientId: 43 });
    const got = [];
    const snapshots = [];
    doc.on('update', (u) => { got.push(u); snapshots.push(Array.from(u)); });
    for (let i = 0; i < 50; i++) doc.getText('t').insert(i, String.fromCharCode(97 + (i % 26)));
    assert.equal(got.length, 50);
    got.forEach((u, i) => assert.deepEqual(Array.from(u), snapshots[i]));
    assert.notEqual(got[0].buffer, got[1].buffer);
    const copy = await createDoc();
    for (const u of got) copy.applyUpdate(u);
    assert.equal(copy.getText('t').toString(), doc.getText('t').toString());
  });

  // B4 (issue 8): a text edit returns its result with its status (one wasm call); one that is
  // refused or empty emits nothing, and the next edit's bytes are its own.
  test('refused and empty text edits emit nothing; the next edit emits its own bytes', async () => {
    const [plain, observed] = await pair();
    for (const { doc } of [plain, observed]) {
      const t = doc.getText('t');
      t.insert(0, 'ab');
      assert.throws(() => t.insert(9, 'x'), RangeError);
      assert.throws(() => t.delete(1, 5), RangeError);
      t.insert(1, '');
      t.delete(1, 0);
      t.delete(0, 1);
      t.insert(1, 'c');
      assert.equal(t.toString(), 'bc');
    }
    assert.equal(plain.seen.length, 3);
    assert.deepEqual(plain.seen.map(([u]) => Array.from(u)), observed.seen.map(([u]) => Array.from(u)));
    const copy = await createDoc();
    for (const [u] of plain.seen) copy.applyUpdate(u);
    assert.equal(copy.getText('t').toString(), 'bc');
  });
});
