// List roots through the public JS API (js/index.js) on the real WebAssembly build (dist/).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createDoc, List } from '../../js/index.js';
import { rng } from './helpers/rng.js';

// Applies a list delta to a plain array (what an app binding would do).
function applyDelta(arr, delta) {
  const out = [];
  let i = 0;
  for (const op of delta) {
    if (op.retain !== undefined) {
      out.push(...arr.slice(i, i + op.retain));
      i += op.retain;
    } else if (op.insert !== undefined) {
      assert.ok(Array.isArray(op.insert) && op.insert.length > 0);
      out.push(...op.insert);
    } else {
      assert.ok(i + op.delete <= arr.length, 'delete past the end');
      i += op.delete;
    }
  }
  return out.concat(arr.slice(i));
}

describe('List API', () => {
  test('push, insert, get, delete, length, iteration, toJSON', async () => {
    const doc = await createDoc();
    const list = doc.getList('l');
    assert.ok(list instanceof List);
    assert.equal(doc.getList('l'), list);
    assert.equal(list.length, 0);
    assert.deepEqual(list.toArray(), []);
    list.push(1, 'two', { three: [3] });
    list.insert(0, null, true);
    list.insert(3, 2.5);
    assert.deepEqual(list.toArray(), [null, true, 1, 2.5, 'two', { three: [3] }]);
    assert.equal(list.length, 6);
    assert.equal(list.get(4), 'two');
    assert.deepEqual(list.get(5), { three: [3] });
    assert.equal(list.get(6), undefined);
    assert.deepEqual([...list], list.toArray());
    assert.equal(JSON.stringify({ list }), '{"list":[null,true,1,2.5,"two",{"three":[3]}]}');
    list.delete(0); // count defaults to 1
    list.delete(1, 2);
    assert.deepEqual(list.toArray(), [true, 'two', { three: [3] }]);
    list.delete(0, list.length);
    assert.deepEqual(list.toArray(), []);
    // Nothing to do: fine at a valid index.
    list.insert(0);
    list.delete(0, 0);
    doc.destroy();
    assert.throws(() => list.push(1), /destroyed/);
  });

  test('values are stored as JSON: copies come back, tricky strings intact', async () => {
    const doc = await createDoc();
    const list = doc.getList('l');
    const obj = { a: [1, { b: 'c' }] };
    const tricky = ['line\nbreak', 'tab\there', '\u2028\u2029', '"quoted" \\', '👋🏽 中文', '\ud800 lone', ''];
    list.push(obj, ...tricky, [undefined, () => 1], -0, 1e300);
    const back = list.toArray();
    assert.deepEqual(back[0], obj);
    assert.notEqual(back[0], obj);
    obj.a.push(2); // the list keeps its own copy
    assert.deepEqual(list.get(0), { a: [1, { b: 'c' }] });
    assert.deepEqual(back.slice(1, 1 + tricky.length), tricky);
    assert.deepEqual(back.slice(1 + tricky.length), [[null, null], 0, 1e300]);
    // A copy loads the same values.
    const copy = await createDoc({ state: doc.encodeState() });
    assert.deepEqual(copy.getList('l').toArray(), back);
  });

  test('bad indexes are RangeErrors, bad values TypeErrors; nothing changes', async () => {
    const doc = await createDoc();
    const list = doc.getList('l');
    list.push('a', 'b');
    let updates = 0;
    doc.on('update', () => updates++);
    assert.throws(() => list.insert(3, 'x'), RangeError);
    assert.throws(() => list.insert(3), RangeError); // empty inserts are checked the same way
    assert.throws(() => list.insert(-1, 'x'), RangeError);
    assert.throws(() => list.insert(1.5, 'x'), RangeError);
    assert.throws(() => list.insert('1', 'x'), RangeError);
    assert.throws(() => list.delete(1, 2), RangeError);
    assert.throws(() => list.delete(2), RangeError);
    assert.throws(() => list.delete(0, -1), RangeError);
    assert.throws(() => list.get(-1), RangeError);
    const cycle = {};
    cycle.self = cycle;
    assert.throws(() => list.push(undefined), TypeError);
    assert.throws(() => list.push(() => 1), TypeError);
    assert.throws(() => list.push(Symbol('s')), TypeError);
    assert.throws(() => list.push(cycle), TypeError);
    assert.throws(() => list.push(10n), TypeError);
    assert.throws(() => list.insert(0, 'ok', undefined, 'ok'), TypeError); // one bad value: none inserted
    assert.deepEqual(list.toArray(), ['a', 'b']);
    assert.equal(updates, 0);
    // One name, one type.
    doc.getText('t');
    assert.throws(() => doc.getList('t'), /is a Text, not a List/);
    assert.throws(() => doc.getMap('l'), /is a List, not a Map/);
  });
});

