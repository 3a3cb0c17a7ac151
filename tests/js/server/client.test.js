// The client API (js/signaling.js) against our server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { connectSignaling, SignalingError } from '../../../js/signaling.js';
import { WebSocketServer } from 'ws';
import { startServer, phxSocket, waitUntil, WebSocket, Socket } from './helpers.js';

const SECRET = 'client-test-secret';
let srv;
before(async () => {
  srv = await startServer({ secret: SECRET, rateLimits: { broadcast: { rate: 1, burst: 1 } } });
});
after(() => srv.close());

const token = (user_id, exp = '5m') => new SignJWT({ user_id }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));
const fast = { heartbeatIntervalMs: 200, reconnectAfterMs: () => 50, rejoinAfterMs: () => 50 };
const open = async (user, room = 'c', extra = {}) => connectSignaling({ url: srv.url, room, token: await token(user), timeout: 2000, socketOptions: fast, ...extra });

test('peers, peer-join/peer-leave, presence, signal/onSignal', async () => {
  const a = await open('ann', 'c1', { meta: { name: 'Ann' } });
  assert.match(a.peerId, /^[0-9a-f]{16}$/);
  assert.deepEqual(a.peers(), []);
  const joins = [];
  const leaves = [];
  a.onPeerJoin((id, meta) => joins.push([id, meta.user_id]));
  a.onPeerLeave((id) => leaves.push(id));
  const b = await open('ben', 'c1');
  await waitUntil(() => joins.length === 1, { message: 'peer-join' });
  assert.deepEqual(joins, [[b.peerId, 'ben']]);
  await waitUntil(() => b.peers().length === 1);
  assert.deepEqual(b.peers(), [a.peerId]);
  assert.equal(b.peerMeta(a.peerId).name, 'Ann');
  assert.deepEqual(a.presence().map((p) => p.userId).sort(), ['ann', 'ben']);

  const received = [];
  b.onSignal((m) => received.push(m));
  await a.signal(b.peerId, { type: 'offer', sdp: 'x' });
  await waitUntil(() => received.length === 1);
  assert.deepEqual(received[0], { from: a.peerId, data: { type: 'offer', sdp: 'x' } });

  await b.leave();
  await waitUntil(() => leaves.length === 1, { message: 'peer-leave' });
  assert.deepEqual(leaves, [b.peerId]);
  assert.deepEqual(a.peers(), []);
  await a.leave();
  await assert.rejects(a.signal('x', 1), (e) => e instanceof SignalingError && e.code === 'closed');
});

test('typed errors: unknown_peer, rate_limit, unauthorized (bad and expired token), invalid_room', async () => {
  const a = await open('cat', 'c2');
  const b = await open('dan', 'c2');
  await assert.rejects(a.signal('0123456789abcdef', 1), (e) => e instanceof SignalingError && e.code === 'unknown_peer');
  await a.broadcast({ n: 1 });
  await assert.rejects(a.broadcast({ n: 2 }), (e) => e.code === 'rate_limit');
  await assert.rejects(
    connectSignaling({ url: srv.url, room: 'c2', token: 'garbage', timeout: 2000, socketOptions: fast }),
    (e) => e instanceof SignalingError && e.code === 'unauthorized',
  );
  await assert.rejects(
    connectSignaling({ url: srv.url, room: 'c2', token: await token('old', Math.floor(Date.now() / 1000) - 10), timeout: 2000, socketOptions: fast }),
    (e) => e.code === 'unauthorized',
  );
  await assert.rejects(open('eve', 'bad room!'), (e) => e.code === 'invalid_room');
  await a.leave();
  await b.leave();
});

/**
 * A stand-in server that acknowledges joins and heartbeats but never answers pushes. After a join
 * it sends what `presence` says: 'diff' = like the Phoenix app sketch of docs/signaling.md (state
 * without this peer, then a diff adding it), 'none' = never this peer's presence.
 */
async function standIn(presence) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) =>
    ws.on('message', (d) => {
      const [jr, ref, topic, event] = JSON.parse(d);
      const send = (...msg) => ws.send(JSON.stringify(msg));
      if (event === 'heartbeat') send(null, ref, topic, 'phx_reply', { status: 'ok', response: {} });
      if (event !== 'phx_join') return;
      send(jr, ref, topic, 'phx_reply', { status: 'ok', response: { peer_id: 'p1', peers: [] } });
      // Presence comes in later frames, like from a Phoenix app that tracks after the join reply.
      setTimeout(() => {
        send(jr, null, topic, 'presence_state', { u2: { metas: [{ peer_id: 'p2', user_id: 'u2', phx_ref: 'r2' }] } });
        if (presence === 'diff') send(null, null, topic, 'presence_diff', { joins: { u1: { metas: [{ peer_id: 'p1', user_id: 'u1', phx_ref: 'r1' }] } }, leaves: {} });
      }, 20);
    }),
  );
  await new Promise((r) => wss.once('listening', r));
  return { url: `ws://127.0.0.1:${wss.address().port}/socket`, close: () => new Promise((r) => wss.close(r)) };
}

