// roomsync signaling server: Phoenix Channels V2 over WebSocket (`ws`), rooms with presence,
// targeted signaling, broadcast and binary relay; optional JWT auth, rate limits, Redis scale-out,
// static files, /healthz and /metrics.

import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';

import { createAuthenticator, extractToken } from './auth.js';
import { LocalBus, RedisBus } from './bus.js';
import { Connection } from './connection.js';
import { toLogger } from './log.js';
import { newRef } from './presence.js';
import { RateLimiter } from './rate-limit.js';
import { Rooms } from './rooms.js';
import { createStaticHandler } from './static.js';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The static mounts used when `staticDirs` is not given: only what pages load. All of www/ at /
 * (the demo pages), the WebAssembly build at /dist/, the browser modules of js/ at /js/ (never
 * the server or the CLI) and phoenix's ESM build at /vendor/phoenix/ (for import maps).
 * A browser module that pages import must be added here (tests/js/server/static.test.js
 * follows the demo's imports and fails otherwise).
 */
export function defaultStaticDirs() {
  const mounts = [
    { prefix: '/', dir: path.join(PACKAGE_ROOT, 'www') },
    { prefix: '/dist/', dir: path.join(PACKAGE_ROOT, 'dist'), files: ['roomsync.mjs', 'roomsync.wasm', 'roomsync.browser.js', 'roomsync.codemirror.js'] },
    { prefix: '/js/', dir: path.join(PACKAGE_ROOT, 'js'), files: ['index.js', 'load-module.js', 'signaling.js', 'undo.js', 'room/*.js'] },
  ];
  try {
    const require = createRequire(import.meta.url);
    const phoenixMain = require.resolve('phoenix'); // .../phoenix/priv/static/phoenix.cjs.js
    mounts.push({ prefix: '/vendor/phoenix/', dir: path.dirname(phoenixMain), files: ['phoenix.mjs'] });
  } catch {
    /* phoenix not installed: nothing to vendor */
  }
  return mounts;
}

const DEFAULTS = {
  port: 4000,
  host: '127.0.0.1',
  path: '/socket',
  idleTimeoutMs: 60_000,
  pingIntervalMs: 15_000,
  allowedOrigins: null,
  maxFrameBytes: 1024 * 1024,
  maxRelayBytes: 64 * 1024,
  maxMetaBytes: 1024,
  maxChannels: 100,
  maxQueuedFrames: 1000,
  maxBufferedBytes: 8 * 1024 * 1024,
};

/**
 * Starts a server. Resolves once it listens (and Redis, if configured, is connected).
 * @returns {Promise<{url: string, httpUrl: string, port: number, metrics: object, stats(): object, close(): Promise<void>}>}
 */
export async function createServer(options = {}) {
  const opts = { ...DEFAULTS, ...stripUndefined(options) };
  const log = toLogger(opts.logger);
  const authenticate = createAuthenticator(opts.secret);
  const limiter = new RateLimiter({ phx_join: { rate: 5, burst: 20 }, ...(opts.rateLimits || {}) });
  const bus = opts.redisUrl
    ? new RedisBus({ url: opts.redisUrl, logger: log, ...(opts.redis || {}) })
    : new LocalBus();
  const metrics = {
    connectionsTotal: 0,
    connectionsCurrent: 0,
    connectionsRefused: 0,
    joins: 0,
    joinsRefused: 0,
    messagesIn: 0,
    messagesOut: 0,
    signals: 0,
    broadcasts: 0,
    relays: 0,
    relayBytes: 0,
    rateLimited: 0,
    badFrames: 0,
    idleClosed: 0,
    internalErrors: 0,
    busIn: 0,
  };
  const rooms = new Rooms({ bus, logger: log, metrics });
  const connections = new Set();
  const serveStatic = createStaticHandler(opts.staticDirs || defaultStaticDirs());
  const startedAt = Date.now();
  let closing = false;

  const ctx = {
    rooms,
    limiter,
    metrics,
    log,
    authorizeRoom: opts.authorizeRoom || null,
    newRef,
    opts,
    onConnectionClosed(conn, code) {
      if (!connections.delete(conn)) return;
      metrics.connectionsCurrent = connections.size;
      log.debug('connection closed', { conn: conn.id, code });
    },
  };

  const stats = () => ({
    status: 'ok',
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
    node: bus.nodeId,
    bus: bus.stats(),
    ...rooms.stats(),
    ...metrics,
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxFrameBytes,
    perMessageDeflate: false,
    // phoenix.js sends ["phoenix", "base64url.bearer.phx.<token>"] when `authToken` is set and
    // browsers abort the handshake unless the server picks "phoenix".
    handleProtocols: (protocols) => (protocols.has('phoenix') ? 'phoenix' : false),
  });

  const httpServer = http.createServer((req, res) => {
    handleHttp(req, res).catch((err) => {
      log.error('http handler failed', { err: err.message });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function handleHttp(req, res) {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      return res.end(JSON.stringify(stats()));
    }
    if (url.pathname === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      return res.end(prometheus(stats()));
    }
    if (await serveStatic(req, res, url.pathname)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  }

  const refuse = (socket, status, text) => {
    metrics.connectionsRefused++;
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  httpServer.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch {
      return refuse(socket, 400, 'Bad Request');
    }
    if (url.pathname !== `${opts.path}/websocket`) return refuse(socket, 404, 'Not Found');
    const vsn = url.searchParams.get('vsn') || '1.0.0';
    if (!/^2\.\d+\.\d+$/.test(vsn)) {
      log.info('refused connection: unsupported protocol version', { vsn });
      return refuse(socket, 400, 'Bad Request');
    }
    if (closing) return refuse(socket, 503, 'Service Unavailable');
    const origin = req.headers.origin;
    if (origin && opts.allowedOrigins && !opts.allowedOrigins.includes('*') && !opts.allowedOrigins.includes(origin)) {
      log.info('refused connection: origin not allowed', { origin });
      return refuse(socket, 403, 'Forbidden');
    }
    identify(req, url)
      .then((identity) => {
        if (!identity) return refuse(socket, 403, 'Forbidden');
        if (socket.destroyed) return;
        wss.handleUpgrade(req, socket, head, (ws) => {
          if (closing) return ws.close(1012, 'server shutting down');
          const conn = new Connection(ws, identity, ctx);
          connections.add(conn);
          metrics.connectionsTotal++;
          metrics.connectionsCurrent = connections.size;
          log.debug('connection opened', { conn: conn.id, user: identity.userId, remote: identity.remote });
        });
      })
      .catch((err) => {
        log.error('upgrade failed', { err: err.message });
        refuse(socket, 500, 'Internal Server Error');
      });
  });

  let anonCounter = 0;
  async function identify(req, url) {
    const remote = req.socket.remoteAddress;
    if (!authenticate) {
      // Without a secret nobody is authenticated: a `user_id` param is trusted as-is, otherwise
      // every connection is its own anonymous user.
      const claimed = url.searchParams.get('user_id');
      const userId = claimed && claimed.length <= 128 ? claimed : `anon-${process.pid.toString(36)}-${(++anonCounter).toString(36)}`;
      return { userId, claims: null, params: url.searchParams, remote };
    }
    const token = extractToken(url, req.headers['sec-websocket-protocol']);
    try {
      const { userId, claims } = await authenticate(token);
      return { userId, claims, params: url.searchParams, remote };
    } catch (err) {
      log.info('refused connection: authentication failed', { reason: err.reason || err.message, remote });
      return null;
    }
  }

  // Idle sweep: a connection with no inbound data for idleTimeoutMs is closed (its presence leaves).
  const sweepEvery = Math.max(50, Math.min(5000, Math.floor(opts.idleTimeoutMs / 4)));
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const conn of connections) {
      if (now - conn.lastSeen > opts.idleTimeoutMs) {
        metrics.idleClosed++;
        conn.log.info('closing idle connection', { idle_ms: now - conn.lastSeen });
        conn.close(1001, 'idle timeout');
      }
    }
    limiter.sweep();
  }, sweepEvery);
  sweeper.unref();

  // WebSocket pings find dead TCP connections (no close ever arrives) faster than the idle timeout:
  // a connection that leaves one ping unanswered for pingIntervalMs is dropped (its presence leaves).
  const pinger =
    opts.pingIntervalMs > 0
      ? setInterval(() => {
          for (const conn of connections) {
            if (!conn.ping()) {
              metrics.idleClosed++;
              conn.log.info('closing connection: ping unanswered', { interval_ms: opts.pingIntervalMs });
              conn.close(1001, 'ping timeout');
            }
          }
        }, opts.pingIntervalMs)
      : null;
  pinger?.unref();

  await bus.start();
  try {
    await new Promise((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(opts.port, opts.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    clearInterval(sweeper);
    clearInterval(pinger);
    await bus.close();
    throw err;
  }
  const { port } = httpServer.address();
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  const url = `ws://${hostForUrl}:${port}${opts.path}`;
  const httpUrl = `http://${hostForUrl}:${port}`;
  log.info('listening', { url, http: httpUrl, redis: Boolean(opts.redisUrl), node: bus.nodeId, auth: Boolean(authenticate) });

  async function close({ code = 1012, reason = 'server restart' } = {}) {
    if (closing) return;
    closing = true;
    clearInterval(sweeper);
    clearInterval(pinger);
    // 1012 (service restart): phoenix.js reconnects on anything but a clean client-side close.
    for (const conn of [...connections]) conn.close(code, reason);
    await bus.close();
    await new Promise((resolve) => {
      httpServer.close(() => resolve());
      httpServer.closeAllConnections?.();
    });
    wss.close();
    log.info('closed', { node: bus.nodeId });
  }

  return { url, httpUrl, port, metrics, stats, close, httpServer };
}

function stripUndefined(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

function prometheus(s) {
  const lines = [];
  const metric = (name, type, help, value) => {
    lines.push(`# HELP roomsync_${name} ${help}`, `# TYPE roomsync_${name} ${type}`, `roomsync_${name} ${value}`);
  };
  metric('connections', 'gauge', 'Open WebSocket connections.', s.connectionsCurrent);
  metric('connections_total', 'counter', 'Accepted WebSocket connections.', s.connectionsTotal);
  metric('connections_refused_total', 'counter', 'Refused upgrade requests (auth, path, version).', s.connectionsRefused);
  metric('rooms', 'gauge', 'Rooms with at least one member on this process.', s.rooms);
  metric('room_members', 'gauge', 'Joined room channels on this process.', s.localMembers);
  metric('joins_total', 'counter', 'Successful room joins.', s.joins);
  metric('joins_refused_total', 'counter', 'Joins refused by the authorization hook.', s.joinsRefused);
  metric('messages_in_total', 'counter', 'WebSocket frames received.', s.messagesIn);
  metric('messages_out_total', 'counter', 'WebSocket frames sent.', s.messagesOut);
  metric('signals_total', 'counter', 'Signal messages routed.', s.signals);
  metric('broadcasts_total', 'counter', 'Broadcast and comment messages relayed.', s.broadcasts);
  metric('relays_total', 'counter', 'Binary relay messages routed.', s.relays);
  metric('relay_bytes_total', 'counter', 'Bytes of relayed data.', s.relayBytes);
  metric('rate_limited_total', 'counter', 'Pushes refused by rate limits.', s.rateLimited);
  metric('bad_frames_total', 'counter', 'Malformed frames received.', s.badFrames);
  metric('idle_closed_total', 'counter', 'Connections closed for inactivity.', s.idleClosed);
  metric('internal_errors_total', 'counter', 'Unexpected errors while handling frames.', s.internalErrors);
  metric('uptime_seconds', 'gauge', 'Process uptime.', s.uptime_s);
  return lines.join('\n') + '\n';
}
