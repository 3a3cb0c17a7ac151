// PeerTransport (js/room/transport.js) over real WebRTC (@roamhq/wrtc) and our signaling server,
// inside a private network namespace:  scripts/netns.sh node --test tests/webrtc/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { wrtc, startServer, closeAll, makePeer, opened, waitUntil, numbered, indices, range, unreachableRtc, blockableRtc } from './helpers/peers.js';
import { fakeHub } from './helpers/fake-signaling.js';
import { PeerTransport, TransportError, MAX_FRAME_BYTES } from '../../js/room/transport.js';

let srv;
before(async () => {
  srv = await startServer();
});
// Transports on the in-memory hub (their timers would keep the process alive): closed here too,
// so that a failed test cannot leave the process running.
const hubTransports = new Set();
const onHub = (t) => (hubTransports.add(t), t);
after(async () => {
  await closeAll();
  await Promise.allSettled([...hubTransports].map((t) => t.close()));
  await srv.close();
});

let roomCounter = 0;
const newRoom = () => `transport-${process.pid}-${++roomCounter}`;

/** Sends numbered frames 0..n-1 from a to b. */
function sendNumbered(a, b, n, size) {
  for (const i of range(n)) assert.equal(a.transport.send(b.id, numbered(i, size)), true);
}

const errorCodes = (p) => p.errors.map((e) => e.code);

test('two peers dial each other at once (glare): one data channel, frames in order both ways', async () => {
  const room = newRoom();
  // Count the offers each side applies: both must offer (a real glare) and still connect.
  const offers = { a: 0, b: 0 };
  const counting = (side) => ({
    ...wrtc,
    RTCPeerConnection: class extends wrtc.RTCPeerConnection {
      setLocalDescription(desc) {
        if (desc && desc.type === 'offer') offers[side]++;
        return super.setLocalDescription(desc);
      }
    },
  });
  // (firstFramesWaitMs 0: both dial as soon as they heard each other, frames or not)
  const a = await makePeer(srv, room, { rtc: counting('a'), firstFramesWaitMs: 0 });
  const b = await makePeer(srv, room, { rtc: counting('b'), firstFramesWaitMs: 0 });
  // Greetings without the dial flag (as from a peer that is not dialling yet, or an older one):
  // the polite side then offers too (see the next test for the flag).
  for (const p of [a, b]) withoutDialFlag(p);
  // Same tick: both create an offer; perfect negotiation must settle it.
  a.transport.connect(b.id);
  b.transport.connect(a.id);
  // Frames sent before the channel opens go through the relay, then the rest through the channel:
  // the receiver still sees one ordered stream.
  sendNumbered(a, b, 50);
  await Promise.all([opened(a, b.id), opened(b, a.id)]);
  for (const i of range(50)) a.transport.send(b.id, numbered(50 + i));
  sendNumbered(b, a, 100, 1000);
  await waitUntil(() => b.received(a.id).length === 100 && a.received(b.id).length === 100, { message: 'frames' });
  assert.deepEqual(indices(b.received(a.id)), range(100));
  assert.deepEqual(indices(a.received(b.id)), range(100));
  assert.ok(offers.a >= 1 && offers.b >= 1, `both sides offered: ${JSON.stringify(offers)}`);
  assert.deepEqual(a.opens.at(-1), [b.id, 'datachannel']);
  assert.deepEqual(b.opens.at(-1), [a.id, 'datachannel']);
  assert.deepEqual(errorCodes(a), []);
  assert.deepEqual(errorCodes(b), []);
  await a.close();
  await b.close();
});

/** Strips the dial flag (d) from the peer's outgoing greetings. */
function withoutDialFlag(p) {
  const signal = p.signaling.signal.bind(p.signaling);
  p.signaling.signal = (to, data) => {
    if (data && data.m && data.m.k === 'hello') data = { ...data, m: { ...data.m, d: undefined } };
    return signal(to, data);
  };
}

test('both dial at once, greetings say so: only the impolite side offers (no glare), one data channel', async () => {
  const room = newRoom();
  const offers = new Map();
  const counting = (side) => ({
    ...wrtc,
    RTCPeerConnection: class extends wrtc.RTCPeerConnection {
      setLocalDescription(desc) {
        if (desc && desc.type === 'offer') offers.set(side, (offers.get(side) || 0) + 1);
        return super.setLocalDescription(desc);
      }
    },
  });
  const a = await makePeer(srv, room, { rtc: counting('a') });
  const b = await makePeer(srv, room, { rtc: counting('b') });
  a.transport.connect(b.id);
  b.transport.connect(a.id);
  await Promise.all([opened(a, b.id), opened(b, a.id)]);
  sendNumbered(a, b, 20);
  sendNumbered(b, a, 20);
  await waitUntil(() => b.received(a.id).length === 20 && a.received(b.id).length === 20, { message: 'frames' });
  const [polite, impolite] = a.transport.defaultPolite(b.id) ? ['a', 'b'] : ['b', 'a'];
  assert.equal(offers.get(polite), undefined, `the polite side made no offer: ${JSON.stringify([...offers])}`);
  assert.equal(offers.get(impolite), 1);
  assert.deepEqual(errorCodes(a), []);
  assert.deepEqual(errorCodes(b), []);
  await a.close();
  await b.close();
});

// Creating an RTCPeerConnection blocks the thread for milliseconds (wrtc): a late joiner's greeting
// and its first relayed frames (the sync request) go out before it, and the other side's first
// frames are handled before it too (the reply to that request).
test('the connection is made once the greeting is answered and the first relayed frames are in', async () => {
  const room = newRoom();
  const log = [];
  const rtc = { ...wrtc, RTCPeerConnection: class extends wrtc.RTCPeerConnection {
    constructor(config) {
      super(config);
      log.push('pc');
    }
  } };
  // (a waits for b's frames as long as it takes; 100 ms by default, then it dials anyway)
  const a = await makePeer(srv, room, { rtc, firstFramesWaitMs: 60_000, onFrame: () => log.push('frame in') });
  const b = await makePeer(srv, room);
  const signal = a.signaling.signal.bind(a.signaling);
  a.signaling.signal = (to, data) => (log.push(data?.m?.k), signal(to, data));
  const relay = a.signaling.relay.bind(a.signaling);
  a.signaling.relay = (to, data) => (log.push('relay'), relay(to, data));
  a.transport.connect(b.id);
  assert.deepEqual(log, [], 'no connection yet');
  assert.equal(a.transport.send(b.id, numbered(0)), true); // waits for the route
  b.transport.connect(a.id);
  assert.equal(b.transport.send(a.id, numbered(0)), true);
  await Promise.all([opened(a, b.id), opened(b, a.id)]);
  assert.equal(log[0], 'hello');
  assert.equal(log.filter((k) => k === 'pc').length, 1, log.join(' '));
  const pc = log.indexOf('pc');
  assert.ok(log.indexOf('relay') < pc && log.indexOf('frame in') < pc, `frames before the connection: ${log.join(' ')}`);
  assert.ok(log.slice(0, pc).every((k) => k !== 'sdp' && k !== 'ice'));
  await waitUntil(() => b.received(a.id).length === 1, { message: 'frame' });
  assert.deepEqual(errorCodes(a), []);
  assert.deepEqual(errorCodes(b), []);
  await a.close();
  await b.close();
});

