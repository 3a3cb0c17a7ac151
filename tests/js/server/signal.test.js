// Routing: targeted signal, broadcast, binary relay, rate limits.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, phxSocket, join, push, nextEvent } from './helpers.js';

let srv;
before(async () => {
  srv = await startServer({ rateLimits: { signal: { rate: 1000, burst: 1000 } } });
});
after(() => srv.close());

async function trio(room) {
  const sockets = [phxSocket(srv.url), phxSocket(srv.url), phxSocket(srv.url)];
  const members = [];
  for (const s of sockets) {
    const { channel, resp } = await join(s, `room:${room}`);
    const seen = { signal: [], broadcast: [], relay: [], comment: [] };
    for (const ev of Object.keys(seen)) channel.on(ev, (p) => seen[ev].push(p));
    members.push({ socket: s, channel, peerId: resp.peer_id, seen });
  }
  return members;
}

/** A round trip on a socket: everything the server sent before the reply has been delivered. */
const flush = (m) => new Promise((resolve) => m.socket.ping(resolve));
const bye = (ms) => ms.forEach((m) => m.socket.disconnect());

test('signal goes to the one peer named in `to`; a third peer sees nothing', async () => {
  const [a, b, c] = await trio('sig');
  const offer = { type: 'offer', sdp: 'v=0\r\n...' };
  const got = nextEvent(b.channel, 'signal');
  assert.deepEqual(await push(a.channel, 'signal', { to: b.peerId, data: offer }), { status: 'ok', response: {} });
  assert.deepEqual(await got, { from: a.peerId, data: offer });
  // answer and ICE back the other way
  const got2 = nextEvent(a.channel, 'signal');
  await push(b.channel, 'signal', { to: a.peerId, data: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host' } });
  assert.equal((await got2).from, b.peerId);
  await flush(c);
  assert.deepEqual(c.seen.signal, [], 'the third peer must not see targeted signals');
  assert.equal(a.seen.signal.length, 1);
  assert.equal(b.seen.signal.length, 1);
  bye([a, b, c]);
});

test('signal to a peer not in the room answers unknown_peer (including peers of other rooms)', async () => {
  const all = await trio('sig2');
  const [a, b] = all;
  const other = phxSocket(srv.url);
  const { resp } = await join(other, 'room:elsewhere');
  assert.deepEqual(await push(a.channel, 'signal', { to: resp.peer_id, data: 1 }), { status: 'error', response: { reason: 'unknown_peer' } });
  assert.deepEqual(await push(a.channel, 'signal', { to: a.peerId, data: 1 }), { status: 'error', response: { reason: 'unknown_peer' } });
  b.channel.leave();
  await flush(b);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await push(a.channel, 'signal', { to: b.peerId, data: 1 })).response.reason, 'unknown_peer');
  other.disconnect();
  bye(all);
});

test('broadcast is relayed unchanged plus `from` to every other member, not the sender', async () => {
  const [a, b, c] = await trio('bc');
  const payload = { kind: 'cursor', x: 3, nested: { y: [1, 2] } };
  const gb = nextEvent(b.channel, 'broadcast');
  const gc = nextEvent(c.channel, 'broadcast');
  assert.equal((await push(a.channel, 'broadcast', payload)).status, 'ok');
  assert.deepEqual(await gb, { ...payload, from: a.peerId });
  assert.deepEqual(await gc, { ...payload, from: a.peerId });
  await flush(a);
  assert.deepEqual(a.seen.broadcast, []);
  bye([a, b, c]);
});

test('relay carries opaque binary frames to one peer (binary V2 frames), size-bounded', async () => {
  const [a, b, c] = await trio('relay');
  const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 255);
  const id = new TextEncoder().encode(b.peerId);
  const frame = new Uint8Array(1 + id.length + bytes.length);
  frame[0] = id.length;
  frame.set(id, 1);
  frame.set(bytes, 1 + id.length);
  const got = nextEvent(b.channel, 'relay');
  assert.equal((await push(a.channel, 'relay', frame.buffer)).status, 'ok');
  const buf = await got;
  assert.ok(buf instanceof ArrayBuffer, 'relay arrives as a binary frame');
  const view = new Uint8Array(buf);
  const from = new TextDecoder().decode(view.subarray(1, 1 + view[0]));
  assert.equal(from, a.peerId);
  assert.deepEqual(view.subarray(1 + view[0]), bytes);

  // JSON form with base64 data is accepted too, delivered the same binary way.
  const got2 = nextEvent(b.channel, 'relay');
  assert.equal((await push(a.channel, 'relay', { to: b.peerId, data: Buffer.from('hello').toString('base64') })).status, 'ok');
  const v2 = new Uint8Array(await got2);
  assert.equal(Buffer.from(v2.subarray(1 + v2[0])).toString(), 'hello');

  // Too large (> 64 KiB) and unknown targets are refused.
  const hugeId = new TextEncoder().encode(b.peerId);
  const huge = new Uint8Array(1 + hugeId.length + 65 * 1024);
  huge[0] = hugeId.length;
  huge.set(hugeId, 1);
  assert.deepEqual(await push(a.channel, 'relay', huge.buffer), { status: 'error', response: { reason: 'payload_too_large' } });
  const badId = new TextEncoder().encode('0000000000000000');
  const bad = new Uint8Array(1 + badId.length + 4);
  bad[0] = badId.length;
  bad.set(badId, 1);
  assert.deepEqual(await push(a.channel, 'relay', bad.buffer), { status: 'error', response: { reason: 'unknown_peer' } });

  await flush(c);
  assert.deepEqual(c.seen.relay, []);
  assert.equal(b.seen.relay.length, 2);
  bye([a, b, c]);
});

test('rate limits: 1 comment per second by default, configurable per event, per user', async () => {
  const all = await trio('rl');
  const [a, b] = all;
  const gotComment = nextEvent(b.channel, 'comment');
  assert.equal((await push(a.channel, 'comment', { body: 'first!' })).status, 'ok');
  assert.deepEqual(await push(a.channel, 'comment', { body: 'spam' }), { status: 'error', response: { reason: 'rate_limit' } });
  const c = await gotComment;
  assert.equal(c.body, 'first!');
  assert.equal(c.from, a.peerId);
  // b has its own bucket
  assert.equal((await push(b.channel, 'comment', { body: 'mine' })).status, 'ok');
  bye(all);

  const s = await startServer({ rateLimits: { signal: { rate: 1, burst: 2 } } });
  try {
    const x = phxSocket(s.url);
    const y = phxSocket(s.url);
    const jx = await join(x, 'room:rl2');
    const jy = await join(y, 'room:rl2');
    const to = jy.resp.peer_id;
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await push(jx.channel, 'signal', { to, data: i })).status);
    assert.deepEqual(results, ['ok', 'ok', 'error']);
    assert.equal(s.metrics.rateLimited, 1);
    x.disconnect();
    y.disconnect();
  } finally {
    await s.close();
  }
});
