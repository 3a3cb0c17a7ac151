// Sticky positions through the JS API: text.stickyIndex() / text.resolveSticky() on the real
// WebAssembly build (dist/). The CRDT behaviour itself is tested in tests/cpp/sticky_test.cpp.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createDoc } from '../../js/index.js';

test('a remote cursor kept as a sticky index follows concurrent edits across two docs', async () => {
  const alice = await createDoc({ clientId: 1 });
  const bob = await createDoc({ clientId: 2 });
  const toBob = [];
  const toAlice = [];
  alice.on('update', (u) => toBob.push(u));
  bob.on('update', (u) => toAlice.push(u));
  const flush = () => {
    for (const u of toBob.splice(0)) bob.applyUpdate(u);
    for (const u of toAlice.splice(0)) alice.applyUpdate(u);
  };
  const at = alice.getText('doc');
  const bt = bob.getText('doc');
  at.insert(0, 'hello world');
  flush();

  // Bob's cursor after "hello", published as JSON in his presence; his selection of "world".
  const presence = JSON.stringify({
    cursor: bt.stickyIndex(5, -1),
    selection: [bt.stickyIndex(6), bt.stickyIndex(11, -1)],
  });
  const { cursor, selection } = JSON.parse(presence);
  assert.equal(at.resolveSticky(cursor), 5);

  // Concurrent edits: Alice types before the cursor and at it, Bob inside his selection.
  at.insert(0, '>> ');
  at.insert(8, ',');  // right at the cursor, which stays after "hello" (a: -1)
  bt.insert(8, 'WORLD-');
  flush();
  assert.equal(at.toString(), bt.toString());
  assert.equal(at.toString(), '>> hello, woWORLD-rld');
  for (const t of [at, bt]) {
    // The cursor stays right after "hello": the comma typed at it went after it.
    assert.equal(t.resolveSticky(cursor), 8);
    const [from, to] = selection.map((s) => t.resolveSticky(s));
    assert.equal(t.toString().slice(from, to), 'woWORLD-rld');
  }

  // Deleting the selected text leaves both ends where it was.
  bt.delete(10, 11);
  flush();
  assert.deepEqual(selection.map((s) => at.resolveSticky(s)), [10, 10]);

  // Start and end anchors.
  const start = at.stickyIndex(0, -1);
  const end = at.stickyIndex(at.length);
  assert.deepEqual(start, { t: 'text', r: 'doc', a: -1 });
  assert.deepEqual(end, { t: 'text', r: 'doc', a: 0 });
  bt.insert(0, '[');
  bt.insert(bt.length, ']');
  flush();
  assert.equal(at.resolveSticky(start), 0);
  assert.equal(at.resolveSticky(end), at.length);
  alice.destroy();
  bob.destroy();
});

test('an anchor to a character a replica has not received resolves to null, then to its index', async () => {
  const a = await createDoc({ clientId: 10 });
  const b = await createDoc({ clientId: 11 });
  a.getText('t').insert(0, 'abc');
  const anchor = a.getText('t').stickyIndex(1);
  assert.deepEqual(anchor, { t: 'text', r: 't', c: 10, k: 1, a: 0 });
  assert.equal(b.getText('t').resolveSticky(anchor), null);
  b.applyUpdate(a.encodeState());
  assert.equal(b.getText('t').resolveSticky(anchor), 1);
  a.destroy();
  b.destroy();
});

test('assoc: default and negative, surrogate pairs', async () => {
  const doc = await createDoc();
  const t = doc.getText('t');
  t.insert(0, 'a😀b');
  assert.equal(t.stickyIndex(1, -5).a, -1);
  assert.equal(t.stickyIndex(1, 3).a, 0);
  assert.throws(() => t.stickyIndex(2), RangeError);  // inside the emoji
  assert.throws(() => t.stickyIndex(5), RangeError);  // past the end
  assert.throws(() => t.stickyIndex(-1), RangeError);
  assert.throws(() => t.stickyIndex(1, 'left'), TypeError);
  const afterEmoji = t.stickyIndex(3, -1);
  t.insert(3, '🎉');
  assert.equal(t.resolveSticky(afterEmoji), 3);
  t.delete(1, 2);
  assert.equal(t.resolveSticky(afterEmoji), 1);
  doc.destroy();
});

