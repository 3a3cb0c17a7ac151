// The public JS API (js/index.js) on the real WebAssembly build (dist/).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { createDoc, Doc, Text, RMap, Register, Counter } from '../../js/index.js';

// Connects docs so every local change reaches the others through 'update' events.
function connect(...docs) {
  for (const from of docs) {
    from.on('update', (update, origin) => {
      if (origin === 'remote') return; // relay only local changes (full mesh)
      for (const to of docs) if (to !== from) to.applyUpdate(update, 'remote');
    });
  }
}

// Brings every doc up to date with every other through state vectors (delta sync).
function syncAll(...docs) {
  for (const a of docs) {
    for (const b of docs) {
      if (a !== b) b.applyUpdate(a.encodeStateSince(b.stateVector()));
    }
  }
}

function snapshot(doc, { texts = [], maps = [], registers = [], counters = [] }) {
  return {
    texts: texts.map((n) => doc.getText(n).toString()),
    maps: maps.map((n) => doc.getMap(n).toJSON()),
    registers: registers.map((n) => doc.getRegister(n).get()),
    counters: counters.map((n) => doc.getCounter(n).value),
  };
}

describe('createDoc', () => {
  test('random 53-bit client ids by default', async () => {
    const a = await createDoc();
    const b = await createDoc();
    for (const d of [a, b]) {
      assert.ok(Number.isSafeInteger(d.clientId) && d.clientId >= 0, `clientId ${d.clientId}`);
    }
    assert.notEqual(a.clientId, b.clientId);
    assert.ok(a instanceof Doc);
  });

  test('explicit client id, validated', async () => {
    assert.equal((await createDoc({ clientId: 42 })).clientId, 42);
    assert.equal((await createDoc({ clientId: 2 ** 53 - 1 })).clientId, 2 ** 53 - 1);
    await assert.rejects(createDoc({ clientId: -1 }), RangeError);
    await assert.rejects(createDoc({ clientId: 1.5 }), RangeError);
    await assert.rejects(createDoc({ clientId: 2 ** 53 }), RangeError);
  });

  test('loads a saved state', async () => {
    const a = await createDoc();
    a.getText('t').insert(0, 'saved text');
    a.getMap('m').set('k', { deep: [1, 2] });
    a.getRegister('r').set('reg');
    a.getCounter('c').increment(7);
    const b = await createDoc({ state: a.encodeState() });
    const roots = { texts: ['t'], maps: ['m'], registers: ['r'], counters: ['c'] };
    assert.deepEqual(snapshot(b, roots), snapshot(a, roots));
    // b keeps editing with its own id, and a can catch up
    b.getText('t').insert(0, '> ');
    a.applyUpdate(b.encodeStateSince(a.stateVector()));
    assert.equal(a.getText('t').toString(), '> saved text');
  });

  test('rejects a bad state', async () => {
    await assert.rejects(createDoc({ state: new Uint8Array([0xff, 0xff, 0xff, 0xff]) }), Error);
  });
});

describe('roots', () => {
  test('same name, same object; another type throws', async () => {
    const doc = await createDoc();
    const t = doc.getText('x');
    assert.ok(t instanceof Text);
    assert.equal(doc.getText('x'), t);
    assert.throws(() => doc.getMap('x'), /x/);
    assert.throws(() => doc.getCounter('x'), /x/);
    assert.ok(doc.getMap('m') instanceof RMap);
    assert.ok(doc.getRegister('r') instanceof Register);
    assert.ok(doc.getCounter('c') instanceof Counter);
    assert.throws(() => doc.getText('m'));
    assert.throws(() => doc.getText(3), TypeError);
  });

  test('a name that arrived as another type in an update throws', async () => {
    const a = await createDoc();
    a.getText('shared').insert(0, 'hi');
    const b = await createDoc({ state: a.encodeState() });
    assert.throws(() => b.getMap('shared'), Error);
    assert.equal(b.getText('shared').toString(), 'hi');
  });
});

