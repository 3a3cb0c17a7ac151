// Type declarations for js/server/index.js (`roomsync/server`: the signaling server).
// Self-contained on purpose: no @types/node needed to type-check an app that imports it, so the
// Node objects it hands out (the http.Server) are declared structurally.

/** Log level names; `silent` turns logging off. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Any object with these methods (pino, console-like wrappers…); missing ones are no-ops. */
export interface ServerLogger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
  error?(msg: string, fields?: Record<string, unknown>): void;
  child?(fields: Record<string, unknown>): ServerLogger;
}

/** A token bucket: `rate` tokens per second, bucket size `burst` (default max(1, rate)). */
export interface RateLimit {
  rate: number;
  burst?: number;
}

/** A static mount: files of `dir` served under the URL path `prefix` (longest prefix wins). */
export interface StaticMount {
  prefix: string;
  dir: string;
  /**
   * Only these files (paths relative to `dir`; `*` matches within one path segment), never a
   * directory's index.html; absent = every file.
   */
  files?: string[];
}

export interface AuthorizeRoomRequest {
  /** The connection's user: the JWT's `user_id`, or without a secret the `user_id` param / `anon-…`. */
  userId: string;
  /** The verified JWT claims; null when the server has no secret. */
  claims: Record<string, unknown> | null;
  /** Room name (the topic without `room:`). */
  room: string;
  /** The join payload as the client sent it (`meta`, `resume`, app fields). */
  params: Record<string, unknown>;
}

export interface RedisOptions {
  /** Prefix of every Redis key and channel (default `roomsync:`). */
  keyPrefix?: string;
  /** How often this process refreshes its liveness key and checks the others' (default 1000 ms). */
  heartbeatMs?: number;
  /** Liveness key TTL (default 5000 ms): a dead process's peers leave within TTL + one heartbeat. */
  nodeTtlMs?: number;
}

export interface ServerOptions {
  /** Port to listen on (default 4000; 0 = any free port, see `port` on the result). */
  port?: number;
  /** Bind address (default `127.0.0.1`). */
  host?: string;
  /** Socket path (default `/socket`; clients connect to `<path>/websocket?vsn=2.0.0`). */
  path?: string;
  /** HS256 secret: when set, every connection needs a JWT with a `user_id` claim. */
  secret?: string;
  /**
   * Share rooms with other processes through Redis (e.g. `redis://127.0.0.1:6379`). Needs the
   * optional `ioredis` package (`npm install ioredis`); unset = one self-contained process.
   */
  redisUrl?: string;
  redis?: RedisOptions;
  /** Called before every join; `true` admits, `false` or a reason string refuses. */
  authorizeRoom?: (request: AuthorizeRoomRequest) => boolean | string | Promise<boolean | string>;
  /** Per-event limits merged over the defaults; `false`/`null` removes an event's limit. */
  rateLimits?: Record<string, RateLimit | false | null>;
  /** Larger WebSocket frames close the connection with 1009 (default 1 MiB). */
  maxFrameBytes?: number;
  /** Larger relay payloads are refused with `payload_too_large` (default 64 KiB). */
  maxRelayBytes?: number;
  /** Largest presence `meta`, as JSON (default 1 KiB). */
  maxMetaBytes?: number;
  /** Most topics one connection may join (default 100). */
  maxChannels?: number;
  /** Received frames a connection may have waiting to be handled before it is closed (default 1000). */
  maxQueuedFrames?: number;
  /** Bytes a connection may have waiting to be sent before it is dropped as too slow (default 8 MiB). */
  maxBufferedBytes?: number;
  /** Close a connection that sent nothing for this long (default 60000 ms). */
  idleTimeoutMs?: number;
  /** WebSocket ping period (default 15000 ms; 0 = no pings). */
  pingIntervalMs?: number;
  /** Browser origins allowed to connect (`'*'` = any); default null = any. */
  allowedOrigins?: string[] | null;
  /** Static mounts, replacing the default ones ({@link defaultStaticDirs}); [] serves no files. */
  staticDirs?: StaticMount[];
  /** A level name or a logger object (default: JSON lines on stderr at `LOG_LEVEL`, else info). */
  logger?: LogLevel | ServerLogger;
}

/** Live counters of this process (also at /healthz and, in Prometheus format, /metrics). */
export interface ServerMetrics {
  connectionsTotal: number;
  connectionsCurrent: number;
  connectionsRefused: number;
  joins: number;
  joinsRefused: number;
  messagesIn: number;
  messagesOut: number;
  signals: number;
  broadcasts: number;
  relays: number;
  relayBytes: number;
  rateLimited: number;
  badFrames: number;
  idleClosed: number;
  internalErrors: number;
  busIn: number;
}

/** What connects this process's rooms to other processes. */
export type BusStats =
  | { kind: 'local' }
  | { kind: 'redis'; node: string; published: number; received: number; rooms: number };

/** The /healthz document. */
export interface ServerStats extends ServerMetrics {
  status: 'ok';
  uptime_s: number;
  /** This process's id on the bus (`local` without Redis). */
  node: string;
  bus: BusStats;
  /** Rooms with at least one member on this process. */
  rooms: number;
  /** Joined room channels on this process. */
  localMembers: number;
  /** Peers in the presence of those rooms, on every process. */
  trackedPeers: number;
}

/** The node:http Server the WebSocket endpoint is attached to (declared structurally). */
export interface HttpServerLike {
  address(): { address: string; family: string; port: number } | string | null;
  on(event: string, listener: (...args: any[]) => void): this;
}

export interface SignalingServer {
  /** WebSocket endpoint for clients, e.g. `ws://127.0.0.1:4000/socket`. */
  readonly url: string;
  /** HTTP base URL, e.g. `http://127.0.0.1:4000`. */
  readonly httpUrl: string;
  /** The port actually bound. */
  readonly port: number;
  readonly metrics: Readonly<ServerMetrics>;
  stats(): ServerStats;
  /** Closes every WebSocket (default 1012, "server restart", so clients reconnect), then the server. */
  close(options?: { code?: number; reason?: string }): Promise<void>;
  readonly httpServer: HttpServerLike;
}

/**
 * Starts a server; resolves once it listens (and Redis, when configured, is connected).
 * Rejects when the port is taken, Redis is unreachable, or `redisUrl` is set without `ioredis`
 * installed.
 */
export function createServer(options?: ServerOptions): Promise<SignalingServer>;

/** The static mounts used without `staticDirs`: only what pages load (www/, the WebAssembly build, the browser modules of js/, phoenix's ESM build). */
export function defaultStaticDirs(): StaticMount[];
