// Phoenix Channels V2 conformance, frame by frame with a raw `ws` client, plus the official client.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, rawClient, phxSocket, join, push, WebSocket, waitUntil } from './helpers.js';
import { rng } from '../helpers/rng.js';

let srv;
before(async () => {
  srv = await startServer({ maxFrameBytes: 16 * 1024 });
});
after(() => srv.close());

const isFrame = (topic, event, joinRef) => (f) => Array.isArray(f) && f[2] === topic && f[3] === event && (joinRef === undefined || f[0] === joinRef);

test('heartbeat is answered on topic phoenix with the exact ref', async () => {
  const c = await rawClient(srv.url);
  c.send([null, 'hb-77', 'phoenix', 'heartbeat', {}]);
  const r = await c.reply('hb-77');
  assert.deepEqual(r, [null, 'hb-77', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  c.close();
});

test('join replies {peer_id, peers, max_frame_bytes, max_relay_bytes} with join_ref = ref, then presence_state, then presence_diff', async () => {
  const a = await rawClient(srv.url);
  a.send(['1', '1', 'room:p1', 'phx_join', {}]);
  const ra = await a.reply('1');
  assert.equal(ra[0], '1');
  assert.equal(ra[4].status, 'ok');
  assert.match(ra[4].response.peer_id, /^[0-9a-f]{16}$/);
  assert.deepEqual(ra[4].response.peers, []);
  assert.equal(ra[4].response.max_frame_bytes, 16 * 1024, 'the join reply announces the frame limit (set above)');
  assert.equal(ra[4].response.max_relay_bytes, 64 * 1024, 'and the relay limit');
  const state = await a.next(isFrame('room:p1', 'presence_state'));
  assert.equal(state[0], '1', 'presence_state carries the join_ref');
  assert.equal(state[1], null);
  const metas = Object.values(state[4]).flatMap((p) => p.metas);
  assert.equal(metas.length, 1);
  assert.equal(metas[0].peer_id, ra[4].response.peer_id);
  assert.equal(typeof metas[0].phx_ref, 'string');
  // Replies come before the state, the state before the diff.
  const idx = (pred) => a.frames.findIndex(pred);
  await a.next(isFrame('room:p1', 'presence_diff'));
  assert.ok(idx((f) => f[3] === 'phx_reply') < idx(isFrame('room:p1', 'presence_state')));
  assert.ok(idx(isFrame('room:p1', 'presence_state')) < idx(isFrame('room:p1', 'presence_diff')));

  const b = await rawClient(srv.url);
  b.send(['5', '5', 'room:p1', 'phx_join', {}]);
  const rb = await b.reply('5');
  assert.deepEqual(rb[4].response.peers, [ra[4].response.peer_id]);
  const diff = await a.next((f) => f[3] === 'presence_diff' && Object.values(f[4].joins).some((p) => p.metas.some((m) => m.peer_id === rb[4].response.peer_id)));
  assert.equal(diff[0], null, 'diffs are broadcasts: null join_ref');
  assert.equal(diff[1], null);
  a.close();
  b.close();
});

test('unmatched topic: joins of other topics and pushes to unjoined topics get an error, connection stays', async () => {
  const c = await rawClient(srv.url);
  c.send(['2', '2', 'lobby:1', 'phx_join', {}]);
  assert.deepEqual(await c.reply('2'), [null, '2', 'lobby:1', 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
  c.send([null, '3', 'room:nothere', 'signal', { to: 'x', data: 1 }]);
  assert.deepEqual(await c.reply('3'), [null, '3', 'room:nothere', 'phx_reply', { status: 'error', response: { reason: 'unmatched topic' } }]);
  c.send([null, '4', 'phoenix', 'heartbeat', {}]);
  assert.equal((await c.reply('4'))[4].status, 'ok');
  c.close();
});

test('a repeated join replaces the old one: reply first, then phx_close for the old join_ref', async () => {
  const watcher = await rawClient(srv.url);
  watcher.send(['1', '1', 'room:dup', 'phx_join', {}]);
  await watcher.reply('1');
  const c = await rawClient(srv.url);
  c.send(['10', '10', 'room:dup', 'phx_join', {}]);
  const first = (await c.reply('10'))[4].response.peer_id;
  c.send(['11', '11', 'room:dup', 'phx_join', {}]);
  const second = await c.reply('11');
  assert.equal(second[4].status, 'ok');
  const close = await c.next(isFrame('room:dup', 'phx_close', '10'));
  assert.deepEqual(close, ['10', '10', 'room:dup', 'phx_close', {}]);
  assert.ok(c.frames.indexOf(second) < c.frames.indexOf(close));
  // The old peer left for everybody.
  await watcher.next((f) => f[3] === 'presence_diff' && Object.values(f[4].leaves).some((p) => p.metas.some((m) => m.peer_id === first)));
  // Pushes with the old join_ref are stale and dropped (no reply); with the new one they work.
  c.send(['10', '12', 'room:dup', 'broadcast', { x: 1 }]);
  c.send(['11', '13', 'room:dup', 'broadcast', { x: 2 }]);
  assert.equal((await c.reply('13'))[4].status, 'ok');
  assert.equal(c.frames.find((f) => f[1] === '12'), undefined, 'stale push must not be answered');
  const got = await watcher.next(isFrame('room:dup', 'broadcast'));
  assert.equal(got[4].x, 2);
  assert.equal(watcher.frames.filter(isFrame('room:dup', 'broadcast')).length, 1);
  watcher.close();
  c.close();
});

test('leave: ok reply then phx_close with join_ref = ref = the join ref; leaving an unjoined topic is ok', async () => {
  const c = await rawClient(srv.url);
  c.send(['7', '7', 'room:lv', 'phx_join', {}]);
  await c.reply('7');
  c.send(['7', '8', 'room:lv', 'phx_leave', {}]);
  assert.deepEqual(await c.reply('8'), ['7', '8', 'room:lv', 'phx_reply', { status: 'ok', response: {} }]);
  assert.deepEqual(await c.next(isFrame('room:lv', 'phx_close')), ['7', '7', 'room:lv', 'phx_close', {}]);
  c.send([null, '9', 'room:lv', 'phx_leave', {}]);
  assert.equal((await c.reply('9'))[4].status, 'ok');
  c.send(['7', '10', 'room:lv', 'broadcast', {}]);
  assert.equal((await c.reply('10'))[4].response.reason, 'unmatched topic');
  c.close();
});

test('unknown events and bad payloads get error replies; the connection stays open', async () => {
  const c = await rawClient(srv.url);
  c.send(['1', '1', 'room:bad', 'phx_join', {}]);
  await c.reply('1');
  c.send(['1', '2', 'room:bad', 'launch_missiles', {}]);
  assert.equal((await c.reply('2'))[4].response.reason, 'unknown_event');
  c.send(['1', '3', 'room:bad', 'signal', 'not an object']);
  assert.equal((await c.reply('3'))[4].response.reason, 'invalid_payload');
  c.send(['1', '4', 'room:bad', 'signal', { data: 1 }]);
  assert.equal((await c.reply('4'))[4].response.reason, 'invalid_payload');
  c.send(['1', '5', 'room:bad', 'signal', { to: 'ffff', data: 1 }]);
  assert.equal((await c.reply('5'))[4].response.reason, 'unknown_peer');
  c.send(['6', '6', 'room:bad name!', 'phx_join', {}]);
  assert.equal((await c.reply('6'))[4].response.reason, 'invalid_room');
  c.send([null, '7', 'phoenix', 'heartbeat', {}]);
  assert.equal((await c.reply('7'))[4].status, 'ok');
  assert.equal(c.closeInfo, null);
  c.close();
});

test('garbage closes only the offending connection; others never notice', async () => {
  const bystander = phxSocket(srv.url);
  const { channel } = await join(bystander, 'room:garbage');
  let bystanderClosed = 0;
  bystander.onClose(() => bystanderClosed++);

  const cases = [
    ['not json', (c) => c.send('{{{')],
    ['not an array', (c) => c.send('{"a":1}')],
    ['short array', (c) => c.send('[1,2]')],
    ['bad topic type', (c) => c.send('[null,"1",7,"heartbeat",{}]')],
    ['binary garbage', (c) => c.sendBinary(Buffer.from([9, 9, 9]))],
    ['truncated binary header', (c) => c.sendBinary(Buffer.from([0, 200, 1, 1, 1, 65]))],
  ];
  for (const [name, send] of cases) {
    const c = await rawClient(srv.url);
    send(c);
    const info = await c.closed;
    assert.equal(info.code, 1007, `${name}: expected close 1007, got ${info.code}`);
  }
  const big = await rawClient(srv.url);
  big.send([null, '1', 'room:garbage', 'broadcast', { blob: 'x'.repeat(20 * 1024) }]);
  assert.equal((await big.closed).code, 1009, 'oversized frame closes with 1009');

  // The bystander still works and was never closed.
  assert.equal((await push(channel, 'broadcast', { still: 'here' })).status, 'ok');
  assert.equal(bystanderClosed, 0);
  assert.ok(srv.metrics.badFrames >= 6);
  bystander.disconnect();
});

test('refused upgrades: missing/old vsn gets 400, wrong path 404', async () => {
  const status = (path) =>
    new Promise((resolve) => {
      const ws = new WebSocket(srv.url.replace('/socket', '') + path);
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode);
        req.destroy();
      });
      ws.on('open', () => resolve('open'));
      ws.on('error', () => {});
    });
  assert.equal(await status('/socket/websocket'), 400);
  assert.equal(await status('/socket/websocket?vsn=1.0.0'), 400);
  assert.equal(await status('/nope/websocket?vsn=2.0.0'), 404);
  assert.equal(await status('/socket/websocket?vsn=2.0.0'), 'open');
});

test('the official client stays connected across heartbeats; a silent connection is closed and leaves', async () => {
  const s = await startServer({ idleTimeoutMs: 500 });
  try {
    const sock = phxSocket(s.url, { heartbeatIntervalMs: 100 });
    const { channel } = await join(sock, 'room:idle');
    let closes = 0;
    sock.onClose(() => closes++);
    const silent = await rawClient(s.url);
    silent.send(['1', '1', 'room:idle', 'phx_join', {}]);
    const peer = (await silent.reply('1'))[4].response.peer_id;
    let left = false;
    channel.on('presence_diff', (d) => {
      if (Object.values(d.leaves).some((p) => p.metas.some((m) => m.peer_id === peer))) left = true;
    });
    const info = await silent.closed;
    assert.equal(info.code, 1001);
    await waitUntil(() => left, { message: 'idle peer to leave presence' });
    assert.equal(closes, 0, 'heartbeating client must not be closed');
    assert.equal(sock.isConnected(), true);
    sock.disconnect();
  } finally {
    await s.close();
  }
});

test('a connection that stops answering WebSocket pings is dropped and leaves presence', async () => {
  const s = await startServer({ pingIntervalMs: 100 });
  try {
    const watcher = await rawClient(s.url);
    watcher.send(['1', '1', 'room:ping', 'phx_join', {}]);
    await watcher.reply('1');
    // `ws` with autoPong off behaves like a peer whose network vanished.
    const dead = new WebSocket(`${s.url}/websocket?vsn=2.0.0`, { autoPong: false });
    await new Promise((r) => dead.once('open', r));
    let deadPeer;
    dead.on('message', (d) => {
      const f = JSON.parse(d);
      if (f[1] === '1' && f[3] === 'phx_reply') deadPeer = f[4].response.peer_id;
    });
    const deadClosed = new Promise((r) => dead.once('close', (code) => r(code)));
    dead.send(JSON.stringify(['1', '1', 'room:ping', 'phx_join', {}]));
    await waitUntil(() => deadPeer, { message: 'join reply' });
    // keep the watcher's own heartbeats going: it answers pings automatically
    assert.equal(await deadClosed, 1001);
    await watcher.next((f) => f[3] === 'presence_diff' && Object.values(f[4].leaves).some((p) => p.metas.some((m) => m.peer_id === deadPeer)));
    assert.equal(watcher.closeInfo, null, 'a client answering pings stays connected');
    watcher.close();
  } finally {
    await s.close();
  }
});

test('allowedOrigins refuses other browser origins with 403', async () => {
  const s = await startServer({ allowedOrigins: ['https://app.example'] });
  try {
    const status = (origin) =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${s.url}/websocket?vsn=2.0.0`, { origin });
        ws.on('unexpected-response', (req, res) => {
          resolve(res.statusCode);
          req.destroy();
        });
        ws.on('open', () => {
          resolve('open');
          ws.close();
        });
        ws.on('error', () => {});
      });
    assert.equal(await status('https://evil.example'), 403);
    assert.equal(await status('https://app.example'), 'open');
  } finally {
    await s.close();
  }
});

test('fuzz: thousands of random frames never crash the server or disturb others', async () => {
  const rnd = rng(0x5eed1234); // seeded, so a failure is reproducible
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const values = () => [null, '1', '2', 3, -1, 1e308, true, [], {}, { to: 'x' }, 'room:fz', 'phoenix', '', '\u0000', 'x'.repeat(300), { data: { nested: [1, { a: null }] } }];
  const events = ['phx_join', 'phx_leave', 'heartbeat', 'signal', 'broadcast', 'relay', 'comment', 'presence_diff', 'phx_reply', '', 'x'];
  const topics = ['room:fz', 'room:', 'phoenix', 'room:fz:sub', '', 'lobby', 'room:' + 'a'.repeat(200)];
  const frame = () => {
    switch (Math.floor(rnd() * 4)) {
      case 0: // well-shaped arrays with random content
        return JSON.stringify([pick(values()), String(Math.floor(rnd() * 50)), pick(topics), pick(events), pick(values())]);
      case 1: // random arrays
        return JSON.stringify(Array.from({ length: Math.floor(rnd() * 7) }, () => pick(values())));
      case 2: // random binary, sometimes with a plausible push header
        return Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, (_, i) => (i === 0 && rnd() < 0.5 ? 0 : Math.floor(rnd() * 256))));
      default: // truncated JSON
        return JSON.stringify([null, '1', 'room:fz', 'signal', { to: 'a', data: 1 }]).slice(0, Math.floor(rnd() * 40));
    }
  };
  const bystander = phxSocket(srv.url);
  const { channel } = await join(bystander, 'room:fz');
  let bystanderClosed = 0;
  bystander.onClose(() => bystanderClosed++);
  const errorsBefore = srv.metrics.internalErrors;
  let sent = 0;
  for (let conn = 0; conn < 40; conn++) {
    const c = await rawClient(srv.url);
    c.send(['j', 'j', 'room:fz', 'phx_join', {}]);
    for (let i = 0; i < 60 && c.closeInfo === null; i++, sent++) {
      const f = frame();
      if (typeof f === 'string') c.send(f);
      else c.sendBinary(f);
    }
    c.send([null, 'hb', 'phoenix', 'heartbeat', {}]);
    // Either it answers the heartbeat or it closed the connection; both are fine.
    await Promise.race([c.reply('hb'), c.closed]);
    c.ws.terminate();
  }
  assert.ok(sent > 1000, `sent ${sent} frames`);
  assert.equal(srv.metrics.internalErrors, errorsBefore, 'no handler threw');
  assert.equal((await push(channel, 'broadcast', { ok: 1 })).status, 'ok');
  assert.equal(bystanderClosed, 0);
  bystander.disconnect();
});

test('resume: a join may keep a previous peer id unless another user holds it; same user takes it over', async () => {
  const q = (user) => ({ query: `user_id=${user}&vsn=2.0.0` });
  const watcher = await rawClient(srv.url, q('w'));
  watcher.send(['1', '1', 'room:rs', 'phx_join', {}]);
  const watcherId = (await watcher.reply('1'))[4].response.peer_id;

  // unknown id (e.g. after a server restart): granted
  const a = await rawClient(srv.url, q('ann'));
  a.send(['1', '1', 'room:rs', 'phx_join', { resume: 'aaaaaaaaaaaaaaaa' }]);
  assert.equal((await a.reply('1'))[4].response.peer_id, 'aaaaaaaaaaaaaaaa');

  // held by another user: refused silently, a fresh id instead
  const mallory = await rawClient(srv.url, q('mal'));
  mallory.send(['1', '1', 'room:rs', 'phx_join', { resume: 'aaaaaaaaaaaaaaaa' }]);
  const malId = (await mallory.reply('1'))[4].response.peer_id;
  assert.notEqual(malId, 'aaaaaaaaaaaaaaaa');
  mallory.send(['1', '2', 'room:rs', 'phx_join', { resume: watcherId }]);
  assert.notEqual((await mallory.reply('2'))[4].response.peer_id, watcherId);
  // invalid ids are ignored
  mallory.send(['1', '3', 'room:rs', 'phx_join', { resume: 'not valid!' }]);
  assert.match((await mallory.reply('3'))[4].response.peer_id, /^[0-9a-f]{16}$/);

  // same user from a new connection (the old one not yet known dead): takes over, old channel closed
  const diffsBefore = watcher.frames.length;
  const a2 = await rawClient(srv.url, q('ann'));
  a2.send(['5', '5', 'room:rs', 'phx_join', { resume: 'aaaaaaaaaaaaaaaa' }]);
  const r2 = await a2.reply('5');
  assert.equal(r2[4].response.peer_id, 'aaaaaaaaaaaaaaaa');
  assert.ok(!r2[4].response.peers.includes('aaaaaaaaaaaaaaaa'));
  assert.deepEqual(await a.next((f) => f[3] === 'phx_close'), ['1', '1', 'room:rs', 'phx_close', {}]);
  const diff = await watcher.next((f, i) => f[3] === 'presence_diff' && watcher.frames.indexOf(f) >= diffsBefore && f[4].joins.ann);
  assert.equal(diff[4].joins.ann.metas[0].peer_id, 'aaaaaaaaaaaaaaaa');
  assert.equal(diff[4].leaves.ann.metas[0].peer_id, 'aaaaaaaaaaaaaaaa', 'one diff: old meta leaves, new meta joins');
  assert.notEqual(diff[4].leaves.ann.metas[0].phx_ref, diff[4].joins.ann.metas[0].phx_ref);
  // signals to the id reach the new connection
  watcher.send(['1', '9', 'room:rs', 'signal', { to: 'aaaaaaaaaaaaaaaa', data: 'hi' }]);
  assert.equal((await watcher.reply('9'))[4].status, 'ok');
  assert.equal((await a2.next((f) => f[3] === 'signal'))[4].data, 'hi');
  for (const c of [watcher, a, a2, mallory]) c.close();
});

test('a repeated join that fails still shuts the old join down (error reply, then phx_close)', async () => {
  const c = await rawClient(srv.url);
  c.send(['1', '1', 'room:rf', 'phx_join', {}]);
  await c.reply('1');
  c.send(['2', '2', 'room:rf', 'phx_join', { meta: 'not an object' }]);
  assert.equal((await c.reply('2'))[4].response.reason, 'invalid_meta');
  assert.deepEqual(await c.next((f) => f[3] === 'phx_close'), ['1', '1', 'room:rf', 'phx_close', {}]);
  c.send(['1', '3', 'room:rf', 'broadcast', {}]);
  assert.equal((await c.reply('3'))[4].response.reason, 'unmatched topic');
  c.close();
});
