// The room core on the WebAssembly build (js/room/core.js over wasm/room_bindings.cpp): the
// scripted scenario of tests/cpp/room_trace_test.cpp gives the same golden trace hash as the
// native build, documents converge, and remote changes reach the JS Doc's observers with the
// room as origin.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createDoc } from '../../js/index.js';
import { loadModule } from '../../js/load-module.js';
import { createRoomCore } from '../../js/room/core.js';

const GOLDEN_HASH = 39443209; // tests/cpp/room_trace_test.cpp, kGoldenHash (issue 8: compact keystroke updates)
// OutKind codes (cpp/room/room_core.h)
const KIND = {
  transmit: 1, connect: 2, disconnect: 3, peerUp: 4, peerDown: 5, synced: 6, docChanged: 7, action: 8,
  actionProgress: 9, actionAbort: 10, presence: 11, typing: 12, rtt: 13, protocolError: 14,
};

async function runScript() {
  const mod = await loadModule();
  assert.equal(typeof mod.asm.rs_room, 'function', 'dist/ predates the room bindings: run scripts/build.sh wasm');
  const ids = ['a', 'b', 'c'];
  let now = 1000;
  let hash = 2166136261;
  const mix = (b) => { hash = Math.imul(hash ^ b, 16777619) >>> 0; };
  const enc = new TextEncoder();
  const nodes = [];
  for (const [i, id] of ids.entries()) {
    const doc = await createDoc({ clientId: 100 + i });
    const core = await createRoomCore({ self: id, doc, seed: 11 + i, now });
    const node = { id, doc, core, text: doc.getText('t'), remoteEvents: 0, actions: [] };
    node.text.observe((ev) => { if (ev.origin === core) node.remoteEvents++; });
    doc.on('update', (u, origin) => { if (origin !== core) core.localUpdate(u, now); });
    nodes.push(node);
  }
  const queue = [];
  const opened = new Set();
  const pump = (i) => {
    for (;;) {
      const outs = nodes[i].core.drain();
      if (outs.length === 0) return;
      for (const o of outs) {
        mix(i);
        mix(KIND[o.kind]);
        for (const b of enc.encode(o.peer)) mix(b);
        mix(0);
        if (o.kind === 'transmit') {
          for (const b of o.bytes) mix(b);
          queue.push([o.peer, i, o.bytes]);
        } else if (o.kind === 'connect') {
          const key = [ids[i], o.peer].sort().join('|');
          if (!opened.has(key)) { opened.add(key); queue.push([`@open:${o.peer}`, i, null]); }
        } else if (o.kind === 'docChanged') {
          nodes[i].core.emitDocChange(o, nodes[i].core);
        } else if (o.kind === 'action') {
          nodes[i].actions.push(o);
        }
      }
    }
  };
  const run = () => {
    while (queue.length > 0) {
      const [to, from, bytes] = queue.shift();
      if (to.startsWith('@open:')) {
        const other = ids.indexOf(to.slice(6));
        nodes[from].core.channelOpen(ids[other], now); pump(from);
        nodes[other].core.channelOpen(ids[from], now); pump(other);
      } else {
        const t = ids.indexOf(to);
        nodes[t].core.handleFrame(ids[from], bytes, now); pump(t);
      }
    }
  };
  const timeouts = () => {
    for (const [i, n] of nodes.entries()) { n.core.handleTimeout(now); pump(i); }
    run();
  };
  for (const [i, n] of nodes.entries()) {
    for (const other of ids) if (other !== n.id) n.core.peerJoined(other, now);
    pump(i);
  }
  run();
  for (let k = 0; k < 30; ++k) {
    const n = nodes[k % 3];
    n.text.insert((7 * k) % (n.text.length + 1), `x${k}`); // 'update' -> core.localUpdate
    pump(k % 3);
    now += 10;
    run();
    if (k % 5 === 4) { now += 500; timeouts(); }
  }
  const payload = new Uint8Array(40000).map((_, i) => (i * 13) & 255);
  assert.equal(nodes[2].core.sendAction('file', payload, { metadata: 'm' }, now).code, 'ok');
  pump(2);
  run();
  for (let r = 0; r < 20; ++r) { now += 1000; timeouts(); }
  return { nodes, hash, payload };
}

