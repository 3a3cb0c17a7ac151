// Issue 8, memory as a reliability problem: running out of WebAssembly memory is a thrown
// OutOfMemoryError that changes nothing, never an abort that kills every document.
// The tests lower the limit with setMemoryLimit (node --test runs each file in its own process).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createDoc, memoryUsage, OutOfMemoryError, setMemoryLimit } from '../../js/index.js';

const MB = 2 ** 20;
after(() => setMemoryLimit());

// A deterministic document with text, a map and a counter, written by two replicas.
async function sampleDoc(seed) {
  const a = await createDoc({ clientId: 2 * seed + 1 });
  const b = await createDoc({ clientId: 2 * seed + 2 });
  const t = a.getText('t');
  for (let i = 0; i < 200; i++) t.insert((i * 7919 + seed) % (t.length + 1), `w${i} `);
  a.getMap('m').set('seed', seed);
  a.getCounter('c').increment(seed);
  b.applyUpdate(a.encodeState());
  b.getText('t').insert(0, `[${seed}]`);
  a.applyUpdate(b.encodeStateSince(a.stateVector()));
  b.destroy();
  return a;
}

const isOom = (err) => {
  assert.ok(err instanceof OutOfMemoryError, `expected OutOfMemoryError, got ${err?.name}: ${err?.message}`);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'OutOfMemoryError');
  assert.equal(err.code, 'out_of_memory');
  assert.match(err.message, /out of memory: this call may need \d+ MB, \d+ MB of the \d+ MB memory limit are in use/);
  return true;
};

describe('the memory ceiling', () => {
  test('the module may grow to 4 GiB; the default limit stays a headroom below it', async () => {
    const u = await memoryUsage();
    assert.equal(u.maxBytes, 4 * 1024 * MB - 65536); // Emscripten keeps one page short of 4 GiB
    const def = await setMemoryLimit();
    assert.equal(def, u.maxBytes - 128 * MB);
    assert.equal(await setMemoryLimit(64 * MB), 64 * MB);
    assert.equal((await memoryUsage()).limitBytes, 64 * MB);
    assert.equal(await setMemoryLimit(8 * 1024 * MB), def); // above the default: the default
    assert.equal(await setMemoryLimit(0), def);
    await assert.rejects(setMemoryLimit(-1), RangeError);
    await assert.rejects(setMemoryLimit('1e9'), RangeError);
  });
});