describe('Text', () => {
  test('insert, delete, length, toString', async () => {
    const doc = await createDoc();
    const t = doc.getText('body');
    assert.equal(t.toString(), '');
    assert.equal(t.length, 0);
    t.insert(0, 'hello world');
    t.insert(5, ',');
    t.delete(0, 1);
    t.insert(0, 'H');
    t.insert(t.length, '!');
    assert.equal(t.toString(), 'Hello, world!');
    assert.equal(t.length, 13);
    assert.equal(String(t), 'Hello, world!');
    assert.equal(JSON.stringify({ t }), '{"t":"Hello, world!"}');
    t.insert(3, ''); // no-op
    t.delete(3, 0); // no-op
    assert.equal(t.toString(), 'Hello, world!');
  });

  test('bad positions throw and change nothing', async () => {
    const doc = await createDoc();
    const t = doc.getText('body');
    t.insert(0, 'abc');
    const before = doc.encodeState();
    assert.throws(() => t.insert(4, 'x'), (err) => err instanceof RangeError && err.message.length > 0);
    assert.throws(() => t.insert(-1, 'x'), RangeError);
    assert.throws(() => t.insert(1.5, 'x'), RangeError);
    assert.throws(() => t.insert(0, 42), TypeError);
    assert.throws(() => t.delete(0, -2), RangeError);
    assert.throws(() => t.delete(1, 100), RangeError); // past the end: refused, like insert
    assert.deepEqual(doc.encodeState(), before);
    t.delete(1, 2);
    assert.equal(t.toString(), 'a');
  });

  test('emoji and surrogate pairs (UTF-16 positions)', async () => {
    const doc = await createDoc();
    const t = doc.getText('body');
    t.insert(0, 'a😀b');
    assert.equal(t.length, 4);
    assert.equal(t.toString(), 'a😀b');
    assert.throws(() => t.insert(2, 'x'), Error, 'inside a surrogate pair');
    assert.equal(t.toString(), 'a😀b');
    t.insert(3, '👍🏽');
    assert.equal(t.toString(), 'a😀👍🏽b');
    assert.throws(() => t.delete(2, 1), RangeError); // starts inside the pair: refused
    t.delete(1, 2);
    assert.equal(t.toString(), 'a👍🏽b');
    t.delete(0, 1);
    assert.equal(t.toString(), '👍🏽b');
    const other = await createDoc({ state: doc.encodeState() });
    assert.equal(other.getText('body').toString(), '👍🏽b');
  });

  test('long strings round-trip exactly (every decoding path)', async () => {
    const doc = await createDoc();
    const t = doc.getText('body');
    const unit = 'Grüße, 世界! 😀\uFFFD\n';
    const long = unit.repeat(5000); // > 64 KB: TextDecoder path, U+FFFD forces the exact path
    t.insert(0, long);
    assert.equal(t.length, long.length);
    assert.equal(t.toString(), long);
    const lone = await createDoc(); // lone surrogates survive too, short and long
    lone.getText('t').insert(0, 'a\ud800b');
    assert.equal(lone.getText('t').toString(), 'a\ud800b');
    lone.getText('t').insert(3, 'y'.repeat(100) + '\udc00');
    assert.equal(lone.getText('t').toString(), 'a\ud800b' + 'y'.repeat(100) + '\udc00');
    const ascii = 'x'.repeat(100_000);
    t.insert(7, ascii);
    assert.equal(t.toString(), long.slice(0, 7) + ascii + long.slice(7));
  });

  test('observe: deltas for local edits, origin null outside transact', async () => {
    const doc = await createDoc();
    const t = doc.getText('body');
    const events = [];
    const cb = (e) => events.push(e);
    t.observe(cb);
    t.insert(0, 'abc');
    t.insert(1, 'X');
    t.delete(2, 2);
    assert.deepEqual(events.map((e) => e.delta), [
      [{ insert: 'abc' }],
      [{ retain: 1 }, { insert: 'X' }],
      [{ retain: 2 }, { delete: 2 }],
    ]);
    for (const e of events) {
      assert.equal(e.origin, null);
      assert.equal(e.target, t);
      assert.equal(e.transaction.local, true);
    }
    t.unobserve(cb);
    t.insert(0, 'zz');
    assert.equal(events.length, 3);
  });

  test('observers see remote changes as deltas with the applyUpdate origin', async () => {
    const a = await createDoc();
    const b = await createDoc();
    a.getText('t').insert(0, 'hello');
    b.applyUpdate(a.encodeState());
    const events = [];
    b.getText('t').observe((e) => events.push(e));
    const sv = b.stateVector();
    a.getText('t').insert(5, ' world');
    a.getText('t').delete(0, 1);
    b.applyUpdate(a.encodeStateSince(sv), 'peer-1');
    assert.equal(events.length, 1);
    assert.equal(events[0].origin, 'peer-1');
    assert.equal(events[0].transaction.local, false);
    // applying the delta to the old text gives the new text
    assert.equal(applyDelta('hello', events[0].delta), 'ello world');
    assert.equal(b.getText('t').toString(), 'ello world');
  });
});