test('room core (wasm): the scripted trace matches the native golden hash', async () => {
  const { nodes, hash, payload } = await runScript();
  const text = nodes[0].text.toString();
  for (const n of nodes) assert.equal(n.text.toString(), text);
  assert.equal(text.length, [...Array(30).keys()].reduce((s, k) => s + `x${k}`.length, 0));
  for (const n of nodes.slice(0, 2)) {
    assert.equal(n.actions.length, 1);
    assert.equal(n.actions[0].peer, 'c');
    assert.deepEqual(n.actions[0].bytes, payload);
    assert.ok(n.remoteEvents > 0, 'remote changes reach observers with the room as origin');
  }
  for (const n of nodes) assert.ok(n.core.synced);
  assert.equal(hash, GOLDEN_HASH);
  for (const n of nodes) { n.core.destroy(); n.doc.destroy(); }
});

// --- the C exports of the room core (wasm/room_bindings.cpp: no embind) ------------------------
// What the golden trace does not cross: inspection calls, tuning numbers, result codes, UTF-8
// peer ids both ways, and misuse.
test('room core (wasm): inspection, tuning and results cross the C exports intact', async () => {
  const docA = await createDoc({ clientId: 201 });
  const docB = await createDoc({ clientId: 202 });
  const a = await createRoomCore({ self: 'a', doc: docA, seed: 1, maxPresenceBytes: 8 });
  const b = await createRoomCore({ self: 'zoë ✓', doc: docB, seed: 2 });
  const presence = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(a.setPresence(new Uint8Array(9), 0), false, 'maxPresenceBytes reaches the core');
  assert.equal(a.setPresence(presence, 0), true);

  a.peerJoined('zoë ✓', 0);
  b.peerJoined('a', 0);
  const connect = a.drain().find((o) => o.kind === 'connect');
  assert.equal(connect.peer, 'zoë ✓', 'a UTF-8 peer id comes back as it went in');
  assert.equal(typeof connect.polite, 'boolean');
  b.drain();
  assert.deepEqual(a.members(), ['zoë ✓']);
  assert.deepEqual(a.openPeers(), []);
  a.channelOpen('zoë ✓', 0);
  b.channelOpen('a', 0);
  assert.deepEqual(a.openPeers(), ['zoë ✓']);
  // Carry frames both ways until both are quiet.
  const kinds = new Set();
  for (let moved = true; moved;) {
    moved = false;
    for (const [from, to, fromId] of [[a, b, 'a'], [b, a, 'zoë ✓']]) {
      for (const o of from.drain()) {
        kinds.add(o.kind);
        if (o.kind === 'transmit') { to.handleFrame(fromId, o.bytes, 1); moved = true; }
      }
    }
  }
  assert.ok(kinds.has('presence') || b.presenceOf('a') !== null);
  assert.deepEqual(b.presenceOf('a'), presence);
  assert.equal(b.presenceOf('nobody'), null);
  assert.equal(a.peerSynced('zoë ✓'), true);
  assert.equal(a.synced, true);

  assert.deepEqual(a.sendAction('', new Uint8Array(1), {}, 2), { code: 'bad_name', id: 0, recipients: 0 });
  assert.equal(a.sendAction('x', new Uint8Array(1), { metadata: 'm'.repeat(5000) }, 2).code, 'bad_metadata');
  assert.equal(a.sendAction('x', new Uint8Array(1), { to: ['nobody'] }, 2).code, 'bad_target');
  const sent = a.sendAction('x', new Uint8Array([9]), { to: ['zoë ✓'], metadata: 'é' }, 2);
  assert.equal(sent.code, 'ok');
  assert.equal(sent.recipients, 1);
  assert.ok(sent.id > 0);
  const tx = a.drain().filter((o) => o.kind === 'transmit');
  for (const o of tx) b.handleFrame('a', o.bytes, 3);
  const action = b.drain().find((o) => o.kind === 'action');
  assert.deepEqual({ peer: action.peer, name: action.name, metadata: action.metadata, bytes: [...action.bytes] },
    { peer: 'a', name: 'x', metadata: 'é', bytes: [9] });

  const stats = a.stats();
  assert.deepEqual(Object.keys(stats), ['framesIn', 'framesOut', 'bytesIn', 'bytesOut', 'garbage', 'violations',
    'duplicates', 'relayed', 'openChannels', 'peers']);
  assert.ok(stats.framesOut > 0 && stats.bytesOut > 0);
  assert.equal(stats.openChannels, 1);
  const t = a.pollTimeout();
  assert.ok(t === null || typeof t === 'number');

  assert.throws(() => a.peerJoined(42, 0), TypeError);
  a.destroy();
  assert.throws(() => a.drain(), /destroyed/);
  a.destroy(); // twice is harmless
  b.destroy();
  docA.destroy();
  docB.destroy();
});

