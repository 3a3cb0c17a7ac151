// One benchmark peer: a child process of tests/bench/rooms.js (one peer per process, like one
// browser tab per user; y-webrtc also allows only one provider per room and process). It loads
// one adapter (raw.js, ywebrtc.js, roomsync.js) and runs the scenario steps below for the
// orchestrator, over Node's IPC channel. The steps are the same code for every adapter, so every
// column is measured the same way; the adapters only map them onto their library.
//
//   node tests/bench/rooms/peer.js <adapter> <index>
//
// Adapter interface: prepare(spec, buildInto) builds document `spec` (docs.js) once per process,
// untimed, so that a later join({ spec }) starts with it; createPeer(env, { notify }) resolves to
// a peer for one run (the adapter calls notify() after every event: channel open or closed,
// sync, remote change, data), with:
//   join({ room, signaling, spec, peers })  enter the room; resolves once others can find this peer
//   openPeers()            number of peers with an open direct channel (documents: and synced)
//   keystroke(ch)          raw: one small message; documents: insert ch at the end of the text
//   onRemote(cb)           cb() after each message (raw) / remote change of the text (documents)
//   textLength(), text()   documents only
//   sendBytes(u8)          one binary payload to the other peer (backpressure respected)
//   onBytes(cb)            cb(u8) per received piece of such payloads
//   stats()                optional: { connections, framesSent, ... } for the 30-peer room
//   describe()             optional: a short account of its peers, reported when a wait times out
//   leave()
// env: { index, signal(toIndex, data), onSignal: (fromIndex, data) => void } (raw only: the
// orchestrator relays its offer/answer/candidates; the other adapters use their own server).
// Optional module exports: warmPeer() loads the library before the first step; openPollMs says
// that openPeers() can change without an event (re-checked that often while waiting for it).
import { fillPattern } from './pattern.js';
import { buildInto, expectedText } from './docs.js';

const now = () => performance.now();
const [adapterName, indexArg] = process.argv.slice(2);
const A = await import(`./${adapterName}.js`);
let currentRoom = null;
// The orchestrator may stop this process while a reply is on its way: a message it can no
// longer receive is dropped (the process exits on 'disconnect').
const send = (m) => { if (process.connected) process.send(m, () => {}); };
const env = { index: Number(indexArg), signal: (to, data) => send({ t: 'signal', to, room: currentRoom, data }), onSignal: null };
const earlySignals = []; // [room, from, data] that arrived before this peer's join() created its connection

let peer = null;
let tJoin = 0; // when join() was called: the start of connect and late-joiner times
const watchers = new Set(); // conditions re-checked on every event of the peer
const notify = () => { for (const w of [...watchers]) w(); };
let bulk = null; // { buf } to send / { expected, got, pieces } being received

// Resolves with `value()` as soon as `cond()` holds (checked now, after every peer event and,
// with pollMs, that often), or with { timeout: ms } after timeoutMs.
function until(cond, value, timeoutMs, pollMs = 0) {
  return new Promise((resolve) => {
    let timer = null;
    let poll = null;
    const check = () => {
      if (!cond()) return false;
      watchers.delete(check);
      clearTimeout(timer);
      clearInterval(poll);
      resolve(value());
      return true;
    };
    if (check()) return;
    watchers.add(check);
    if (pollMs) poll = setInterval(check, pollMs);
    // On a timeout, the adapter's view of its peers (if it has one) says what was missing.
    timer = setTimeout(() => { watchers.delete(check); clearInterval(poll); resolve({ timeout: timeoutMs, state: peer?.describe?.() }); }, timeoutMs);
  });
}

