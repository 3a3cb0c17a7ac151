// JWT at connect (token param or phoenix authToken subprotocol) and the room authorization hook.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startServer, phxSocket, join, WebSocket, Socket } from './helpers.js';

const SECRET = 'auth-test-secret-0123456789';
const key = new TextEncoder().encode(SECRET);
let srv;
before(async () => {
  srv = await startServer({
    secret: SECRET,
    authorizeRoom: ({ userId, room }) => {
      if (room.startsWith('vip-')) return userId === 'boss';
      if (room === 'closed') return 'room_closed';
      return true;
    },
  });
});
after(() => srv.close());

const sign = (claims, { exp = '5m', secret = key, alg = 'HS256' } = {}) => {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt();
  if (exp !== null) jwt = jwt.setExpirationTime(exp);
  return jwt.sign(secret);
};

/** Resolves the HTTP status of the upgrade (101 → 'open'). */
function handshake(query, protocols) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${srv.url}/websocket?${query}`, protocols);
    ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode);
        req.destroy();
      });
    ws.on('open', () => {
      resolve({ open: true, protocol: ws.protocol });
      ws.close();
    });
    ws.on('error', () => {});
  });
}

test('a valid token in the `token` param is accepted and its user_id becomes the presence key', async () => {
  const t = await sign({ user_id: 'u-42' });
  const sock = phxSocket(srv.url, { params: { token: t } });
  const channel = sock.channel('room:a');
  const stateP = new Promise((resolve) => channel.on('presence_state', resolve));
  const resp = await new Promise((resolve, reject) => channel.join().receive('ok', resolve).receive('error', reject));
  const state = await stateP;
  assert.deepEqual(Object.keys(state), ['u-42']);
  assert.equal(state['u-42'].metas[0].peer_id, resp.peer_id);
  sock.disconnect();
});

test('a valid token in the phoenix authToken subprotocol is accepted; the server answers "phoenix"', async () => {
  const t = await sign({ user_id: 7 });
  const sock = phxSocket(srv.url, { authToken: t });
  const { resp } = await join(sock, 'room:b');
  assert.match(resp.peer_id, /^[0-9a-f]{16}$/);
  assert.equal(sock.conn.protocol, 'phoenix');
  sock.disconnect();
  const r = await handshake('vsn=2.0.0', ['phoenix', `base64url.bearer.phx.${btoa(t).replace(/=/g, '')}`]);
  assert.deepEqual(r, { open: true, protocol: 'phoenix' });
});

test('wrong, expired, missing or claim-less tokens get HTTP 403 and no channel', async () => {
  const cases = {
    missing: 'vsn=2.0.0',
    garbage: 'token=not.a.jwt&vsn=2.0.0',
    'wrong secret': `token=${await sign({ user_id: 'x' }, { secret: new TextEncoder().encode('other-secret') })}&vsn=2.0.0`,
    expired: `token=${await sign({ user_id: 'x' }, { exp: Math.floor(Date.now() / 1000) - 60 })}&vsn=2.0.0`,
    'no user_id': `token=${await sign({ sub: 'x' })}&vsn=2.0.0`,
  };
  for (const [name, q] of Object.entries(cases)) assert.equal(await handshake(q), 403, name);
  const expired = await sign({ user_id: 'x' }, { exp: Math.floor(Date.now() / 1000) - 60 });
  assert.equal(await handshake('vsn=2.0.0', ['phoenix', `base64url.bearer.phx.${btoa(expired).replace(/=/g, '')}`]), 403);
  assert.equal((await handshake(`token=${await sign({ user_id: 'ok' })}&vsn=2.0.0`)).open, true, 'control: a good token opens');

  // The official client only sees an error and retries; it never gets a channel.
  const refused = new Socket(srv.url, { transport: WebSocket, params: { token: 'bad' }, reconnectAfterMs: () => 10_000 });
  const errored = new Promise((resolve) => refused.onError(resolve));
  let joined = false;
  const ch = refused.channel('room:a');
  ch.join().receive('ok', () => (joined = true));
  refused.connect();
  await errored;
  assert.equal(joined, false);
  ch.leave(0);
  refused.disconnect();
});

test('room authorization hook: refusals answer the join with an error reason', async () => {
  const boss = phxSocket(srv.url, { params: { token: await sign({ user_id: 'boss' }) } });
  const intern = phxSocket(srv.url, { params: { token: await sign({ user_id: 'intern' }) } });
  await join(boss, 'room:vip-1');
  await assert.rejects(join(intern, 'room:vip-1'), (err) => err.resp.reason === 'unauthorized');
  await assert.rejects(join(intern, 'room:closed'), (err) => err.resp.reason === 'room_closed');
  await join(intern, 'room:open');
  assert.ok(srv.metrics.joinsRefused >= 2);
  boss.disconnect();
  intern.disconnect();
});