test('bad anchors throw and change nothing', async () => {
  const doc = await createDoc({ clientId: 5 });
  const t = doc.getText('t');
  t.insert(0, 'abc');
  const good = t.stickyIndex(1);
  const bad = [
    [null, TypeError], [undefined, TypeError], ['t:1', TypeError], [42, TypeError],
    [{ ...good, t: 'map' }, TypeError], [{ ...good, t: undefined }, TypeError],
    [{ ...good, t: 'toString' }, TypeError], [{ ...good, t: '__proto__' }, TypeError],
    [{ ...good, r: 7 }, TypeError], [{ ...good, r: '\ud800' }, TypeError],
    [{ ...good, a: '0' }, TypeError], [{ ...good, a: 1 }, RangeError], [{ ...good, a: NaN }, RangeError],
    [{ ...good, a: undefined }, TypeError],
    [{ ...good, c: undefined }, TypeError], [{ ...good, k: null }, TypeError],
    [{ ...good, c: '5' }, TypeError], [{ ...good, k: '1' }, TypeError],
    [{ ...good, c: -1 }, RangeError], [{ ...good, c: 2 ** 53 }, RangeError], [{ ...good, c: 1.5 }, RangeError],
    [{ ...good, c: Infinity }, RangeError],
    [{ ...good, k: -1 }, RangeError], [{ ...good, k: 2 ** 32 }, RangeError], [{ ...good, k: 2 ** 31 }, RangeError],
    [{ ...good, k: 0.5 }, RangeError],
  ];
  for (const [anchor, Err] of bad) {
    assert.throws(() => t.resolveSticky(anchor), Err, JSON.stringify(anchor) ?? String(anchor));
  }
  // An anchor of another root is an error, not an index in this one.
  const other = doc.getText('other');
  other.insert(0, 'xyz');
  assert.throws(() => other.resolveSticky(good), /another root: "t" resolved in "other"/);
  // Fields absent together are fine (start/end); null counts as absent.
  assert.equal(t.resolveSticky({ t: 'text', r: 't', c: null, k: null, a: 0 }), 3);
  assert.equal(t.resolveSticky(good), 1);
  assert.equal(t.toString(), 'abc');
  doc.destroy();
  assert.throws(() => t.resolveSticky(good), /destroyed/);
  assert.throws(() => t.stickyIndex(0), /destroyed/);
});

test('lists: anchors follow their elements across docs; text and list anchors do not mix', async () => {
  const a = await createDoc({ clientId: 21 });
  const b = await createDoc({ clientId: 22 });
  a.on('update', (u) => b.applyUpdate(u));
  const la = a.getList('shapes');
  la.push('circle', 'square', { kind: 'star' });
  const lb = b.getList('shapes');
  const onSquare = JSON.parse(JSON.stringify(lb.stickyIndex(1)));
  assert.deepEqual(onSquare, { t: 'list', r: 'shapes', c: 21, k: 1, a: 0 });
  const end = lb.stickyIndex(3);
  lb.insert(0, 'line', 'dot'); // b only: a does not have these yet
  la.delete(0);
  assert.equal(lb.resolveSticky(onSquare), 2);
  assert.equal(lb.get(lb.resolveSticky(onSquare)), 'square');
  assert.equal(la.resolveSticky(onSquare), 0);
  assert.equal(lb.resolveSticky(end), 4);
  const onDot = lb.stickyIndex(1);
  assert.equal(la.resolveSticky(onDot), null); // not synced to a
  a.applyUpdate(b.encodeStateSince(a.stateVector()));
  assert.equal(la.resolveSticky(onDot), 1);
  assert.throws(() => la.stickyIndex(5), RangeError);
  // A text and a list of one name are two roots.
  const text = a.getText('notes');
  text.insert(0, 'abc');
  const list = a.getList('todo');
  list.push(1);
  assert.throws(() => list.resolveSticky({ ...text.stickyIndex(1), r: 'todo' }), /another root/);
  assert.throws(() => text.resolveSticky({ ...list.stickyIndex(0), r: 'notes' }), /another root/);
  assert.throws(() => list.resolveSticky({ t: 'List', r: 'todo', a: 0 }), TypeError);
  a.destroy();
  b.destroy();
});