const steps = {
  async prepare({ spec }) {
    const t0 = now();
    const info = await A.prepare(spec, buildInto);
    return { ms: now() - t0, ...info };
  },

  async join(args) {
    if (peer) throw new Error('join: this process is already in a room (leave first)');
    currentRoom = args.room;
    peer = await A.createPeer(env, { notify });
    for (const [room, from, data] of earlySignals.splice(0)) if (room === currentRoom) env.onSignal?.(from, data);
    tJoin = now();
    await peer.join(args);
    return { inRoomMs: now() - tJoin };
  },

  // Time from join() to n open (and, for documents, synced) peers.
  waitOpen({ n, timeoutMs, pollMs = 1 }) {
    return until(() => peer.openPeers() >= n, () => ({ ms: now() - tJoin }), timeoutMs, A.openPollMs ? Math.max(A.openPollMs, pollMs) : 0);
  },

  // Loads the text a late joiner must reach, before the timed part.
  expect({ spec }) {
    return { chars: expectedText(spec).length };
  },

  // Time from join() until the text equals the document `spec` (length first: cheap).
  waitText({ spec, timeoutMs }) {
    const want = expectedText(spec);
    return until(() => peer.textLength() === want.length && peer.text() === want, () => ({ ms: now() - tJoin }), timeoutMs);
  },

  // The echo side of the latency test: answer every remote keystroke with one of ours.
  echo() {
    peer.onRemote(() => peer.keystroke('b'));
    return {};
  },

  // count round trips, one at a time: keystroke, wait for the echo; one-way = RTT / 2.
  async ping({ count, timeoutMs }) {
    const samples = [];
    let wake = null;
    peer.onRemote(() => { if (wake) wake(); });
    for (let i = 0; i < count; i++) {
      const t0 = now();
      const got = new Promise((resolve) => { wake = resolve; });
      peer.keystroke('a');
      const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), timeoutMs));
      if ((await Promise.race([got, timer])) === 'timeout') return { samples, timeout: timeoutMs };
      samples.push((now() - t0) / 2);
      await new Promise((resolve) => setImmediate(resolve)); // leave the event handler first
    }
    peer.onRemote(null);
    return { samples };
  },

  // Types `count` characters, one per event-loop turn (remote changes are applied in between,
  // as in an editor); resolves with the text once it holds `total` characters (everyone's).
  type({ count, total, ch, timeoutMs }) {
    const done = until(() => peer.textLength() >= total, () => ({ text: peer.text() }), timeoutMs)
      .then((r) => (r.timeout !== undefined && peer ? { ...r, state: { chars: peer.textLength(), of: total, peers: r.state } } : r));
    let i = 0;
    const next = () => {
      if (i++ >= count || !peer) return;
      peer.keystroke(ch);
      notify();
      setImmediate(next);
    };
    next();
    return done;
  },

  prepareBytes({ size }) {
    const buf = new Uint8Array(size);
    fillPattern(buf);
    bulk = { buf };
    return {};
  },

  async sendBytes() {
    await peer.sendBytes(bulk.buf);
    return {};
  },

  // Resolves once `size` bytes have arrived (content checked afterwards by checkBytes).
  recvBytes({ size, timeoutMs }) {
    bulk = { expected: size, got: 0, pieces: [] };
    peer.onBytes((u8) => {
      bulk.got += u8.byteLength;
      bulk.pieces.push(u8);
      if (bulk.got >= bulk.expected) notify();
    });
    return until(() => bulk.got >= bulk.expected, () => ({ bytes: bulk.got }), timeoutMs);
  },

  checkBytes() {
    const all = new Uint8Array(bulk.got);
    let off = 0;
    for (const p of bulk.pieces) { all.set(p, off); off += p.byteLength; }
    const want = new Uint8Array(bulk.expected);
    fillPattern(want);
    const ok = all.length === want.length && Buffer.from(all.buffer, all.byteOffset, all.length).equals(Buffer.from(want.buffer));
    bulk = null;
    return { ok, bytes: all.length };
  },

  stats() {
    return peer?.stats ? peer.stats() : {};
  },

  async leave() {
    watchers.clear();
    bulk = null;
    const p = peer;
    peer = null;
    currentRoom = null;
    env.onSignal = null;
    if (p) await p.leave();
    return {};
  },
};

process.on('message', async (m) => {
  if (m.t === 'signal') {
    // Late candidates of a finished run are dropped; early ones of the next run wait for join().
    if (peer && m.room === currentRoom) env.onSignal?.(m.from, m.data);
    else if (!peer) earlySignals.push([m.room, m.from, m.data]);
    return;
  }
  if (m.t !== 'call') return;
  try {
    const r = await steps[m.cmd](m.args || {});
    send({ t: 'reply', id: m.id, ok: true, r });
  } catch (e) {
    send({ t: 'reply', id: m.id, ok: false, error: String(e?.stack || e) });
  }
});
process.on('disconnect', () => process.exit(0)); // the orchestrator went away
if (A.warmPeer) await A.warmPeer(); // load the library (and its native addon) before the first step
send({ t: 'ready' });