test('relayed frames that follow an offer are delivered while the offer is still being applied', async () => {
  const room = newRoom();
  let release;
  const gate = new Promise((r) => (release = r));
  const rtc = { ...wrtc, RTCPeerConnection: class extends wrtc.RTCPeerConnection {
    setRemoteDescription(desc) {
      return desc && desc.type === 'offer' ? gate.then(() => super.setRemoteDescription(desc)) : super.setRemoteDescription(desc);
    }
  } };
  const a = await makePeer(srv, room);
  const b = await makePeer(srv, room, { rtc }); // applies offers only once released
  const signal = a.signaling.signal.bind(a.signaling);
  let offered = false;
  a.signaling.signal = (to, data) => {
    const sent = signal(to, data);
    // right behind the offer on the wire: a frame on the relay
    if (data?.m?.k === 'sdp' && !offered) offered = a.transport.send(b.id, numbered(1));
    return sent;
  };
  a.transport.connect(b.id, false); // a offers
  b.transport.connect(a.id, true);
  assert.equal(a.transport.send(b.id, numbered(0)), true);
  await waitUntil(() => b.received(a.id).length === 2, { timeoutMs: 5000, message: 'the frame behind the offer' });
  assert.deepEqual(indices(b.received(a.id)), [0, 1]);
  assert.equal(b.transport.route(a.id), 'relay', 'the offer is not applied yet');
  release();
  await Promise.all([opened(a, b.id), opened(b, a.id)]);
  assert.deepEqual(errorCodes(a), []);
  assert.deepEqual(errorCodes(b), []);
  await a.close();
  await b.close();
});

// ---- negotiation one step at a time (stale answers) and signals to peers that left
// (Media m-lines are tested in Chromium, browser-transport.test.js: @roamhq/wrtc crashes at exit
// once an audio or video transceiver has been connected.)
test('an answer to an earlier offer (delivered again) is ignored: the current offer/answer completes, no error', async () => {
  const hub = fakeHub();
  const answers = [];
  // The second answer of b is preceded by a copy of its first (a renegotiation meets a stale answer).
  hub.tamperSignal = (from, to, data) => {
    if (from !== 'pb' || data.m?.k !== 'sdp' || data.m.d.type !== 'answer') return [data];
    answers.push(data);
    return answers.length === 2 ? [answers[0], data] : [data];
  };
  const errors = [];
  const transport = (id) => onHub(new PeerTransport({ signaling: hub.member(id), rtc: wrtc, onError: (e) => errors.push(e) }));
  const a = transport('pa');
  const b = transport('pb');
  const got = [];
  b.opts.onFrame = (from, bytes) => got.push(bytes.slice());
  const ufrag = (sdp) => sdp.match(/a=ice-ufrag:(\S+)/)[1];
  try {
    a.connect('pb');
    await waitUntil(() => a.route('pb') === 'datachannel' && b.route('pa') === 'datachannel', { message: 'channel' });
    const pc = a.peerConnection('pb');
    pc.restartIce(); // a second offer; b's answer to it has new ICE credentials, the first one old ones
    await waitUntil(() => answers.length === 2 && pc.signalingState === 'stable', { message: 'renegotiated' });
    assert.equal(ufrag(pc.currentRemoteDescription.sdp), ufrag(answers[1].m.d.sdp), 'the answer to the current offer applies');
    assert.notEqual(ufrag(answers[0].m.d.sdp), ufrag(answers[1].m.d.sdp));
    for (const i of range(20)) a.send('pb', numbered(i));
    await waitUntil(() => got.length === 20, { message: 'frames' });
    assert.deepEqual(indices(got), range(20));
    assert.deepEqual(errors, []);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a signal to a peer that left is dropped silently once the peer is disconnected; to a peer that stays unknown it is an error', async () => {
  const hub = fakeHub();
  const errors = [];
  const a = onHub(new PeerTransport({ signaling: hub.member('pa'), relay: 'always', connectTimeoutMs: 300, onError: (e) => errors.push(e) }));
  hub.member('pb');
  try {
    // pb leaves signaling: a's greeting fails with unknown_peer before a hears of the leave.
    hub.remove('pb');
    a.connect('pb');
    a.connect('ghost'); // never in the room, and never disconnected
    await new Promise((r) => setImmediate(r));
    await a.disconnect('pb'); // what a room does on the leave
    await waitUntil(() => errors.length > 0, { message: 'the error for ghost' });
    assert.deepEqual(errors.map((e) => [e.code, e.peerId]), [['signal_failed', 'ghost']]);
    assert.match(errors[0].message, /unknown_peer/);
  } finally {
    await a.close();
  }
});
test('a send on a channel closing under us is no error: the frames wait for the next route and arrive in order', async () => {
  const room = newRoom();
  let closing = false; // a's channel throws on send as one does between the peer's close and its close event
  const rtc = {
    ...wrtc,
    RTCPeerConnection: class extends wrtc.RTCPeerConnection {
      createDataChannel(...args) {
        const dc = super.createDataChannel(...args);
        const send = dc.send.bind(dc);
        dc.send = (data) => {
          if (closing) throw new Error("RTCDataChannel.readyState is not 'open'");
          return send(data);
        };
        const state = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(dc), 'readyState');
        if (state?.get) Object.defineProperty(dc, 'readyState', { get: () => (closing ? 'closing' : state.get.call(dc)) });
        return dc;
      }
    },
  };
  const a = await makePeer(srv, room, { rtc });
  const b = await makePeer(srv, room);
  a.transport.connect(b.id);
  await Promise.all([opened(a, b.id), opened(b, a.id)]);
  sendNumbered(a, b, 5);
  await waitUntil(() => b.received(a.id).length === 5, { message: 'frames over the channel' });
  closing = true;
  for (const i of range(5)) assert.equal(a.transport.send(b.id, numbered(5 + i)), true);
  b.transport.peerConnection(a.id).close(); // the close a's channel was about to report
  await waitUntil(() => b.received(a.id).length === 10, { message: 'the kept frames, by the next route' });
  assert.deepEqual(indices(b.received(a.id)), range(10));
  assert.deepEqual(errorCodes(a).filter((c) => c !== 'connect_failed'), []); // (the link is re-made)
  await a.close();
  await b.close();
});

