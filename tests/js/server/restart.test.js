// Reconnect and rejoin with the official client after the server restarts (graceful and killed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, phxSocket, Presence, push, waitUntil } from './helpers.js';
import { spawnServer } from './procs.js';

/** A client that keeps a Presence and records every join reply (rejoins included). */
function client(url, room) {
  const socket = phxSocket(url);
  const channel = socket.channel(`room:${room}`);
  const presence = new Presence(channel);
  const joins = [];
  channel.join().receive('ok', (resp) => joins.push(resp.peer_id));
  const peerIds = () => presence.list((k, { metas }) => metas.map((m) => m.peer_id)).flat().sort();
  return { socket, channel, presence, joins, peerIds, get peerId() { return joins.at(-1); } };
}

async function converged(clients) {
  await waitUntil(
    () => {
      const ids = clients.map((c) => c.peerId);
      if (ids.some((id) => !id)) return false;
      const want = JSON.stringify(ids.sort());
      return clients.every((c) => JSON.stringify(c.peerIds()) === want);
    },
    { timeoutMs: 8000, message: 'presence to converge' },
  );
}

test('graceful restart (1012): clients reconnect, rejoin with new peer ids, presence rebuilds, signals flow', async () => {
  const s1 = await startServer();
  const a = client(s1.url, 'r');
  const b = client(s1.url, 'r');
  await converged([a, b]);
  const [oldA, oldB] = [a.peerId, b.peerId];
  let closeCodes = [];
  a.socket.onClose((e) => closeCodes.push(e.code));

  await s1.close();
  const s2 = await startServer({ port: s1.port });
  try {
    await waitUntil(() => a.joins.length === 2 && b.joins.length === 2, { timeoutMs: 8000, message: 'both rejoined' });
    assert.ok(closeCodes.includes(1012), `server closes with 1012 (got ${closeCodes})`);
    await converged([a, b]);
    assert.notEqual(a.peerId, oldA);
    assert.notEqual(b.peerId, oldB);
    assert.ok(!a.peerIds().includes(oldB), 'stale peers are gone');
    const got = new Promise((resolve) => b.channel.on('signal', resolve));
    assert.equal((await push(a.channel, 'signal', { to: b.peerId, data: 'after restart' })).status, 'ok');
    assert.deepEqual(await got, { from: a.peerId, data: 'after restart' });
  } finally {
    a.socket.disconnect();
    b.socket.disconnect();
    await s2.close();
  }
});

test('killed server process (no close frame): clients come back when a new process listens', async () => {
  const p1 = await spawnServer();
  const a = client(p1.url, 'k');
  const b = client(p1.url, 'k');
  let p2;
  try {
    await converged([a, b]);
    await p1.kill('SIGKILL');
    p2 = await spawnServer({ port: p1.port });
    await waitUntil(() => a.joins.length >= 2 && b.joins.length >= 2, { timeoutMs: 10_000, message: 'both rejoined' });
    await converged([a, b]);
    const got = new Promise((resolve) => a.channel.on('signal', resolve));
    assert.equal((await push(b.channel, 'signal', { to: a.peerId, data: 1 })).status, 'ok');
    assert.equal((await got).from, b.peerId);
  } finally {
    a.socket.disconnect();
    b.socket.disconnect();
    await p1.kill('SIGKILL');
    if (p2) {
      const { code } = await p2.kill('SIGTERM');
      assert.equal(code, 0, 'SIGTERM shuts the server down cleanly');
    }
  }
});
