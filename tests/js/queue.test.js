// The command queue (js/index.js, queueEdit): text edits of a document nobody listens to are
// queued in wasm memory and run in one call. It must be invisible: same errors at the same
// call, same document bytes, same reads, whatever else happens in between.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createDoc, _testing } from '../../js/index.js';
import { rng } from './helpers/rng.js';

const ALPHABET = ['a', 'b', ' ', '\n', 'é', 'xyz', 'hello world ', ''];

describe('text edits queued in wasm memory', () => {
  test('a queued document and a listened-to one (direct calls) end byte for byte alike', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const queued = await createDoc({ clientId: 7 });
      const direct = await createDoc({ clientId: 7 });
      const other = await createDoc({ clientId: 8 }); // edits to another doc move the queue back and forth
      direct.getText('t').observe(() => {}); // a listener: every edit goes straight to the core
      const tq = queued.getText('t');
      const td = direct.getText('t');
      const t2 = queued.getText('second');
      for (let i = 0; i < 3000; i++) {
        const len = td.length;
        assert.equal(tq.length, len, `seed ${seed} step ${i}: length`);
        const x = r();
        if (x < 0.55 || len === 0) {
          const pos = Math.floor(r() * (len + 1));
          const s = ALPHABET[Math.floor(r() * ALPHABET.length)];
          tq.insert(pos, s);
          td.insert(pos, s);
        } else if (x < 0.85) {
          const pos = Math.floor(r() * len);
          const n = Math.min(len - pos, 1 + Math.floor(r() * 3));
          tq.delete(pos, n);
          td.delete(pos, n);
        } else if (x < 0.9) {
          other.getText('t').insert(0, 'o'); // another document takes the queue
        } else if (x < 0.93) {
          t2.insert(0, 'second root'); // another root of the same document
          direct.getText('second').insert(0, 'second root');
        } else if (x < 0.96) {
          assert.equal(tq.toString(), td.toString(), `seed ${seed} step ${i}: text`);
        } else {
          // A bad edit throws the same error, at once, and loses none of the queued ones.
          const bad = len + 1 + Math.floor(r() * 3);
          const e1 = captureError(() => tq.insert(bad, 'x'));
          const e2 = captureError(() => td.insert(bad, 'x'));
          assert.deepEqual([e1?.name, e1?.message], [e2?.name, e2?.message]);
          const e3 = captureError(() => tq.delete(len, 1));
          const e4 = captureError(() => td.delete(len, 1));
          assert.deepEqual([e3?.name, e3?.message], [e4?.name, e4?.message]);
        }
      }
      assert.equal(tq.toString(), td.toString());
      assert.deepEqual(queued.encodeState(), direct.encodeState(), `seed ${seed}: state bytes`);
      for (const d of [queued, direct, other]) d.destroy();
    }
  });

  test('createDoc refuses a bare client id (it takes an options object)', async () => {
    await assert.rejects(() => createDoc(7), TypeError);
  });

  test('bad arguments throw at the call that made them, like direct calls', async () => {
    const doc = await createDoc();
    const t = doc.getText('t');
    t.insert(0, 'abc');
    assert.throws(() => t.insert(-1, 'x'), RangeError);
    assert.throws(() => t.insert(1.5, 'x'), RangeError);
    assert.throws(() => t.insert(4, 'x'), RangeError);
    assert.throws(() => t.insert(0, 5), TypeError);
    assert.throws(() => t.delete(2, 2), RangeError);
    assert.throws(() => t.delete(0, -1), RangeError);
    t.insert(3, ''); // empty edits in range are fine and change nothing
    t.delete(3, 0);
    assert.equal(t.toString(), 'abc');
    doc.destroy();
  });

  test('surrogate pairs: positions inside a pair are refused once the text holds one', async () => {
    const doc = await createDoc();
    const t = doc.getText('t');
    t.insert(0, 'ab');
    t.insert(1, '😀'); // a pair: from now on every edit of this doc goes to the core's checks
    assert.throws(() => t.insert(2, 'x'), /surrogate pair/);
    assert.throws(() => t.delete(2, 1), /surrogate pair/);
    t.insert(3, 'c');
    assert.equal(t.toString(), 'a😀cb');
    doc.destroy();
  });

  test('transactions, listeners added later, undo and sync see every queued edit', async () => {
    const a = await createDoc();
    const t = a.getText('t');
    t.insert(0, 'hello');
    a.transact(() => {
      t.insert(5, ' world');
      t.delete(0, 1);
      t.insert(0, 'H');
    });
    const deltas = [];
    t.observe((e) => deltas.push(e.delta));
    t.insert(11, '!'); // listened to now: direct, after the queued ones ran
    assert.deepEqual(deltas, [[{ retain: 11 }, { insert: '!' }]]);
    const b = await createDoc();
    b.applyUpdate(a.encodeState());
    assert.equal(b.getText('t').toString(), 'Hello world!');
    a.destroy();
    b.destroy();
  });

  test('a destroyed document drops its queued edits; the next document queues normally', async () => {
    const a = await createDoc();
    a.getText('t').insert(0, 'lost with the doc');
    a.destroy();
    assert.throws(() => a.getText('t'), /destroyed/);
    const b = await createDoc();
    b.getText('t').insert(0, 'kept');
    _testing.runQueued(b);
    assert.equal(b.getText('t').toString(), 'kept');
    b.destroy();
  });

  test('more edits than one batch holds, and one insert larger than the buffer', async () => {
    const doc = await createDoc();
    const t = doc.getText('t');
    let expected = '';
    for (let i = 0; i < 20000; i++) {
      t.insert(i, String.fromCharCode(97 + (i % 26)));
      expected += String.fromCharCode(97 + (i % 26));
    }
    const big = 'x'.repeat(100_000); // larger than the queue: goes direct, in order
    t.insert(5, big);
    expected = expected.slice(0, 5) + big + expected.slice(5);
    t.delete(0, 2);
    expected = expected.slice(2);
    assert.equal(t.length, expected.length);
    assert.equal(t.toString(), expected);
    doc.destroy();
  });
});

function captureError(fn) {
  try {
    fn();
    return null;
  } catch (e) {
    return e;
  }
}