// ---- signals of an earlier incarnation of either side (disconnect + reconnect of the same ids)
const ufragOf = (text) => (typeof text === 'string' ? (text.match(/(?:a=ice-ufrag:| ufrag )(\S+)/) || [])[1] : undefined);

/** An rtc wrapper recording, per peer connection, the ICE ufrags of every remote description and
 * candidate applied to it; `state.phase` at creation tells which connection a pc belongs to. */
function ufragSpyRtc(state) {
  return {
    ...wrtc,
    RTCPeerConnection: class extends wrtc.RTCPeerConnection {
      constructor(config) {
        super(config);
        this.phase = state.phase;
        this.applied = [];
        state.pcs.push(this);
      }
      setRemoteDescription(desc) {
        this.applied.push(ufragOf(desc && desc.sdp));
        return super.setRemoteDescription(desc);
      }
      addIceCandidate(cand) {
        this.applied.push(ufragOf(cand && cand.candidate) ?? (cand && cand.usernameFragment));
        return super.addIceCandidate(cand);
      }
    },
  };
}

test("after a disconnect + reconnect, the previous connection's late SDP and candidates are ignored; the new one connects at once", async () => {
  const hub = fakeHub();
  const state = { phase: 1, pcs: [] };
  const old = { pa: [], pb: [] }; // sdp/ice payloads of the first connection, by sender
  const injected = new Set();
  // Phase 2: the old connection's signals (as if still in flight through the server) overtake the
  // first description of the new connection, in both directions.
  hub.tamperSignal = (from, to, data) => {
    const k = data.m && data.m.k;
    if (k !== 'sdp' && k !== 'ice') return [data];
    if (state.phase === 1) {
      old[from].push(data);
      return [data];
    }
    if (k !== 'sdp' || injected.has(from)) return [data];
    injected.add(from);
    return [...old[from], data];
  };
  const errors = [];
  const got = [];
  const transport = (id) => onHub(new PeerTransport({
    signaling: hub.member(id),
    rtc: ufragSpyRtc(state),
    connectTimeoutMs: 60_000, // a connection stuck on a stale description must not heal by re-dialling within the test
    onError: (e) => errors.push(`${id}: ${e.code} ${e.message}`),
    onFrame: (from, bytes) => id === 'pb' && got.push(bytes.slice()),
  }));
  const a = transport('pa');
  const b = transport('pb');
  const direct = () => a.route('pb') === 'datachannel' && b.route('pa') === 'datachannel';
  try {
    a.connect('pb');
    await waitUntil(direct, { message: 'the first channel' });
    const oldUfrags = new Set([...old.pa, ...old.pb].map((d) => ufragOf(d.m.k === 'sdp' ? d.m.d.sdp : d.m.d.candidate)));
    assert.ok(old.pa.some((d) => d.m.k === 'ice') && old.pb.some((d) => d.m.k === 'ice') && !oldUfrags.has(undefined));
    state.phase = 2;
    await a.disconnect('pb');
    a.connect('pb');
    await waitUntil(() => injected.size === 2 && direct(), { timeoutMs: 20_000, message: 'the new channel' }).catch((err) => {
      const seen = state.pcs.map((pc) => `${pc.phase}: ${pc.applied.map((u) => (oldUfrags.has(u) ? 'OLD' : 'new')).join(' ')}`);
      throw new Error(`${err.message}; remote ufrags applied per connection: ${seen.join(' / ')}; errors: ${errors.join('; ') || 'none'}`);
    });
    for (const i of range(10)) a.send('pb', numbered(i));
    await waitUntil(() => got.length === 10, { message: 'frames on the new channel' });
    assert.deepEqual(indices(got), range(10));
    const fresh = state.pcs.filter((pc) => pc.phase === 2);
    assert.equal(fresh.length, 2, 'one new connection on each side, no re-dial');
    for (const pc of fresh) assert.deepEqual(pc.applied.filter((u) => oldUfrags.has(u)), [], 'nothing of the old connection reached a new one');
    assert.deepEqual(errors, []);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a peer back under the same id whose bye was lost (its signaling dropped it): the other side follows its new connection at once', async () => {
  const hub = fakeHub();
  const state = { phase: 1, pcs: [] };
  let byeLost = false;
  hub.tamperSignal = (from, to, data) => (byeLost && data.m && data.m.k === 'bye' ? [] : [data]);
  const errors = [];
  const events = [];
  const got = [];
  const transport = (id) => onHub(new PeerTransport({
    signaling: hub.member(id),
    rtc: ufragSpyRtc(state),
    connectTimeoutMs: 60_000, // (as above: no healing by re-dial within the test)
    onError: (e) => errors.push(`${id}: ${e.code} ${e.message}`),
    onChannelOpen: (peer, via) => id === 'pb' && events.push(`open ${via}`),
    onChannelClosed: () => id === 'pb' && events.push('closed'),
    onFrame: (from, bytes) => id === 'pb' && got.push(bytes.slice()),
  }));
  const a = transport('pa');
  const b = transport('pb');
  const direct = () => a.route('pb') === 'datachannel' && b.route('pa') === 'datachannel';
  try {
    a.connect('pb');
    await waitUntil(direct, { message: 'the first channel' });
    for (const i of range(3)) a.send('pb', numbered(i));
    await waitUntil(() => got.length === 3, { message: 'frames on the first channel' });
    state.phase = 2;
    byeLost = true;
    await a.disconnect('pb');
    a.connect('pb');
    await waitUntil(() => state.pcs.filter((pc) => pc.phase === 2 && pc.connectionState === 'connected').length === 2 && direct(), {
      timeoutMs: 20_000,
      message: 'the new channel',
    }).catch((err) => {
      throw new Error(`${err.message}; b: ${events.join(', ')}; errors: ${errors.join('; ') || 'none'}`);
    });
    for (const i of range(5)) a.send('pb', numbered(i));
    await waitUntil(() => got.length === 8, { message: 'frames on the new channel' });
    assert.deepEqual(indices(got), [...range(3), ...range(5)], 'the new stream is delivered from its start');
    assert.equal(state.pcs.filter((pc) => pc.phase === 2).length, 2, `one new connection on each side, no re-dial (errors: ${errors.join('; ') || 'none'})`);
    assert.equal(events.filter((e) => e === 'closed').length, 1, `b's link to a closed once, for the restart: ${events.join(', ')}`);
    assert.deepEqual(errors, []);
  } finally {
    await a.close();
    await b.close();
  }
});
test("a bye of the peer's previous entry, arriving after both sides reconnected, does not end the new link", async () => {
  const hub = fakeHub();
  let held = null;
  // b's bye to a's first entry is slow: it arrives just before b's answer to a's new greeting.
  hub.tamperSignal = (from, to, data) => {
    if (from !== 'pb' || held === false) return [data];
    if (held === null && data.m.k === 'bye') {
      held = data;
      return [];
    }
    if (held && data.m.k === 'hello') {
      const late = held;
      held = false;
      return [late, data];
    }
    return [data];
  };
  const closed = [];
  const got = [];
  const a = onHub(new PeerTransport({ signaling: hub.member('pa'), relay: 'always', onChannelClosed: (id) => closed.push(id) }));
  const b = onHub(new PeerTransport({ signaling: hub.member('pb'), relay: 'always', onFrame: (from, bytes) => got.push(bytes.slice()) }));
  try {
    a.connect('pb');
    b.connect('pa');
    await waitUntil(() => a.route('pb') === 'relay' && b.route('pa') === 'relay', { message: 'the first link' });
    await b.disconnect('pa'); // its bye is held back...
    await a.disconnect('pb'); // ...while a leaves and comes back
    a.connect('pb');
    await waitUntil(() => held === false && b.route('pa') === 'relay', { message: 'the new link' });
    for (const i of range(5)) a.send('pb', numbered(i));
    await waitUntil(() => got.length === 5, { message: 'frames on the new link' });
    assert.deepEqual(indices(got), range(5));
    assert.equal(a.route('pb'), 'relay');
    assert.deepEqual(closed, ['pb'], 'closed once, by the disconnect; the stale bye closed nothing');
  } finally {
    await a.close();
    await b.close();
  }
});

test('three peers: only the newcomer dials, the others accept; explicit roles work too', async () => {
  const room = newRoom();
  const [a, b, c] = [await makePeer(srv, room), await makePeer(srv, room), await makePeer(srv, room)];
  a.transport.connect(b.id, true);
  b.transport.connect(a.id, false);
  c.transport.connect(a.id); // a and b never call connect for c
  c.transport.connect(b.id);
  await Promise.all([opened(a, b.id), opened(c, a.id), opened(c, b.id), opened(a, c.id), opened(b, c.id)]);
  for (const [x, y] of [[a, b], [b, c], [c, a], [a, c]]) sendNumbered(x, y, 20, 200);
  await waitUntil(() => [[b, a], [c, b], [a, c], [c, a]].every(([y, x]) => y.received(x.id).length === 20), { message: 'frames' });
  for (const [y, x] of [[b, a], [c, b], [a, c], [c, a]]) assert.deepEqual(indices(y.received(x.id)), range(20));
  for (const p of [a, b, c]) assert.deepEqual(errorCodes(p), []);
  await Promise.all([a, b, c].map((p) => p.close()));
});

test('frames sent within one turn share data channel messages; a malformed batch is refused', async () => {
  const room = newRoom();
  // Count what goes into the channel (a send is a synchronous call into the WebRTC thread).
  const sent = [];
  const counting = {
    ...wrtc,
    RTCPeerConnection: class extends wrtc.RTCPeerConnection {
      createDataChannel(...args) {
        const dc = super.createDataChannel(...args);
        const send = dc.send.bind(dc);
        dc.send = (data) => { sent.push(data.byteLength); return send(data); };
        return dc;
      }
    },
  };
  const a = await makePeer(srv, room, { rtc: counting });
  const b = await makePeer(srv, room);
  a.transport.connect(b.id);
  b.transport.connect(a.id);
  await Promise.all([opened(a, b.id), opened(b, a.id)]);
  sent.length = 0;
  sendNumbered(a, b, 500, 300); // one turn: 150 KB in 500 frames
  await waitUntil(() => b.received(a.id).length === 500, { message: 'frames' });
  assert.deepEqual(indices(b.received(a.id)), range(500));
  assert.ok(sent.length <= 5, `500 frames took ${sent.length} channel sends`);
  assert.equal(sent[0], 9 + 300, 'the first frame of a turn goes out alone, at once');
  // Frames sent one turn apart each go at once.
  sent.length = 0;
  for (const i of range(3)) {
    a.transport.send(b.id, numbered(500 + i));
    await new Promise((r) => setImmediate(r));
  }
  await waitUntil(() => b.received(a.id).length === 503, { message: 'single frames' });
  assert.equal(sent.length, 3);
  assert.deepEqual(errorCodes(b), []);
  // A batch whose length fields run past its end: an error naming the peer, nothing delivered.
  const bad = new Uint8Array(9 + 4 + 2);
  bad[0] = 2;
  new DataView(bad.buffer).setUint32(9, 100);
  b.transport._onChannelMessage(b.transport._peers.get(a.id), bad.buffer);
  assert.deepEqual(errorCodes(b), ['bad_frame']);
  assert.equal(b.errors[0].peerId, a.id);
  assert.equal(b.received(a.id).length, 503);
  await a.close();
  await b.close();
});

test('a 64 KiB frame passes whole on both routes; a bigger one or a non-byte frame is refused clearly', async () => {
  const room = newRoom();
  const a = await makePeer(srv, room);
  const b = await makePeer(srv, room);
  a.transport.connect(b.id);
  const big = numbered(7, MAX_FRAME_BYTES);
  a.transport.send(b.id, big); // before the channel: relayed in two parts
  await opened(a, b.id);
  a.transport.send(b.id, big); // through the channel
  await waitUntil(() => b.received(a.id).length === 2, { message: '64 KiB frames' });
  assert.deepEqual(b.received(a.id), [big, big]);
  assert.throws(() => a.transport.send(b.id, new Uint8Array(MAX_FRAME_BYTES + 1)), (e) => e instanceof TransportError && e.code === 'frame_too_large');
  assert.throws(() => a.transport.send(b.id, 'text'), TypeError);
  assert.throws(() => a.transport.send('nobody', new Uint8Array(1)), (e) => e.code === 'unknown_peer');
  await a.close();
  await b.close();
});

test('16 MiB in 60 KiB frames with backpressure arrive intact and in order', async () => {
  const room = newRoom();
  let received = 0;
  let next = 0;
  let bad = null;
  const b = await makePeer(srv, room, {
    onFrame: (from, bytes) => {
      const i = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
      if (i !== next++ || bytes.length !== 60 * 1024 || bytes[bytes.length - 1] !== ((i + bytes.length - 1) & 255)) bad ??= `frame ${i} at ${next - 1}`;
      received += bytes.length;
    },
  });
  const a = await makePeer(srv, room);
  a.transport.connect(b.id);
  await opened(a, b.id);
  const total = 16 * 1024 * 1024;
  const count = Math.ceil(total / (60 * 1024));
  const start = performance.now();
  let maxBuffered = 0;
  for (let i = 0; i < count; i++) {
    // The app's side of backpressure: wait for onDrain above 1 MiB.
    if (a.transport.bufferedAmount(b.id) > 1024 * 1024) {
      const drains = a.drains;
      await waitUntil(() => a.drains > drains, { intervalMs: 1, message: 'drain' });
    }
    a.transport.send(b.id, numbered(i, 60 * 1024));
    maxBuffered = Math.max(maxBuffered, a.transport.bufferedAmount(b.id));
  }
  await waitUntil(() => received >= count * 60 * 1024 || bad, { timeoutMs: 120_000, message: 'bulk transfer' });
  const ms = performance.now() - start;
  assert.equal(bad, null);
  assert.equal(received, count * 60 * 1024);
  assert.equal(a.transport.route(b.id), 'datachannel');
  console.log(`# 16 MiB in 60 KiB frames over the data channel: ${ms.toFixed(0)} ms, ${(received / 1e6 / (ms / 1000)).toFixed(1)} MB/s, max buffered ${(maxBuffered / 1024).toFixed(0)} KiB`);
  await a.close();
  await b.close();
});

test('a pair that cannot connect directly still exchanges frames through the relay', async () => {
  const room = newRoom();
  const relaysBefore = srv.metrics.relays;
  const a = await makePeer(srv, room, { rtc: unreachableRtc, connectTimeoutMs: 1000 });
  const b = await makePeer(srv, room, { rtc: unreachableRtc, connectTimeoutMs: 1000 });
  a.transport.connect(b.id);
  b.transport.connect(a.id);
  await Promise.all([opened(a, b.id, 'relay'), opened(b, a.id, 'relay')]);
  sendNumbered(a, b, 300, 100); // (sent in one task: they share relay messages)
  sendNumbered(b, a, 5, MAX_FRAME_BYTES); // two relay messages each
  await waitUntil(() => b.received(a.id).length === 300 && a.received(b.id).length === 5, { message: 'relayed frames' });
  assert.deepEqual(indices(b.received(a.id)), range(300));
  assert.deepEqual(indices(a.received(b.id)), range(5));
  // The direct attempts keep failing and say so, while the relay carries everything.
  await waitUntil(() => errorCodes(a).includes('connect_failed'), { message: 'connect_failed' });
  assert.ok(a.errors.every((e) => e.code === 'connect_failed' && e.peerId === b.id), a.errors.map(String).join('\n'));
  assert.equal(a.transport.route(b.id), 'relay');
  assert.ok(srv.metrics.relays - relaysBefore >= 10, 'frames went through the server relay');
  await a.close();
  await b.close();
});

test('when the direct path opens up, ICE restart / re-dial moves the stream from the relay to the channel, in order', async () => {
  const room = newRoom();
  let blocked = true;
  const rtc = blockableRtc(() => blocked);
  const a = await makePeer(srv, room, { rtc, connectTimeoutMs: 1000 });
  const b = await makePeer(srv, room, { rtc, connectTimeoutMs: 1000 });
  a.transport.connect(b.id);
  b.transport.connect(a.id);
  await opened(a, b.id, 'relay');
  let i = 0;
  while (i < 50) a.transport.send(b.id, numbered(i++, 3000));
  await waitUntil(() => errorCodes(a).includes('connect_failed'), { message: 'a failed attempt' });
  blocked = false;
  // Keep sending while the route changes underneath.
  while (a.transport.route(b.id) !== 'datachannel') {
    a.transport.send(b.id, numbered(i++, 3000));
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const end = i + 50; i < end; ) a.transport.send(b.id, numbered(i++, 3000));
  await waitUntil(() => b.received(a.id).length === i, { message: 'all frames' });
  assert.deepEqual(indices(b.received(a.id)), range(i));
  assert.deepEqual(a.opens.map(([, via]) => via), ['relay', 'datachannel']);
  assert.ok(a.errors.every((e) => e.code === 'connect_failed'), a.errors.map(String).join('\n'));
  assert.ok(!b.errors.some((e) => e.code === 'frames_lost'));
  await a.close();
  await b.close();
});

test('a connection that breaks without a bye is re-dialled; frames keep their order meanwhile', async () => {
  const room = newRoom();
  const pcsOfB = [];
  const trackingRtc = {
    ...wrtc,
    RTCPeerConnection: class extends wrtc.RTCPeerConnection {
      constructor(config) {
        super(config);
        pcsOfB.push(this);
      }
    },
  };
  const a = await makePeer(srv, room, { gapTimeoutMs: 1000 });
  const b = await makePeer(srv, room, { rtc: trackingRtc, gapTimeoutMs: 1000 });
  a.transport.connect(b.id);
  b.transport.connect(a.id);
  await Promise.all([opened(a, b.id), opened(b, a.id)]);
  let i = 0;
  while (i < 10) a.transport.send(b.id, numbered(i++));
  await waitUntil(() => b.received(a.id).length === 10, { message: 'first frames' });
  // B's connection dies under the transport (as when its network goes away): no bye is sent.
  pcsOfB.at(-1).close();
  await waitUntil(() => a.transport.route(b.id) !== 'datachannel', { message: 'a notices' });
  while (i < 30) a.transport.send(b.id, numbered(i++));
  await waitUntil(() => a.transport.route(b.id) === 'datachannel' && pcsOfB.length >= 2, { message: 'a new connection' });
  while (i < 40) a.transport.send(b.id, numbered(i++));
  await waitUntil(() => indices(b.received(a.id)).at(-1) === 39, { message: 'last frame' });
  const got = indices(b.received(a.id));
  // Every frame once, in order; any frame lost with the dead connection is reported, not skipped silently.
  assert.deepEqual(got, [...got].sort((x, y) => x - y));
  assert.equal(new Set(got).size, got.length);
  if (got.length < 40) assert.ok(b.errors.some((e) => e.code === 'frames_lost'), 'missing frames are reported');
  assert.ok(a.errors.every((e) => e.code === 'connect_failed'), a.errors.map(String).join('\n'));
  await a.close();
  await b.close();
});

test("the relay is paced and retried under the server's rate limit: nothing is dropped", async () => {
  const tight = await startServer({ rateLimits: { relay: { rate: 40, burst: 5 } } });
  try {
    const room = newRoom();
    const a = await makePeer(tight, room, { relay: 'always', rtc: undefined });
    const b = await makePeer(tight, room, { relay: 'always', rtc: undefined });
    a.transport.connect(b.id);
    sendNumbered(a, b, 80, 33_000); // one relay message each (two would be over 64 KiB)
    await waitUntil(() => b.received(a.id).length === 80, { message: 'relayed frames' });
    assert.deepEqual(indices(b.received(a.id)), range(80));
    assert.ok(tight.metrics.rateLimited > 0, 'the server refused some relays (the retry path ran)');
    assert.deepEqual(errorCodes(a), []);
    await a.close();
    await b.close();
  } finally {
    await tight.close();
  }
});

/** Two transports on an in-memory hub, relay only; b records frames and errors. */
function hubPair(hub, opts = {}) {
  const got = [];
  const errors = [];
  const a = onHub(new PeerTransport({ signaling: hub.member('pa'), relay: 'always', onError: (e) => errors.push(['a', e]), ...opts }));
  const b = onHub(new PeerTransport({
    signaling: hub.member('pb'),
    relay: 'always',
    onFrame: (from, bytes) => got.push(bytes.slice()),
    onError: (e) => errors.push(['b', e]),
    ...opts,
  }));
  return { a, b, got, errors };
}

test('a greeting sent before the peer had a transport is repeated until it answers', async () => {
  const hub = fakeHub();
  const got = [];
  const a = onHub(new PeerTransport({ signaling: hub.member('pa'), relay: 'always', connectTimeoutMs: 100 }));
  const sigB = hub.member('pb'); // joined, but its transport comes later: the first hello is lost
  a.connect('pb');
  for (const i of range(5)) a.send('pb', numbered(i));
  await new Promise((r) => setTimeout(r, 150));
  const b = onHub(new PeerTransport({ signaling: sigB, relay: 'always', onFrame: (from, bytes) => got.push(bytes.slice()) }));
  await waitUntil(() => got.length === 5, { message: 'frames after a repeated hello' });
  assert.deepEqual(indices(got), range(5));
  await a.close();
  await b.close();
});

test("the peer's bye discards frames still queued for it, without an error", async () => {
  const hub = fakeHub();
  const errors = [];
  const closed = [];
  const a = onHub(new PeerTransport({
    signaling: hub.member('pa'),
    relay: 'always',
    relayRate: { rate: 1, burst: 1 }, // slow: frames stay queued
    onError: (e) => errors.push(e),
    onChannelClosed: (id) => closed.push(id),
  }));
  const b = onHub(new PeerTransport({ signaling: hub.member('pb'), relay: 'always' }));
  a.connect('pb');
  await waitUntil(() => a.route('pb') === 'relay', { message: 'route' });
  for (const i of range(5)) a.send('pb', numbered(i));
  assert.ok(a.bufferedAmount('pb') > 0);
  b.connect('pa');
  await b.disconnect('pa');
  await waitUntil(() => closed.includes('pb'), { message: 'bye' });
  assert.equal(a.bufferedAmount('pb'), 0);
  assert.deepEqual(errors, []);
  await a.close();
  await b.close();
});

test('replayed (duplicated) relay messages are delivered once', async () => {
  for (const password of [undefined, 'pw']) {
    const hub = fakeHub();
    hub.tamper = (from, to, bytes) => [bytes, bytes];
    const { a, b, got, errors } = hubPair(hub, { password, roomName: 'hub', pbkdf2Iterations: 1000 });
    a.connect('pb');
    for (const i of range(20)) a.send('pb', numbered(i, i === 5 ? MAX_FRAME_BYTES : 10)); // frame 5 in two parts
    await waitUntil(() => got.length >= 20, { message: 'frames' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(indices(got), range(20));
    assert.deepEqual(errors, []);
    await a.close();
    await b.close();
  }
});

test('a relay message lost on the way: the receiver waits, then reports frames_lost and goes on', async () => {
  const hub = fakeHub();
  let relayed = 0;
  hub.tamper = (from, to, bytes) => (from === 'pa' && ++relayed === 4 ? [] : [bytes]); // frame 3 never arrives
  const { a, b, got, errors } = hubPair(hub, { gapTimeoutMs: 200 });
  a.connect('pb');
  for (const i of range(10)) a.send('pb', numbered(i, 40_000)); // one relay message each
  await waitUntil(() => got.length === 9, { message: 'frames after the gap' });
  assert.deepEqual(indices(got), [0, 1, 2, 4, 5, 6, 7, 8, 9]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0][0], 'b');
  assert.equal(errors[0][1].code, 'frames_lost');
  assert.equal(errors[0][1].peerId, 'pa');
  await a.close();
  await b.close();
});

// --- relay pipelining (a late joiner's sync: no server round trip per chunk) ---
/** pa's relay() on the hub, wrapped: `calls` counts messages; `hold` keeps acks back until
 * release(); `fail: n` makes the n-th message fail with rate_limit (not delivered). */
function wrapRelay(sig, { hold = false, fail = 0 } = {}) {
  const w = { calls: 0, pending: [], release() { for (const r of this.pending.splice(0)) r(); } };
  const relay = sig.relay.bind(sig);
  sig.relay = async (to, data) => {
    if (++w.calls === fail) throw Object.assign(new Error('rate_limit'), { code: 'rate_limit' });
    await relay(to, data);
    if (hold) await new Promise((r) => w.pending.push(r));
  };
  return w;
}

test('relay messages are pipelined: up to 8 in flight before the first is acknowledged', async () => {
  const hub = fakeHub();
  const sig = hub.member('pa');
  const w = wrapRelay(sig, { hold: true });
  const got = [];
  const a = onHub(new PeerTransport({ signaling: sig, relay: 'always' }));
  const b = onHub(new PeerTransport({ signaling: hub.member('pb'), relay: 'always', onFrame: (from, bytes) => got.push(bytes.slice()) }));
  a.connect('pb');
  await waitUntil(() => a.route('pb') === 'relay' && b.route('pa') === 'relay', { message: 'route' });
  for (const i of range(11)) a.send('pb', numbered(i, 40_000));
  await waitUntil(() => got.length === 8, { message: 'eight messages before any ack' });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(got.length, 8, 'at most eight messages in flight');
  while (got.length < 11) {
    w.release();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(indices(got), range(11));
  w.release();
  await a.close();
  await b.close();
});

test('a relay message that fails is sent again, and those sent after it: delivered in order, once', async () => {
  for (const password of [undefined, 'pw']) {
    const hub = fakeHub();
    const sig = hub.member('pa');
    const w = wrapRelay(sig, { fail: 2 });
    const got = [];
    const errors = [];
    const opts = { relay: 'always', password, roomName: 'hub', pbkdf2Iterations: 1000, onError: (e) => errors.push(e) };
    const a = onHub(new PeerTransport({ signaling: sig, ...opts }));
    const b = onHub(new PeerTransport({ signaling: hub.member('pb'), ...opts, onFrame: (from, bytes) => got.push(bytes.slice()) }));
    a.connect('pb');
    await waitUntil(() => a.route('pb') === 'relay' && b.route('pa') === 'relay', { message: 'route' });
    for (const i of range(6)) a.send('pb', numbered(i, 40_000));
    await waitUntil(() => got.length === 6, { message: 'frames' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(indices(got), range(6));
    assert.ok(w.calls > 6, 'the failed message and those after it went again');
    assert.deepEqual(errors, []);
    await a.close();
    await b.close();
  }
});
test('frames sent in one task share relay messages (whole frames, as many as fit in 64 KiB); a large frame goes alone, in parts', async () => {
  for (const password of [undefined, 'pw']) {
    const hub = fakeHub();
    const sizes = [];
    hub.tamper = (from, to, bytes) => (from === 'pa' && sizes.push(bytes.length), [bytes]);
    const { a, b, got, errors } = hubPair(hub, { password, roomName: 'hub', pbkdf2Iterations: 1000 });
    a.connect('pb');
    await waitUntil(() => a.route('pb') === 'relay' && b.route('pa') === 'relay', { message: 'route' });
    // A late joiner's hello, presence and sync request: one message.
    for (const i of range(3)) a.send('pb', numbered(i, 30 + i));
    await waitUntil(() => got.length === 3, { message: 'small frames' });
    assert.equal(sizes.length, 1, `three small frames in ${sizes.length} relay messages`);
    // A 156 KB sync reply in 16 KiB chunks: three to a message.
    sizes.length = 0;
    for (const i of range(10)) a.send('pb', numbered(3 + i, 16_403));
    await waitUntil(() => got.length === 13, { message: 'chunks' });
    assert.equal(sizes.length, 4, `ten chunks in ${sizes.length} relay messages`);
    assert.ok(sizes.every((n) => n <= 64 * 1024), `within the server's limit: ${sizes}`);
    // A 64 KiB frame between two small ones: the small ones are not batched with its parts.
    sizes.length = 0;
    for (const [i, size] of [[13, 10], [14, MAX_FRAME_BYTES], [15, 10]]) a.send('pb', numbered(i, size));
    await waitUntil(() => got.length === 16, { message: 'a frame in parts' });
    assert.equal(sizes.length, 4, `10 B, 64 KiB in two parts, 10 B: ${sizes}`);
    assert.deepEqual(indices(got), range(16));
    assert.deepEqual(got.map((f) => f.length), [30, 31, 32, ...Array(10).fill(16_403), 10, MAX_FRAME_BYTES, 10]);
    assert.deepEqual(errors, []);
    await a.close();
    await b.close();
  }
});

test('a relayed batch is delivered frame by frame; one whose lengths run past its end is refused whole', async () => {
  const hub = fakeHub();
  const { a, b, got, errors } = hubPair(hub);
  a.connect('pb');
  await waitUntil(() => a.route('pb') === 'relay' && b.route('pa') === 'relay', { message: 'route' });
  // A plain relay message: kind 1, epoch, seq of the first frame, part 0 of 0 (a batch), then
  // per frame its length u32 and its bytes.
  const batch = (seq, frames, lengths = frames.map((f) => f.length)) => {
    const msg = new Uint8Array(13 + frames.reduce((n, f) => n + 4 + f.length, 0));
    const v = new DataView(msg.buffer);
    msg[0] = 1;
    v.setUint32(1, 7);
    v.setUint32(5, seq);
    let o = 13;
    frames.forEach((f, i) => {
      v.setUint32(o, lengths[i]);
      msg.set(f, o + 4);
      o += 4 + f.length;
    });
    return msg;
  };
  b._onRelay({ from: 'pa', data: batch(0, [numbered(0), numbered(1, 5)]) });
  await waitUntil(() => got.length === 2, { message: 'the batch' });
  assert.deepEqual(got, [numbered(0), numbered(1, 5)]);
  b._onRelay({ from: 'pa', data: batch(2, [numbered(2), numbered(3)], [32, 100]) });
  await waitUntil(() => errors.length > 0, { message: 'the error' });
  assert.deepEqual(errors.map(([side, e]) => [side, e.code, e.peerId]), [['b', 'bad_frame', 'pa']]);
  assert.equal(got.length, 2, 'nothing of the malformed batch');
  await a.close();
  await b.close();
});

test("relay 'never': no route, send() returns false and the failure is reported for the peer", async () => {
  const room = newRoom();
  const a = await makePeer(srv, room, { rtc: unreachableRtc, relay: 'never', connectTimeoutMs: 500 });
  const b = await makePeer(srv, room, { rtc: unreachableRtc, relay: 'never', connectTimeoutMs: 500 });
  a.transport.connect(b.id);
  b.transport.connect(a.id);
  await waitUntil(() => a.errors.length > 0, { message: 'an error' });
  const err = a.errors[0];
  assert.equal(err.code, 'connect_failed');
  assert.equal(err.peerId, b.id);
  assert.match(err.message, /relay disabled/);
  assert.equal(a.transport.route(b.id), null);
  assert.equal(a.transport.send(b.id, new Uint8Array(3)), false);
  assert.deepEqual(a.opens, []);
  await a.close();
  await b.close();
});

test("relay 'always' needs no WebRTC at all", async () => {
  const room = newRoom();
  const a = await makePeer(srv, room, { relay: 'always', rtc: undefined });
  const b = await makePeer(srv, room, { relay: 'always', rtc: undefined });
  a.transport.connect(b.id);
  await opened(a, b.id, 'relay');
  sendNumbered(a, b, 10);
  await waitUntil(() => b.received(a.id).length === 10, { message: 'frames' });
  assert.deepEqual(indices(b.received(a.id)), range(10));
  assert.deepEqual(b.opens, [[a.id, 'relay']]);
  await a.close();
  await b.close();
});

const SECRET_MARK = 'TOP-SECRET-FRAME-CONTENT';
const secretFrame = (n) => new TextEncoder().encode(`${SECRET_MARK}-${n}-`.repeat(20));
const wireHas = (wire, text) => wire.some((buf) => buf.includes(text));

test('with a password the server sees only ciphertext (SDP, candidates, relayed frames)', async () => {
  for (const relay of ['fallback', 'always']) {
    const room = newRoom();
    const wireA = [];
    const wireB = [];
    const a = await makePeer(srv, room, { password: 'correct horse', relay, wire: wireA });
    const b = await makePeer(srv, room, { password: 'correct horse', relay, wire: wireB });
    a.transport.connect(b.id);
    b.transport.connect(a.id);
    a.transport.send(b.id, secretFrame(1));
    await opened(a, b.id, relay === 'always' ? 'relay' : 'datachannel');
    await opened(b, a.id, relay === 'always' ? 'relay' : 'datachannel');
    a.transport.send(b.id, secretFrame(2));
    b.transport.send(a.id, secretFrame(3));
    await waitUntil(() => b.received(a.id).length === 2 && a.received(b.id).length === 1, { message: 'frames' });
    assert.deepEqual(b.received(a.id), [secretFrame(1), secretFrame(2)]);
    const wire = [...wireA, ...wireB];
    assert.ok(wire.length > 0);
    for (const text of [SECRET_MARK, 'a=fingerprint', 'a=ice-ufrag', 'candidate:', 'v=0']) {
      assert.equal(wireHas(wire, text), false, `"${text}" is visible on the wire (relay ${relay})`);
    }
    assert.deepEqual(errorCodes(a), []);
    assert.deepEqual(errorCodes(b), []);
    await a.close();
    await b.close();
  }
});

test('without a password the same traffic is readable on the wire (the sniffer works)', async () => {
  for (const [relay, text] of [['always', SECRET_MARK], ['fallback', 'a=fingerprint']]) {
    const room = newRoom();
    const wire = [];
    const a = await makePeer(srv, room, { wire, relay });
    const b = await makePeer(srv, room, { relay });
    a.transport.connect(b.id);
    a.transport.send(b.id, secretFrame(1));
    await waitUntil(() => b.received(a.id).length === 1, { message: 'frame' });
    // (the offer follows the greeting's answer: the connection is made after it, see _dial)
    await waitUntil(() => wireHas(wire, text), { timeoutMs: 5000, message: `"${text}" on the wire without a password (relay ${relay})` });
    await a.close();
    await b.close();
  }
});

test('a wrong or missing password: never connects, both sides get a wrong_password error naming the peer', async () => {
  for (const [pa, pb] of [['right', 'wrong'], ['right', undefined]]) {
    const room = newRoom();
    const a = await makePeer(srv, room, { password: pa });
    const b = await makePeer(srv, room, { password: pb });
    a.transport.connect(b.id);
    b.transport.connect(a.id);
    a.transport.send(b.id, secretFrame(1));
    b.transport.send(a.id, secretFrame(2));
    await waitUntil(() => errorCodes(a).includes('wrong_password') && errorCodes(b).includes('wrong_password'), { message: 'wrong_password errors' });
    assert.equal(a.errors.find((e) => e.code === 'wrong_password').peerId, b.id);
    assert.equal(b.errors.find((e) => e.code === 'wrong_password').peerId, a.id);
    // Give a would-be connection time to happen: nothing may open or arrive.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(a.opens, []);
    assert.deepEqual(b.opens, []);
    assert.equal(a.transport.route(b.id), null);
    assert.equal(a.transport.send(b.id, new Uint8Array(1)), false);
    assert.deepEqual(a.received(b.id), []);
    assert.deepEqual(b.received(a.id), []);
    await a.close();
    await b.close();
  }
});

test('disconnect tells the other side; close() leaves nothing behind', async () => {
  const room = newRoom();
  const a = await makePeer(srv, room);
  const b = await makePeer(srv, room);
  a.transport.connect(b.id);
  await Promise.all([opened(a, b.id), opened(b, a.id)]);
  await a.transport.disconnect(b.id);
  assert.equal(a.transport.route(b.id), null);
  assert.throws(() => a.transport.send(b.id, new Uint8Array(1)), (e) => e.code === 'unknown_peer');
  await waitUntil(() => b.closes.includes(a.id), { message: 'bye seen' });
  assert.equal(b.transport.route(a.id), null);
  assert.deepEqual(b.transport.peers(), []);
  // Reconnect after a disconnect: a fresh stream, delivered from its start.
  a.transport.connect(b.id);
  await opened(a, b.id);
  sendNumbered(a, b, 5);
  await waitUntil(() => b.received(a.id).length === 5, { message: 'frames after reconnect' });
  assert.deepEqual(indices(b.received(a.id)), range(5));
  await a.close();
  await a.close(); // idempotent
  assert.throws(() => a.transport.send(b.id, new Uint8Array(1)), (e) => e.code === 'closed');
  assert.throws(() => a.transport.connect(b.id), (e) => e.code === 'closed');
  await b.close();
  assert.deepEqual(errorCodes(a), []);
  assert.deepEqual(errorCodes(b), []);
});

test('a process that connects, sends and closes exits by itself (no dangling timers or handles)', () => {
  const script = fileURLToPath(new URL('./helpers/exit-check.js', import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  assert.equal(r.signal, null, `the process did not exit by itself: ${r.stdout}${r.stderr}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /frames ok/);
});

test('every option the transport reads is declared in PeerTransportOptions', () => {
  const src = readFileSync(new URL('../../js/room/transport.js', import.meta.url), 'utf8');
  const read = new Set([...src.matchAll(/\bopts\.([A-Za-z]\w*)/g)].map((m) => m[1]));
  const dts = readFileSync(new URL('../../js/room/transport.d.ts', import.meta.url), 'utf8');
  const body = dts.match(/export interface PeerTransportOptions \{([\s\S]*?)\n\}/)[1];
  const declared = new Set([...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]));
  assert.ok(read.size > 10);
  assert.deepEqual([...read].filter((o) => !declared.has(o)).sort(), []);
});

test('bad options are refused clearly', () => {
  const signaling = { signal() {}, relay() {}, on: () => () => {}, peerId: 'x' };
  assert.throws(() => new PeerTransport({}), /signaling/);
  assert.throws(() => new PeerTransport({ signaling }), /rtc/);
  assert.throws(() => new PeerTransport({ signaling, relay: 'sometimes', rtc: {} }), /relay must be/);
  assert.throws(() => new PeerTransport({ signaling, relay: 'always', password: 'p' }), /roomName/);
});
