// Scale-out: two server processes sharing rooms through a real redis-server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { phxSocket, Presence, push, waitUntil } from './helpers.js';
import { hasRedis, spawnRedis, spawnServer } from './procs.js';

const REDIS = hasRedis();
if (!REDIS) {
  console.error('\n*** redis-server is not installed: SKIPPING the Redis scale-out tests (apt-get install redis-server) ***\n');
}
const NODE_TTL_MS = 1000;
const NODE_HEARTBEAT_MS = 200;

let redis;
let p1;
let p2;
before(async () => {
  if (!REDIS) return;
  redis = await spawnRedis();
  const env = { REDIS_URL: redis.url, ROOMSYNC_NODE_TTL_MS: String(NODE_TTL_MS), ROOMSYNC_NODE_HEARTBEAT_MS: String(NODE_HEARTBEAT_MS) };
  [p1, p2] = await Promise.all([spawnServer({ env }), spawnServer({ env })]);
});
after(async () => {
  await Promise.all([p1?.kill('SIGTERM'), p2?.kill('SIGTERM')]);
  await redis?.stop();
});

function client(url, room) {
  const socket = phxSocket(url);
  const channel = socket.channel(`room:${room}`);
  const presence = new Presence(channel);
  const seen = { signal: [], relay: [], broadcast: [] };
  for (const ev of Object.keys(seen)) channel.on(ev, (p) => seen[ev].push(p));
  const joined = new Promise((resolve, reject) => channel.join().receive('ok', resolve).receive('error', reject));
  const peerIds = () => presence.list((k, { metas }) => metas.map((m) => m.peer_id)).flat().sort();
  return { socket, channel, presence, seen, joined, peerIds };
}

const sameSet = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

test('peers on different processes share presence, signal, relay and broadcast', { skip: !REDIS && 'redis-server not installed' }, async () => {
  assert.notEqual(p1.node, p2.node);
  const a = client(p1.url, 'shared');
  const { peer_id: A } = await a.joined;
  const b = client(p2.url, 'shared');
  const { peer_id: B, peers } = await b.joined;
  assert.deepEqual(peers, [A], 'a late joiner on another process gets the existing peers in its join reply');
  const c = client(p2.url, 'shared');
  const { peer_id: C } = await c.joined;
  for (const x of [a, b, c]) await waitUntil(() => sameSet(x.peerIds(), [A, B, C]), { message: 'presence across processes' });

  // signal p1 -> p2, only the named peer gets it
  assert.equal((await push(a.channel, 'signal', { to: B, data: { type: 'offer' } })).status, 'ok');
  await waitUntil(() => b.seen.signal.length === 1, { message: 'cross-process signal' });
  assert.deepEqual(b.seen.signal[0], { from: A, data: { type: 'offer' } });
  // and back p2 -> p1
  assert.equal((await push(b.channel, 'signal', { to: A, data: { type: 'answer' } })).status, 'ok');
  await waitUntil(() => a.seen.signal.length === 1, { message: 'signal back' });
  assert.equal((await push(a.channel, 'signal', { to: 'ffffffffffffffff', data: 1 })).response.reason, 'unknown_peer');

  // binary relay p1 -> p2
  const id = new TextEncoder().encode(C);
  const frame = new Uint8Array([id.length, ...id, 1, 2, 3, 250]);
  assert.equal((await push(a.channel, 'relay', frame.buffer)).status, 'ok');
  await waitUntil(() => c.seen.relay.length === 1, { message: 'cross-process relay' });
  const v = new Uint8Array(c.seen.relay[0]);
  assert.equal(new TextDecoder().decode(v.subarray(1, 1 + v[0])), A);
  assert.deepEqual([...v.subarray(1 + v[0])], [1, 2, 3, 250]);

  // broadcast from p2 reaches p1 and the other p2 member, not the sender
  assert.equal((await push(c.channel, 'broadcast', { hello: 'all' })).status, 'ok');
  await waitUntil(() => a.seen.broadcast.length === 1 && b.seen.broadcast.length === 1, { message: 'cross-process broadcast' });
  assert.deepEqual(a.seen.broadcast[0], { hello: 'all', from: C });
  await new Promise((resolve) => c.socket.ping(resolve));
  assert.equal(c.seen.broadcast.length, 0);
  assert.equal(a.seen.signal.length + b.seen.signal.length + c.seen.signal.length, 2, 'signals never fan out');

  // leaving on p2 is seen on p1
  c.channel.leave();
  await waitUntil(() => sameSet(a.peerIds(), [A, B]), { message: 'leave propagates' });
  for (const x of [a, b, c]) x.socket.disconnect();
});

test('a killed process has its peers leave the others\' presence within a bounded time', { skip: !REDIS && 'redis-server not installed' }, async () => {
  const a = client(p1.url, 'crash');
  const { peer_id: A } = await a.joined;
  const doomed = [client(p2.url, 'crash'), client(p2.url, 'crash')];
  const ids = (await Promise.all(doomed.map((d) => d.joined))).map((r) => r.peer_id);
  await waitUntil(() => sameSet(a.peerIds(), [A, ...ids]), { message: 'presence of 3' });

  for (const d of doomed) d.socket.disconnect(); // client side only; the server will not learn it
  const t0 = Date.now();
  await p2.kill('SIGKILL');
  // Bound: node TTL + one heartbeat of the survivor + slack.
  const bound = NODE_TTL_MS + NODE_HEARTBEAT_MS + 1500;
  await waitUntil(() => sameSet(a.peerIds(), [A]), { timeoutMs: bound, message: `dead peers dropped within ${bound} ms` });
  const took = Date.now() - t0;
  console.error(`dead process's peers dropped after ${took} ms (TTL ${NODE_TTL_MS} ms)`);

  // A new joiner on the survivor does not see ghosts from the dead process either.
  const late = client(p1.url, 'crash');
  const { peers } = await late.joined;
  assert.deepEqual(peers, [A]);
  a.socket.disconnect();
  late.socket.disconnect();
});
