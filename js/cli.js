#!/usr/bin/env node
// roomsync command line: `roomsync serve [--port N] [--host H] [--redis URL] [--log-level L]`.
// Environment: PORT, HOST, ROOMSYNC_SECRET (JWT HS256 secret), REDIS_URL, LOG_LEVEL,
// ROOMSYNC_RATE_LIMITS (JSON), ROOMSYNC_ALLOWED_ORIGINS, ROOMSYNC_IDLE_TIMEOUT_MS, ROOMSYNC_PING_INTERVAL_MS,
// ROOMSYNC_NODE_TTL_MS, ROOMSYNC_NODE_HEARTBEAT_MS.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer, defaultStaticDirs } from './server/index.js';
import { createLogger, checkLogLevel, LOG_LEVELS } from './server/log.js';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** One line per static mount, from the mounts themselves so the help cannot drift from them. */
function describeStaticDirs() {
  return defaultStaticDirs()
    .map(({ prefix, dir, files }) => {
      const from = path.relative(PACKAGE_ROOT, dir) + '/';
      return files ? `  ${files.map((f) => prefix + f).join(', ')}` : `  ${prefix}…  every file of ${from} (the pages; index.html for directories)`;
    })
    .join('\n');
}

const USAGE = `Usage: roomsync serve [options]

Runs the Phoenix Channels signaling server and the demo pages (docs/signaling.md).

Options:
  --port <n>           port to listen on (env PORT, default 4000; 0 = any free port)
  --host <addr>        address to bind (env HOST, default 127.0.0.1; 0.0.0.0 for all interfaces)
  --redis <url>        share rooms with other processes through Redis (env REDIS_URL)
  --log-level <level>  ${LOG_LEVELS.join(' | ')} (env LOG_LEVEL, default info); logs are JSON lines on stderr
  --help               show this help

Environment:
  ROOMSYNC_SECRET      HS256 secret; when set, a JWT with a user_id claim is required to connect
  ROOMSYNC_RATE_LIMITS  JSON per-event limits, e.g. '{"comment":{"rate":1,"burst":1},"signal":false}'
  ROOMSYNC_ALLOWED_ORIGINS  comma-separated browser origins allowed to connect (default: any)
  ROOMSYNC_IDLE_TIMEOUT_MS, ROOMSYNC_PING_INTERVAL_MS, ROOMSYNC_NODE_TTL_MS, ROOMSYNC_NODE_HEARTBEAT_MS
                       tuning (see docs/signaling.md)

HTTP on the same port serves exactly this, nothing else:
  /socket/websocket (the Phoenix socket), /healthz (JSON), /metrics (Prometheus)
${describeStaticDirs()}
`;

function fail(message) {
  process.stderr.write(`roomsync: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const num = (v, name) => {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) fail(`${name} must be a non-negative integer, got "${v}"`);
  return n;
};

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      redis: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  fail(err.message);
}
const { values, positionals } = parsed;
const command = positionals[0] || 'serve';
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (command !== 'serve') fail(`unknown command "${command}"`);

const env = process.env;
let logger;
try {
  // A flag wins over the environment; an empty LOG_LEVEL counts as unset.
  const level = values['log-level'] !== undefined ? checkLogLevel(values['log-level'], '--log-level') : checkLogLevel(env.LOG_LEVEL || 'info', 'LOG_LEVEL');
  logger = createLogger({ level });
} catch (err) {
  fail(err.message);
}
const port = num(values.port ?? env.PORT, 'port') ?? 4000;
if (port > 65535) fail('port must be at most 65535');

let rateLimits;
if (env.ROOMSYNC_RATE_LIMITS) {
  try {
    rateLimits = JSON.parse(env.ROOMSYNC_RATE_LIMITS);
  } catch (err) {
    fail(`ROOMSYNC_RATE_LIMITS is not valid JSON: ${err.message}`);
  }
}

try {
  const server = await createServer({
    rateLimits,
    port,
    host: values.host || env.HOST || '127.0.0.1',
    secret: env.ROOMSYNC_SECRET || undefined,
    redisUrl: values.redis || env.REDIS_URL || undefined,
    idleTimeoutMs: num(env.ROOMSYNC_IDLE_TIMEOUT_MS, 'ROOMSYNC_IDLE_TIMEOUT_MS'),
    pingIntervalMs: num(env.ROOMSYNC_PING_INTERVAL_MS, 'ROOMSYNC_PING_INTERVAL_MS'),
    allowedOrigins: env.ROOMSYNC_ALLOWED_ORIGINS ? env.ROOMSYNC_ALLOWED_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean) : undefined,
    redis: {
      ...(env.ROOMSYNC_NODE_TTL_MS ? { nodeTtlMs: num(env.ROOMSYNC_NODE_TTL_MS, 'ROOMSYNC_NODE_TTL_MS') } : {}),
      ...(env.ROOMSYNC_NODE_HEARTBEAT_MS ? { heartbeatMs: num(env.ROOMSYNC_NODE_HEARTBEAT_MS, 'ROOMSYNC_NODE_HEARTBEAT_MS') } : {}),
    },
    logger,
  });
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  logger.error('failed to start', { err: err.message });
  process.exit(1);
}