function applyDelta(text, delta) {
  let out = '';
  let i = 0;
  for (const op of delta) {
    if (op.retain !== undefined) { out += text.slice(i, i + op.retain); i += op.retain; }
    else if (op.delete !== undefined) i += op.delete;
    else out += op.insert;
  }
  return out + text.slice(i);
}

describe('Map', () => {
  test('set, get, delete, has, keys, toJSON', async () => {
    const doc = await createDoc();
    const m = doc.getMap('m');
    assert.equal(m.get('missing'), undefined);
    assert.equal(m.has('missing'), false);
    const values = { n: 1.5, s: 'Grüße 😀', b: false, nil: null, arr: [1, 'two', [3]], obj: { a: { b: 'c' } } };
    for (const [k, v] of Object.entries(values)) assert.equal(m.set(k, v), v);
    m.set('weird "key"\n😀', 1);
    for (const [k, v] of Object.entries(values)) assert.deepEqual(m.get(k), v);
    assert.equal(m.has('n'), true);
    assert.deepEqual(m.keys(), [...Object.keys(values), 'weird "key"\n😀'].sort());
    assert.deepEqual(m.toJSON(), { ...values, 'weird "key"\n😀': 1 });
    assert.equal(m.size, 7);
    m.delete('n');
    m.delete('never-set');
    assert.equal(m.has('n'), false);
    assert.equal(m.get('n'), undefined);
    assert.equal(m.size, 6);
    assert.deepEqual(Object.fromEntries(m.entries()), m.toJSON());
    m.set('s', 'overwritten');
    assert.equal(m.get('s'), 'overwritten');
    assert.throws(() => m.set('u', undefined), TypeError);
    assert.throws(() => m.set('f', () => 1), TypeError);
    assert.throws(() => m.set(1, 'x'), TypeError);
    assert.throws(() => m.set('lone \ud800', 1), /lone surrogate/);
    assert.throws(() => doc.getMap('lone \udc00'), /lone surrogate/);
    m.set('pair 😀', 1); // a well-formed pair is fine
    assert.equal(m.get('pair 😀'), 1);
  });

  test('observe: keysChanged, origins, transact batching', async () => {
    const doc = await createDoc();
    const m = doc.getMap('m');
    const events = [];
    m.observe((e) => events.push(e));
    m.set('a', 1);
    doc.transact(() => {
      m.set('b', 2);
      m.set('c', 3);
      m.delete('a');
    }, 'batch');
    assert.equal(events.length, 2);
    assert.deepEqual([...events[0].keysChanged], ['a']);
    assert.equal(events[0].origin, null);
    assert.deepEqual([...events[1].keysChanged].sort(), ['a', 'b', 'c']);
    assert.equal(events[1].origin, 'batch');
    assert.equal(events[1].target, m);
  });

  test('last writer wins, the same on every replica', async () => {
    const a = await createDoc({ clientId: 1 });
    const b = await createDoc({ clientId: 2 });
    a.getMap('m').set('k', 'from a');
    b.getMap('m').set('k', 'from b');
    syncAll(a, b);
    assert.deepEqual(a.getMap('m').toJSON(), b.getMap('m').toJSON());
  });
});