// The document port of the wasm build counts held ops (wasm/room_bindings.cpp, rs_pending_ops):
// an update lost in flight, then a later one that gets through, is asked for hold_grace later.
test('room core (wasm): updates held for a frame lost in flight are asked for 500 ms later', async () => {
  const docA = await createDoc({ clientId: 301 });
  const docB = await createDoc({ clientId: 302 });
  const a = await createRoomCore({ self: 'a', doc: docA, seed: 1 });
  const b = await createRoomCore({ self: 'b', doc: docB, seed: 2 });
  let now = 0;
  docB.on('update', (u, origin) => { if (origin !== b) b.localUpdate(u, now); });
  // Carries frames both ways until both are quiet; the first `lose` frames from b to a vanish.
  const carry = (lose = 0) => {
    for (let moved = true; moved;) {
      moved = false;
      for (const [from, to, fromId] of [[a, b, 'a'], [b, a, 'b']]) {
        for (const o of from.drain()) {
          if (o.kind === 'docChanged') from.emitDocChange(o, from);
          if (o.kind !== 'transmit') continue;
          moved = true;
          if (from === b && lose > 0) lose--;
          else to.handleFrame(fromId, o.bytes, now);
        }
      }
    }
  };
  a.peerJoined('b', now);
  b.peerJoined('a', now);
  a.channelOpen('b', now);
  b.channelOpen('a', now);
  carry();
  const textA = docA.getText('t');
  const textB = docB.getText('t');
  textB.insert(0, 'hello');
  carry(1);
  now = 20;
  textB.insert(5, ' world');
  carry();
  assert.ok(docA.pendingOps > 0, 'a holds the second update: its parent was lost');
  assert.equal(textA.toString(), '');
  assert.equal(a.pollTimeout(), now + 500, 'the hold is due for repair after hold_grace');
  now += 500;
  a.handleTimeout(now);
  carry();
  assert.equal(docA.pendingOps, 0);
  assert.equal(textA.toString(), 'hello world');
  for (const x of [a, b, docA, docB]) x.destroy();
});

// --- the room's own 'update' listener (core.roomListener) -------------------------------------
// joinRoom's listener skips what the core applies (origin: the room); while it is the only one,
// the core applies remote updates without encoding them for it. Another listener gets them.
test('room core (wasm): remote updates are encoded only when a listener besides the room\'s reads them', async () => {
  const docA = await createDoc({ clientId: 301 });
  const docB = await createDoc({ clientId: 302 });
  const a = await createRoomCore({ self: 'a', doc: docA, seed: 1 });
  const b = await createRoomCore({ self: 'b', doc: docB, seed: 2 });
  const seen = []; // [listener, origin, update bytes] in the order they were called
  const roomListener = (u, origin) => {
    seen.push(['room', origin, u.length]);
    if (origin !== b) b.localUpdate(u, 0);
  };
  docA.on('update', (u, origin) => { if (origin !== a) a.localUpdate(u, 0); });
  docB.on('update', roomListener);
  b.roomListener = roomListener;
  const pump = () => {
    for (let moved = true; moved;) {
      moved = false;
      for (const [from, to, fromId] of [[a, b, 'a'], [b, a, 'b']]) {
        for (const o of from.drain()) {
          if (o.kind === 'transmit') { to.handleFrame(fromId, o.bytes, 1); moved = true; }
          if (o.kind === 'docChanged') from.emitDocChange(o, from);
        }
      }
    }
  };
  a.peerJoined('b', 0); b.peerJoined('a', 0);
  a.channelOpen('b', 0); b.channelOpen('a', 0);
  pump();

  docA.getText('t').insert(0, 'hello');
  pump();
  assert.equal(docB.getText('t').toString(), 'hello');
  assert.deepEqual(seen, [], 'the room\'s listener alone: no update encoded for what the room applied');

  docB.getText('t').insert(5, '!'); // capture is back on for local edits: they reach the peer
  pump();
  assert.deepEqual(seen.map(([who, origin]) => [who, origin]), [['room', null]]);
  assert.equal(docA.getText('t').toString(), 'hello!');

  const app = [];
  docB.on('update', (u, origin) => app.push([origin, u]));
  const replica = await createDoc({ clientId: 303 });
  replica.applyUpdate(docB.encodeState());
  docA.getText('t').insert(0, '> ');
  pump();
  assert.equal(docB.getText('t').toString(), '> hello!');
  assert.equal(app.length, 1, 'an app listener gets the remote update');
  assert.equal(app[0][0], b);
  replica.applyUpdate(app[0][1]);
  assert.equal(replica.getText('t').toString(), '> hello!', 'and it carries the change');
  assert.equal(seen.at(-1)[1], b, 'the room\'s listener is called too, with the room as origin');

  for (const x of [a, b]) x.destroy();
  for (const d of [docA, docB, replica]) d.destroy();
});