test('a push nobody answers rejects with code timeout', async () => {
  const server = await standIn('diff');
  const sig = await connectSignaling({ url: server.url, room: 'slow', timeout: 150, socketOptions: fast });
  assert.equal(sig.peerId, 'p1');
  assert.deepEqual(sig.peers(), ['p2'], 'resolved once its own presence arrived, in a later diff');
  assert.deepEqual(sig.presence().map((p) => p.userId).sort(), ['u1', 'u2']);
  await assert.rejects(sig.signal('p2', 1), (e) => e instanceof SignalingError && e.code === 'timeout');
  await sig.leave();
  await server.close();
});

test('a server that never reports this peer in presence: connectSignaling rejects with timeout', async () => {
  const server = await standIn('none');
  await assert.rejects(
    connectSignaling({ url: server.url, room: 'nopresence', timeout: 300, socketOptions: fast }),
    (e) => e instanceof SignalingError && e.code === 'timeout' && /presence/.test(e.message),
  );
  await server.close();
});

test('relay bytes and broadcast between clients; token via the authToken subprotocol', async () => {
  const a = await open('fox', 'c3', { tokenTransport: 'header' });
  const b = await open('gil', 'c3');
  const got = [];
  b.on('relay', (m) => got.push(m));
  const bc = [];
  b.on('broadcast', (m) => bc.push(m));
  await a.relay(b.peerId, new Uint8Array([9, 8, 7]));
  await a.broadcast({ hi: 1 });
  await waitUntil(() => got.length === 1 && bc.length === 1);
  assert.equal(got[0].from, a.peerId);
  assert.deepEqual([...got[0].data], [9, 8, 7]);
  assert.deepEqual(bc[0], { hi: 1, from: a.peerId });
  await assert.rejects(a.relay(b.peerId, new Uint8Array(70 * 1024)), (e) => e.code === 'payload_too_large');
  await a.leave();
  await b.leave();
});

test('an app can pass its own phoenix Socket; leave() does not disconnect it', async () => {
  const socket = phxSocket(srv.url, { params: { token: await token('hal') } });
  const a = await connectSignaling({ socket, room: 'c4' });
  const b = await open('ivy', 'c4');
  await waitUntil(() => a.peers().includes(b.peerId));
  await a.leave();
  assert.equal(socket.isConnected(), true);
  socket.disconnect();
  await b.leave();
  assert.ok(Socket && WebSocket);
});

for (const keepPeerId of [true, false]) test(`reconnect after a server restart (keepPeerId ${keepPeerId}): ${keepPeerId ? 'same' : 'new'} peer id, \`reconnect\` event, peers rebuilt`, async () => {
  const s1 = await startServer();
  const opts = { url: s1.url, timeout: 2000, socketOptions: fast, keepPeerId };
  const a = await connectSignaling({ ...opts, room: 'rs' });
  const b = await connectSignaling({ ...opts, room: 'rs' });
  await waitUntil(() => a.peers().length === 1 && b.peers().length === 1);
  const reconnects = [];
  a.on('reconnect', (e) => reconnects.push(e));
  const disconnects = [];
  a.on('disconnect', (e) => disconnects.push(e));
  const oldA = a.peerId;
  const oldB = b.peerId;
  await s1.close();
  const s2 = await startServer({ port: s1.port });
  try {
    await waitUntil(() => reconnects.length === 1 && a.peers().length === 1 && b.peers().length === 1 && b.peers()[0] === a.peerId && a.peers()[0] === b.peerId, {
      timeoutMs: 8000,
      message: 'rejoin',
    });
    assert.equal(reconnects[0].previousPeerId, oldA);
    assert.equal(reconnects[0].peerId, a.peerId);
    if (keepPeerId) {
      assert.equal(a.peerId, oldA, 'peer id kept across the restart');
      assert.equal(b.peerId, oldB);
    } else {
      assert.notEqual(a.peerId, oldA);
      assert.notEqual(b.peerId, oldB);
    }
    assert.equal(disconnects[0].code, 1012);
    assert.deepEqual(a.peers(), [b.peerId]);
    const got = [];
    b.onSignal((m) => got.push(m));
    await a.signal(b.peerId, 'again');
    await waitUntil(() => got.length === 1);
  } finally {
    await a.leave();
    await b.leave();
    await s2.close();
  }
});