describe('filling memory with documents', () => {
  test('ends in OutOfMemoryError; the failed call changes nothing and every other document works', async () => {
    // An update of 4 M characters, made before memory is full.
    const donor = await createDoc({ clientId: 999_999 });
    donor.getText('t').insert(0, 'x'.repeat(4 * MB));
    const bigUpdate = donor.encodeState();
    donor.destroy();

    const base = (await memoryUsage()).usedBytes;
    await setMemoryLimit(base + 48 * MB);
    const docs = [];
    let error = null;
    for (let i = 0; i < 10_000 && error === null; i++) {
      try {
        docs.push(await sampleDoc(i));
      } catch (err) {
        error = err;
      }
    }
    assert.ok(error !== null, 'the limit was never reached');
    isOom(error);
    assert.ok(docs.length > 20, `only ${docs.length} documents fit`);
    assert.ok((await memoryUsage()).usedBytes <= base + 48 * MB);
    // Nothing aborted: every document is there, with all its text.
    for (const [i, d] of docs.entries()) assert.equal(d.getText('t').length, 892 + String(i).length); // 200 words + [i]

    // Free a few documents: small calls fit again; calls that need much more are refused and
    // leave their document exactly as it was.
    for (const d of docs.splice(-8)) d.destroy();
    const first = docs[0];
    const before = first.encodeState();
    const text = first.getText('t').toString();
    assert.throws(() => first.applyUpdate(bigUpdate), isOom);
    assert.throws(() => first.getText('t').insert(3, 'y'.repeat(8 * MB)), isOom);
    assert.throws(() => first.getMap('m').set('big', 'z'.repeat(8 * MB)), isOom);
    assert.deepEqual(first.encodeState(), before);
    assert.equal(first.getText('t').toString(), text);
    assert.equal(first.pendingOps, 0);
    for (const d of docs.slice(0, 5)) {
      const t = d.getText('t');
      t.insert(0, '!');
      t.delete(t.length - 1, 1);
      d.getMap('m').set('k', 1);
      d.getCounter('c').increment();
    }

    // Free half of the documents: the memory they held is usable again.
    const keep = docs.filter((_, i) => i % 2 === 0);
    for (const [i, d] of docs.entries()) if (i % 2 === 1) d.destroy();
    const fresh = await createDoc();
    fresh.applyUpdate(first.encodeState());
    assert.equal(fresh.getText('t').toString(), first.getText('t').toString());
    for (const d of keep.slice(0, 10)) {
      const copy = await createDoc();
      copy.applyUpdate(d.encodeState());
      copy.getText('t').insert(0, 'copy ');
      d.applyUpdate(copy.encodeStateSince(d.stateVector()));
      assert.equal(d.getText('t').toString(), copy.getText('t').toString());
      assert.deepEqual(d.getMap('m').toJSON(), copy.getMap('m').toJSON());
      assert.equal(d.getCounter('c').value, copy.getCounter('c').value);
      copy.destroy();
    }
    for (const d of [...keep, fresh]) d.destroy();
    await setMemoryLimit();
  });

  test('reading a text or encoding a state leaves no copy behind in wasm memory', async () => {
    const doc = await createDoc();
    const other = await createDoc();
    const deltas = [];
    other.getText('t').observe((e) => deltas.push(e.delta));
    other.on('update', () => {});
    doc.getText('t').insert(0, 'q'.repeat(MB));
    const used = (await memoryUsage()).usedBytes;
    assert.equal(doc.getText('t').toString().length, MB);
    assert.equal(doc.encodeState().length > MB, true);
    doc.encodeStateSince(new Uint8Array([0]));
    other.applyUpdate(doc.encodeState()); // the update and the event are copied out, then freed
    assert.equal(deltas[0][0].insert.length, MB);
    const grew = (await memoryUsage()).usedBytes - used;
    assert.ok(grew < 3 * MB, `wasm memory in use grew by ${grew} bytes`); // other's text: 2 MB
    doc.destroy();
    other.destroy();
  });

  test('a refused read or encode throws and the document stays usable', async () => {
    const doc = await createDoc();
    doc.getText('t').insert(0, 'z'.repeat(2 * MB));
    const used = (await memoryUsage()).usedBytes;
    await setMemoryLimit(used + 2 * MB); // less than twice the document: encodes are refused
    assert.throws(() => doc.encodeState(), isOom);
    assert.throws(() => doc.getText('t').toString(), isOom);
    await setMemoryLimit();
    assert.equal(doc.getText('t').length, 2 * MB);
    assert.equal(doc.getText('t').toString().length, 2 * MB);
    doc.destroy();
  });
});

// Memory past 2 GiB: pointers above 2^31 must reach JS unsigned (a signed one would read the
// wrong bytes). Grows the module to about 2.3 GB in a child process, then checks that documents
// living above 2 GiB read, encode and sync. It needs 2.5 GB of RAM and minutes on a loaded
// machine, so it runs only with ROOMSYNC_BIG_MEMORY=1.
describe('past 2 GiB', { skip: process.env.ROOMSYNC_BIG_MEMORY !== '1' && 'set ROOMSYNC_BIG_MEMORY=1' }, () => {
  test('documents above 2 GiB read, encode and sync', () => {
    const child = fileURLToPath(new URL('./helpers/memory-past-2gb.js', import.meta.url));
    const r = spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `child failed: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /ok: wasm memory \d+ MB/);
  });
});