describe('Register', () => {
  test('set, get, observe', async () => {
    const doc = await createDoc();
    const r = doc.getRegister('r');
    assert.equal(r.get(), undefined);
    const events = [];
    r.observe((e) => events.push(e));
    r.set({ title: 'Notes' });
    assert.deepEqual(r.get(), { title: 'Notes' });
    doc.transact(() => { r.set(1); r.set(2); }, 'o');
    assert.equal(r.get(), 2);
    assert.equal(events.length, 2);
    assert.equal(events[1].origin, 'o');
    assert.equal(events[1].target, r);
    assert.throws(() => r.set(undefined), TypeError);
    const copy = await createDoc({ state: doc.encodeState() });
    assert.equal(copy.getRegister('r').get(), 2);
  });
});

describe('Counter', () => {
  test('increment, decrement, value, observe, merge', async () => {
    const a = await createDoc();
    const b = await createDoc();
    const c = a.getCounter('c');
    assert.equal(c.value, 0);
    const events = [];
    c.observe((e) => events.push(e));
    c.increment();
    c.increment(10);
    c.decrement();
    c.decrement(3);
    assert.equal(c.value, 7);
    assert.equal(events.length, 4);
    assert.equal(events[0].target, c);
    b.getCounter('c').increment(5);
    b.getCounter('c').decrement(2);
    syncAll(a, b);
    assert.equal(a.getCounter('c').value, 10);
    assert.equal(b.getCounter('c').value, 10);
    assert.throws(() => c.increment(0.5), RangeError);
    assert.throws(() => c.increment(2 ** 53), RangeError);
    assert.throws(() => c.increment('1'), RangeError);
  });
});

describe('transactions and update events', () => {
  test('transact: one observer call and one update, with the origin', async () => {
    const doc = await createDoc();
    const t = doc.getText('t');
    const textEvents = [];
    const updates = [];
    t.observe((e) => textEvents.push(e));
    doc.on('update', (u, origin) => updates.push([u, origin]));
    const origin = { name: 'my-origin' };
    const result = doc.transact(() => {
      t.insert(0, 'abc');
      doc.transact(() => t.insert(3, 'def'), 'inner origin is ignored'); // joins the outer one
      t.delete(0, 1);
      assert.equal(textEvents.length, 0, 'nothing fires inside the transaction');
      return 'result';
    }, origin);
    assert.equal(result, 'result');
    assert.equal(textEvents.length, 1);
    assert.equal(textEvents[0].origin, origin);
    assert.deepEqual(textEvents[0].delta, [{ insert: 'bcdef' }]);
    assert.equal(updates.length, 1);
    assert.ok(updates[0][0] instanceof Uint8Array);
    assert.equal(updates[0][1], origin);
    // the one update carries the whole transaction
    const copy = await createDoc();
    copy.applyUpdate(updates[0][0]);
    assert.equal(copy.getText('t').toString(), 'bcdef');
  });

  test('a throwing transact keeps its changes, fires once, and rethrows', async () => {
    const doc = await createDoc();
    const updates = [];
    doc.on('update', (u, o) => updates.push(o));
    assert.throws(() => doc.transact(() => {
      doc.getText('t').insert(0, 'kept');
      throw new Error('boom');
    }, 'o'), /boom/);
    assert.equal(doc.getText('t').toString(), 'kept');
    assert.deepEqual(updates, ['o']);
    doc.getText('t').insert(0, '!'); // the document is usable afterwards
    assert.equal(updates.length, 2);
  });

  test("'update' for local edits and applied updates; off() stops it", async () => {
    const a = await createDoc();
    const b = await createDoc();
    const seen = [];
    const listener = (u, origin) => seen.push(origin);
    b.on('update', listener);
    a.getText('t').insert(0, 'x');
    b.applyUpdate(a.encodeState(), 'from-a');
    b.getMap('m').set('k', 1);
    assert.deepEqual(seen, ['from-a', null]);
    b.off('update', listener);
    b.getMap('m').set('k', 2);
    assert.equal(seen.length, 2);
    assert.throws(() => b.on('nope', listener), /nope/);
  });

  test('a listener can edit the document it listens to', async () => {
    const doc = await createDoc();
    const t = doc.getText('t');
    const seen = [];
    t.observe((e) => {
      seen.push(t.toString());
      if (t.toString() === 'a') t.insert(1, 'b');
    });
    t.insert(0, 'a');
    assert.deepEqual(seen, ['a', 'ab']);
  });
});