test('after a restart with another secret, reconnect failures are reported as error events (unauthorized)', async () => {
  const s1 = await startServer({ secret: 'first-secret' });
  const sign = (secret) => new SignJWT({ user_id: 'kim' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
  const sig = await connectSignaling({ url: s1.url, room: 'sec', token: await sign('first-secret'), timeout: 2000, socketOptions: fast });
  const errors = [];
  sig.on('error', (e) => errors.push(e));
  await s1.close();
  const s2 = await startServer({ port: s1.port, secret: 'second-secret' });
  try {
    await waitUntil(() => errors.length > 0, { message: 'an error event' });
    assert.ok(errors[0] instanceof SignalingError);
    assert.equal(errors[0].code, 'unauthorized');
    assert.equal(sig.connected, false);
  } finally {
    await sig.leave();
    await s2.close();
  }
});

test('a push over the frame limit rejects at once with payload_too_large; the socket stays up (issue 6 item 7)', async () => {
  const a = await open('max', 'c7');
  const b = await open('ned', 'c7');
  const trouble = [];
  for (const e of ['disconnect', 'reconnect', 'error']) a.on(e, (x) => trouble.push([e, x]));
  const big = 'x'.repeat(1024 * 1024);
  const tooLarge = (e) => e instanceof SignalingError && e.code === 'payload_too_large' && e.details.limit === 1024 * 1024 && e.details.size > 1024 * 1024;
  await assert.rejects(a.signal(b.peerId, big), tooLarge);
  await assert.rejects(a.signal(b.peerId, { text: '€'.repeat(400 * 1024) }), tooLarge, 'counted in UTF-8 bytes, not characters');
  await assert.rejects(a.broadcast({ big }), tooLarge);
  await assert.rejects(a.push('comment', { body: big }), tooLarge);
  await assert.rejects(a.relay(b.peerId, new Uint8Array(1024 * 1024)), (e) => e.code === 'payload_too_large');
  // Nothing was sent: same connection, same peer id, and the room still works.
  assert.equal(a.connected, true);
  const got = [];
  b.onSignal((m) => got.push(m));
  await a.signal(b.peerId, 'small');
  await waitUntil(() => got.length === 1);
  assert.deepEqual(trouble, []);
  assert.equal(srv.metrics.badFrames, 0);
  await a.leave();
  await b.leave();
});

test('the client uses the limits the server announces in its join reply', async () => {
  const s = await startServer({ maxFrameBytes: 4096, maxRelayBytes: 100 });
  try {
    const a = await connectSignaling({ url: s.url, room: 'lim', timeout: 2000, socketOptions: fast });
    const b = await connectSignaling({ url: s.url, room: 'lim', timeout: 2000, socketOptions: fast });
    const opened = s.metrics.connectionsTotal;
    assert.deepEqual(a.limits, { maxFrameBytes: 4096, maxRelayBytes: 100 });
    await assert.rejects(a.signal(b.peerId, 'y'.repeat(4096)), (e) => e.code === 'payload_too_large' && e.details.limit === 4096);
    await a.signal(b.peerId, 'y'.repeat(3900));
    await assert.rejects(a.relay(b.peerId, new Uint8Array(101)), (e) => e.code === 'payload_too_large' && e.details.limit === 100);
    await a.relay(b.peerId, new Uint8Array(100));
    assert.equal(s.metrics.connectionsTotal, opened, 'no reconnect');
    await assert.rejects(connectSignaling({ url: s.url, room: 'lim', maxFrameBytes: 0 }), /maxFrameBytes/);
    assert.equal(s.metrics.relays, 1);
    await a.leave();
    await b.leave();
  } finally {
    await s.close();
  }
});

test('a payload JSON cannot encode rejects with invalid_payload', async () => {
  const a = await open('ora', 'c7b');
  const cyclic = {};
  cyclic.self = cyclic;
  await assert.rejects(a.broadcast(cyclic), (e) => e instanceof SignalingError && e.code === 'invalid_payload');
  await assert.rejects(a.signal(a.peerId, 10n), (e) => e.code === 'invalid_payload');
  assert.equal(a.connected, true);
  await a.leave();
});

/**
 * `ws` hands every frame of one TCP read to its listeners in one go, so promise callbacks never run
 * between two frames; a browser dispatches each message as its own task. This transport does that.
 */
class OneTaskPerMessage extends WebSocket {
  set onmessage(fn) {
    super.onmessage = (event) => setTimeout(() => fn(event), 0);
  }
}

test('presence() and peers() include everybody, this peer too, as soon as connectSignaling resolves (issue 6 item 8)', async () => {
  const browserLike = { transport: OneTaskPerMessage };
  const a = await open('pam', 'c8', browserLike);
  const mine = (sig) => sig.presence().flatMap((p) => p.metas.map((m) => m.peer_id));
  assert.deepEqual(mine(a), [a.peerId]);
  assert.deepEqual(a.presence(), [{ userId: 'pam', metas: [a.presence()[0].metas[0]] }]);
  const b = await open('quin', 'c8', browserLike);
  assert.deepEqual(b.peers(), [a.peerId]);
  assert.deepEqual(mine(b).sort(), [a.peerId, b.peerId].sort());
  assert.equal(b.peerMeta(a.peerId).user_id, 'pam');
  await a.leave();
  await b.leave();
});
