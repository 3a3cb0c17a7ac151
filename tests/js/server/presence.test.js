// Presence with the official phoenix.js Presence: 3 clients, leave, drop, several connections per user.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startServer, phxSocket, Presence, waitUntil, rawClient } from './helpers.js';

const SECRET = 'presence-test-secret';
let srv;
before(async () => {
  srv = await startServer({ secret: SECRET });
});
after(() => srv.close());

const token = (userId) => new SignJWT({ user_id: userId }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));

/** Joins with a Presence attached before the join (as phoenix apps do). */
async function member(userId, room, meta) {
  const socket = phxSocket(srv.url, { params: { token: await token(userId) } });
  const channel = socket.channel(`room:${room}`, meta ? { meta } : {});
  const presence = new Presence(channel);
  const resp = await new Promise((resolve, reject) => channel.join().receive('ok', resolve).receive('error', reject));
  const peerIds = () => presence.list((k, { metas }) => metas.map((m) => m.peer_id)).flat().sort();
  return { socket, channel, presence, peerId: resp.peer_id, resp, peerIds };
}

test('presence across 3 clients: everyone converges, leave and drop remove the peer for everyone', async () => {
  const a = await member('ada', 'tri', { name: 'Ada' });
  const b = await member('bob', 'tri');
  const c = await member('cyd', 'tri');
  const all = [a.peerId, b.peerId, c.peerId].sort();
  for (const m of [a, b, c]) await waitUntil(() => JSON.stringify(m.peerIds()) === JSON.stringify(all), { message: 'presence of 3' });
  assert.deepEqual(c.resp.peers.sort(), [a.peerId, b.peerId].sort(), 'join reply lists the peers already there');

  // Metas: user id as key, peer_id/user_id/phx_ref in each meta, join meta passed through.
  const state = a.presence.state;
  assert.deepEqual(Object.keys(state).sort(), ['ada', 'bob', 'cyd']);
  const adaMeta = state.ada.metas[0];
  assert.equal(adaMeta.peer_id, a.peerId);
  assert.equal(adaMeta.user_id, 'ada');
  assert.equal(adaMeta.name, 'Ada');
  const refs = Object.values(state).flatMap((p) => p.metas.map((m) => m.phx_ref));
  assert.equal(new Set(refs).size, 3, 'phx_ref unique per meta');

  // Leave (phx_leave): gone for the others.
  c.channel.leave();
  for (const m of [a, b]) await waitUntil(() => !m.peerIds().includes(c.peerId), { message: 'c leaves' });
  // Drop (socket closed without leaving): gone too.
  b.socket.disconnect();
  await waitUntil(() => JSON.stringify(a.peerIds()) === JSON.stringify([a.peerId]), { message: 'b drops' });
  a.socket.disconnect();
  c.socket.disconnect();
});

test('several connections of one user are several metas under one key', async () => {
  const tab1 = await member('eve', 'multi');
  const tab2 = await member('eve', 'multi');
  const other = await member('fay', 'multi');
  await waitUntil(() => other.presence.state.eve?.metas.length === 2, { message: 'two metas for eve' });
  assert.deepEqual(other.presence.state.eve.metas.map((m) => m.peer_id).sort(), [tab1.peerId, tab2.peerId].sort());
  assert.deepEqual(other.peerIds(), [tab1.peerId, tab2.peerId, other.peerId].sort());
  tab1.socket.disconnect();
  await waitUntil(() => other.presence.state.eve?.metas.length === 1, { message: 'one meta left' });
  assert.equal(other.presence.state.eve.metas[0].peer_id, tab2.peerId);
  tab2.socket.disconnect();
  await waitUntil(() => !other.presence.state.eve, { message: 'key removed with its last meta' });
  other.socket.disconnect();
});

test('reserved meta fields cannot be forged and oversized meta is refused', async () => {
  const m = await member('gus', 'forge', { peer_id: 'fake', user_id: 'admin', phx_ref: 'x', color: 'red' });
  const meta = m.presence.state.gus.metas[0];
  assert.equal(meta.peer_id, m.peerId);
  assert.equal(meta.user_id, 'gus');
  assert.notEqual(meta.phx_ref, 'x');
  assert.equal(meta.color, 'red');
  const c = await rawClient(srv.url, { query: `token=${await token('gus')}&vsn=2.0.0` });
  c.send(['1', '1', 'room:forge', 'phx_join', { meta: { blob: 'x'.repeat(5000) } }]);
  assert.equal((await c.reply('1'))[4].response.reason, 'invalid_meta');
  c.close();
  m.socket.disconnect();
});