describe('List events', () => {
  test('Yjs-style deltas with the Text event shape, composed per transaction', async () => {
    const doc = await createDoc();
    const list = doc.getList('l');
    list.push('a', 'b', 'c');
    const events = [];
    const cb = (e) => events.push(e);
    list.observe(cb);
    list.insert(1, 'x', 'y');
    list.delete(0);
    doc.transact(() => {
      list.push('z');
      list.delete(0, 2); // x y
      list.insert(0, 'w');
    }, 'mine');
    assert.equal(events.length, 3);
    assert.deepEqual(events[0].delta, [{ retain: 1 }, { insert: ['x', 'y'] }]);
    assert.deepEqual(events[1].delta, [{ delete: 1 }]);
    assert.deepEqual(events[2].delta, [{ insert: ['w'] }, { delete: 2 }, { retain: 2 }, { insert: ['z'] }]);
    assert.equal(events[0].target, list);
    assert.equal(events[0].origin, null);
    assert.equal(events[0].transaction.local, true);
    assert.equal(events[2].origin, 'mine');
    assert.deepEqual(list.toArray(), ['w', 'b', 'c', 'z']);
    list.unobserve(cb);
    list.push('after');
    assert.equal(events.length, 3);
  });

  test('remote changes arrive as one delta per update, with the origin', async () => {
    const a = await createDoc();
    const b = await createDoc();
    const la = a.getList('l');
    const lb = b.getList('l');
    la.push(1, 2, 3);
    b.applyUpdate(a.encodeState());
    let seen = lb.toArray();
    const got = [];
    lb.observe(({ delta, origin, transaction }) => {
      got.push({ origin, local: transaction.local });
      seen = applyDelta(seen, delta);
    });
    const sv = b.stateVector();
    la.insert(1, { n: 1.5 });
    la.delete(3);
    la.push([4]);
    b.applyUpdate(a.encodeStateSince(sv), 'net');
    assert.deepEqual(got, [{ origin: 'net', local: false }]);
    assert.deepEqual(seen, [1, { n: 1.5 }, 2, [4]]);
    assert.deepEqual(lb.toArray(), seen);
  });
});

describe('List sync', () => {
  test('replicas converge whatever the delivery order, duplicates included', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const rand = rng(seed);
      const pick = (n) => Math.floor(rand() * n);
      const docs = [];
      for (let i = 0; i < 3; i++) docs.push(await createDoc({ clientId: 100 + i + seed * 10 }));
      const log = [];
      for (const d of docs) d.on('update', (u, origin) => { if (origin !== 'net') log.push(u); });
      const seen = docs.map(() => []);
      docs.forEach((d, i) => d.getList('l').observe(({ delta }) => { seen[i] = applyDelta(seen[i], delta); }));
      for (let step = 0; step < 150; step++) {
        const i = pick(docs.length);
        const d = docs[i];
        const list = d.getList('l');
        const r = rand();
        if (r < 0.45) {
          const values = Array.from({ length: 1 + pick(3) }, () => ({ by: i, n: step, tag: 'v'.repeat(pick(4)) }));
          list.insert(pick(list.length + 1), ...values);
        } else if (r < 0.65 && list.length > 0) {
          const at = pick(list.length);
          list.delete(at, 1 + pick(Math.min(3, list.length - at)));
        } else if (r < 0.75) {
          const t = d.getText('t');
          t.insert(pick(t.length + 1), 'ab');
        } else if (log.length > 0) {
          // Deliver a few random updates (any order, maybe again).
          for (let k = pick(4); k >= 0; k--) d.applyUpdate(log[pick(log.length)], 'net');
        }
      }
      // Everything to everyone, shuffled, twice.
      for (const d of docs) {
        for (let round = 0; round < 2; round++) {
          const order = log.map((_, k) => k);
          for (let k = order.length - 1; k > 0; k--) {
            const j = pick(k + 1);
            [order[k], order[j]] = [order[j], order[k]];
          }
          for (const k of order) d.applyUpdate(log[k], 'net');
        }
      }
      const want = docs[0].getList('l').toArray();
      assert.ok(want.length > 5, `seed ${seed}: list too short`);
      docs.forEach((d, i) => {
        assert.equal(d.pendingOps, 0);
        assert.deepEqual(d.getList('l').toArray(), want, `seed ${seed}: replica ${i}`);
        assert.deepEqual(seen[i], want, `seed ${seed}: events of replica ${i}`);
        assert.equal(d.getText('t').toString(), docs[0].getText('t').toString());
      });
      const fresh = await createDoc({ state: docs[1].encodeState() });
      assert.deepEqual(fresh.getList('l').toArray(), want);
    }
  });

  test('concurrent pushes at one place do not interleave', async () => {
    const a = await createDoc({ clientId: 1 });
    const b = await createDoc({ clientId: 2 });
    a.getList('chat').push('start');
    b.applyUpdate(a.encodeState());
    for (let i = 0; i < 5; i++) {
      a.getList('chat').push(`a${i}`);
      b.getList('chat').push(`b${i}`);
    }
    a.applyUpdate(b.encodeStateSince(a.stateVector()));
    b.applyUpdate(a.encodeStateSince(b.stateVector()));
    const msgs = a.getList('chat').toArray();
    assert.deepEqual(b.getList('chat').toArray(), msgs);
    const shape = msgs.slice(1).map((m) => m[0]).join('');
    assert.ok(shape === 'aaaaabbbbb' || shape === 'bbbbbaaaaa', shape);
  });

  test('a corrupted list update is refused and changes nothing', async () => {
    const a = await createDoc({ clientId: 1 });
    a.getList('l').push({ k: 'value' }, 2);
    const good = a.encodeState();
    const b = await createDoc();
    b.getList('l').push('mine');
    const before = b.encodeState();
    for (let n = 0; n < good.length; n++) {
      assert.throws(() => b.applyUpdate(good.slice(0, n)), Error, `truncated to ${n}`);
    }
    const bad = good.slice();
    const at = Buffer.from(bad).indexOf('{"k"');
    assert.ok(at > 0);
    bad[at] = 'x'.charCodeAt(0); // the value is no longer JSON
    assert.throws(() => b.applyUpdate(bad), /not valid JSON/);
    assert.deepEqual(b.encodeState(), before);
    b.applyUpdate(good);
    assert.equal(b.getList('l').length, 3);
  });
});