describe('sync', () => {
  test('two docs via update events converge under concurrent edits', async () => {
    const a = await createDoc();
    const b = await createDoc();
    connect(a, b);
    a.getText('t').insert(0, 'hello');
    assert.equal(b.getText('t').toString(), 'hello');
    b.getText('t').insert(5, ' world');
    a.getMap('m').set('x', 1);
    b.getCounter('c').increment(2);
    a.getCounter('c').increment(3);
    const roots = { texts: ['t'], maps: ['m'], counters: ['c'] };
    assert.deepEqual(snapshot(a, roots), snapshot(b, roots));
    assert.equal(a.getText('t').toString(), 'hello world');
    assert.equal(a.getCounter('c').value, 5);
  });

  test('three docs: offline edits, then delta sync through state vectors', async () => {
    const docs = [await createDoc(), await createDoc(), await createDoc()];
    docs[0].getText('t').insert(0, 'base text');
    syncAll(...docs);
    docs[0].getText('t').insert(0, 'A:');
    docs[1].getText('t').insert(4, '[B]');
    docs[2].getText('t').delete(5, 4);
    docs[2].getText('t').insert(docs[2].getText('t').length, ' C');
    docs[1].getMap('m').set('who', 'b');
    docs[2].getRegister('r').set('c');
    syncAll(...docs);
    const roots = { texts: ['t'], maps: ['m'], registers: ['r'] };
    const expected = snapshot(docs[0], roots);
    for (const d of docs) assert.deepEqual(snapshot(d, roots), expected);
    assert.equal(docs[0].getText('t').toString(), 'A:base[B]  C');
    // nothing left to send
    for (const a of docs) {
      for (const b of docs) {
        const before = b.encodeState();
        b.applyUpdate(a.encodeStateSince(b.stateVector()));
        assert.deepEqual(b.encodeState(), before);
      }
    }
  });

  test('three docs in a full mesh of update events', async () => {
    const docs = [await createDoc(), await createDoc(), await createDoc()];
    connect(...docs);
    for (let i = 0; i < 30; i++) {
      const t = docs[i % 3].getText('t');
      t.insert(Math.floor(t.length / 2), String(i % 10));
      if (i % 4 === 3) t.delete(0, 1);
    }
    const s = docs[0].getText('t').toString();
    assert.ok(s.length > 0);
    for (const d of docs) assert.equal(d.getText('t').toString(), s);
  });

  test('updates in any order, duplicates included; pendingOps while parents are missing', async () => {
    const a = await createDoc();
    const updates = [];
    a.on('update', (u) => updates.push(u));
    const t = a.getText('t');
    for (const word of ['one ', 'two ', 'three ', 'four']) t.insert(t.length, word);
    t.delete(0, 4);
    const b = await createDoc();
    const reversed = [...updates].reverse();
    b.applyUpdate(reversed[0]);
    assert.ok(b.pendingOps > 0, 'ops whose parents are missing are held');
    for (const u of reversed.slice(1)) b.applyUpdate(u);
    for (const u of updates) b.applyUpdate(u); // duplicates are no-ops
    assert.equal(b.pendingOps, 0);
    assert.equal(b.getText('t').toString(), 'two three four');
  });
});

