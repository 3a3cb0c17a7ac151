// Shared helpers for the signaling server tests (not a test file itself).
import { Socket, Presence } from 'phoenix';
import WebSocket from 'ws';
import { createServer } from '../../../js/server/index.js';

export { Socket, Presence, WebSocket };

// Watchdog: a test file that hangs (a promise that never settles) fails instead of blocking the run.
const WATCHDOG_MS = Number(process.env.TEST_WATCHDOG_MS || 45_000);
setTimeout(() => {
  console.error(`\n*** watchdog: ${process.argv[1]} still running after ${WATCHDOG_MS} ms; failing it ***`);
  process.exit(1);
}, WATCHDOG_MS).unref();

/** Starts a server on an ephemeral loopback port, quiet, no static dirs unless given. */
export function startServer(opts = {}) {
  return createServer({ port: 0, host: '127.0.0.1', logger: process.env.TEST_LOG_LEVEL || 'silent', staticDirs: [], ...opts });
}

/** An official phoenix.js Socket on the `ws` transport, with short timers for fast tests. */
export function phxSocket(url, opts = {}) {
  const socket = new Socket(url, {
    transport: WebSocket,
    heartbeatIntervalMs: 200,
    reconnectAfterMs: () => 50,
    rejoinAfterMs: () => 50,
    timeout: 2000,
    ...opts,
  });
  socket.connect();
  return socket;
}

/** Joins `topic` and resolves the join response; rejects on error/timeout (once). */
export function join(socket, topic, params = {}) {
  const channel = socket.channel(topic, params);
  return new Promise((resolve, reject) => {
    let done = false;
    channel
      .join()
      .receive('ok', (resp) => !done && ((done = true), resolve({ channel, resp })))
      .receive('error', (resp) => !done && ((done = true), channel.leave(), reject(Object.assign(new Error('join error'), { resp }))))
      .receive('timeout', () => !done && ((done = true), reject(new Error('join timeout'))));
  });
}

/** Pushes and resolves {status, response}. */
export function push(channel, event, payload, timeout) {
  return new Promise((resolve) => {
    channel
      .push(event, payload, timeout)
      .receive('ok', (response) => resolve({ status: 'ok', response }))
      .receive('error', (response) => resolve({ status: 'error', response }))
      .receive('timeout', () => resolve({ status: 'timeout' }));
  });
}

/** Polls `fn` until it returns truthy; rejects after `timeoutMs`. */
export async function waitUntil(fn, { timeoutMs = 5000, intervalMs = 10, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resolves the next `event` payload on a channel. */
export function nextEvent(channel, event, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      channel.off(event, ref);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const ref = channel.on(event, (payload) => {
      clearTimeout(t);
      channel.off(event, ref);
      resolve(payload);
    });
  });
}

/** A raw `ws` client speaking V2 arrays by hand, recording every frame it gets. */
export async function rawClient(url, { query = 'vsn=2.0.0', protocols, headers } = {}) {
  const ws = new WebSocket(`${url}/websocket?${query}`, protocols, { headers });
  const frames = [];
  const waiters = [];
  let closeInfo = null;
  ws.on('message', (data, isBinary) => {
    const f = isBinary ? { binary: data } : JSON.parse(data.toString());
    frames.push(f);
    for (const w of [...waiters]) if (w.pred(f)) w.resolve(f);
  });
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve((closeInfo = { code, reason: reason.toString() }))));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const client = {
    ws,
    frames,
    closed,
    get closeInfo() {
      return closeInfo;
    },
    send: (arr) => ws.send(typeof arr === 'string' ? arr : JSON.stringify(arr)),
    sendBinary: (buf) => ws.send(buf, { binary: true }),
    /** Resolves the first frame (already received or future) matching `pred`. */
    next(pred, timeoutMs = 3000) {
      const found = frames.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (f) => {
            clearTimeout(t);
            waiters.splice(waiters.indexOf(w), 1);
            resolve(f);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`raw client: no matching frame within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    reply: (ref) => client.next((f) => Array.isArray(f) && f[1] === ref && f[3] === 'phx_reply'),
    close: () => ws.close(),
  };
  return client;
}

/** Encodes a V2 client binary push (kind 0). */
export function binaryPush(joinRef, ref, topic, event, bytes) {
  const parts = [joinRef, ref, topic, event].map((s) => Buffer.from(s));
  return Buffer.concat([Buffer.from([0, ...parts.map((p) => p.length)]), ...parts, Buffer.from(bytes)]);
}

/** Decodes a server binary push (kind 0) into {joinRef, topic, event, payload}. */
export function decodeServerPush(buf) {
  assertKind(buf, 0);
  let o = 4;
  const take = (n) => buf.toString('utf8', o, (o += n));
  const joinRef = take(buf[1]);
  const topic = take(buf[2]);
  const event = take(buf[3]);
  return { joinRef, topic, event, payload: buf.subarray(o) };
}

function assertKind(buf, kind) {
  if (buf[0] !== kind) throw new Error(`expected binary kind ${kind}, got ${buf[0]}`);
}