describe('bad input', () => {
  test('garbage and truncated updates throw with the core message and change nothing', async () => {
    const a = await createDoc();
    a.getText('t').insert(0, 'some text to encode');
    a.getMap('m').set('k', { v: [1, 2, 3] });
    a.getCounter('c').increment(4);
    const update = a.encodeState();

    const b = await createDoc();
    b.getText('t').insert(0, 'existing');
    const before = b.encodeState();
    const garbage = [
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      new Uint8Array([0x00, 0x01, 0x02]),
      Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff),
    ];
    for (let len = 1; len < update.length; len++) garbage.push(update.slice(0, len));
    for (const bytes of garbage) {
      assert.throws(() => b.applyUpdate(bytes), (err) => {
        assert.ok(err instanceof Error);
        assert.ok(err.message.length > 0, 'the error names what is wrong');
        return true;
      }, `update of ${bytes.length} bytes should be rejected`);
      assert.deepEqual(b.encodeState(), before);
      assert.equal(b.getText('t').toString(), 'existing');
    }
    assert.throws(() => b.applyUpdate('not bytes'), TypeError);
    assert.throws(() => b.encodeStateSince([1, 2]), TypeError);
    // the document still works and still accepts the good update
    b.applyUpdate(update);
    assert.equal(b.getCounter('c').value, 4);
  });

  test('a garbage state vector throws', async () => {
    const a = await createDoc();
    a.getText('t').insert(0, 'x');
    assert.throws(() => a.encodeStateSince(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), Error);
  });
});

describe('destroy', () => {
  test('frees the document; later calls throw a clear error', async () => {
    const doc = await createDoc();
    const t = doc.getText('t');
    const m = doc.getMap('m');
    t.insert(0, 'x');
    doc.destroy();
    doc.destroy(); // twice is fine
    assert.throws(() => t.insert(0, 'y'), /destroyed/);
    assert.throws(() => t.toString(), /destroyed/);
    assert.throws(() => t.length, /destroyed/);
    assert.throws(() => m.get('k'), /destroyed/);
    assert.throws(() => doc.getText('t'), /destroyed/);
    assert.throws(() => doc.encodeState(), /destroyed/);
    assert.throws(() => doc.applyUpdate(new Uint8Array([1])), /destroyed/);
    assert.throws(() => doc.pendingOps, /destroyed/);
  });

  test('wasm memory growth between calls keeps every view valid', async () => {
    const doc = await createDoc();
    const t = doc.getText('t');
    t.insert(0, 'start');
    const events = [];
    t.observe((e) => events.push(e.delta));
    const big = 'ab'.repeat(6_000_000); // 24 MB of UTF-16: beyond the initial 16 MB heap
    t.insert(5, big);
    t.insert(0, 'x');
    assert.equal(t.length, big.length + 6);
    assert.ok(t.toString() === 'xstart' + big);
    assert.equal(events.length, 2);
    assert.equal(events[0][1].insert.length, big.length);
    assert.deepEqual(events[1], [{ insert: 'x' }]);
    doc.destroy();
  });

  test('many documents created and destroyed do not exhaust memory', async () => {
    for (let i = 0; i < 2000; i++) {
      const doc = await createDoc();
      doc.getText('t').insert(0, 'x'.repeat(1000));
      doc.destroy();
    }
  });
});

test('js/demo.js (two replicas, concurrent edits, delta sync) converges', async () => {
  const demo = fileURLToPath(new URL('../../js/demo.js', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [demo]);
  assert.match(stdout, /converged/);
});
