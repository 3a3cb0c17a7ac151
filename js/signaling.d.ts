// Type declarations for js/signaling.js (roomsync signaling client).
// Self-contained: the phoenix package ships no types, so the parts we use are declared structurally
// (an instance of phoenix's Socket satisfies PhoenixSocket).

export interface PhoenixPush {
  receive(status: string, cb: (response?: any) => void): PhoenixPush;
}

export interface PhoenixChannel {
  readonly topic: string;
  readonly state: string;
  join(timeout?: number): PhoenixPush;
  leave(timeout?: number): PhoenixPush;
  push(event: string, payload: object | ArrayBuffer, timeout?: number): PhoenixPush;
  on(event: string, cb: (payload: any) => void): number;
  off(event: string, ref?: number): void;
}

export interface PhoenixSocket {
  connect(): void;
  disconnect(callback?: () => void, code?: number, reason?: string): void;
  isConnected(): boolean;
  channel(topic: string, params?: object | (() => object)): PhoenixChannel;
  onOpen(cb: () => void): string;
  onClose(cb: (event: any) => void): string;
  onError(cb: (error: any) => void): string;
  off(refs: string[]): void;
}

/** Reasons a signaling operation fails (server reasons plus client-side conditions). */
export type SignalingErrorCode =
  | 'unknown_peer'
  | 'rate_limit'
  | 'timeout'
  | 'unauthorized'
  | 'connect_failed'
  | 'closed'
  | 'payload_too_large'
  | 'invalid_payload'
  | 'invalid_room'
  | 'invalid_meta'
  | 'unknown_event'
  | 'unmatched topic'
  | 'too many channels joined'
  | 'join crashed'
  | 'listener_error'
  | (string & {});

export class SignalingError extends Error {
  readonly name: 'SignalingError';
  readonly code: SignalingErrorCode;
  /**
   * The server's error response or the underlying error, when there is one; for a
   * `payload_too_large` found before sending, `{ size, limit }` in bytes.
   */
  readonly details?: unknown;
  constructor(code: SignalingErrorCode, message?: string, details?: unknown);
}

/** One entry of the room's presence: a peer (one joined connection) of a user. */
export interface PeerMeta {
  peer_id: string;
  user_id: string;
  /** ms since the epoch, server clock */
  online_at: number;
  phx_ref: string;
  /** fields from the `meta` join option */
  [field: string]: unknown;
}

export interface SignalMessage<T = unknown> {
  from: string;
  data: T;
}

export interface RelayMessage {
  from: string;
  data: Uint8Array;
}

export interface SignalingEvents {
  'peer-join': (peerId: string, meta: PeerMeta) => void;
  'peer-leave': (peerId: string, meta: PeerMeta) => void;
  signal: (msg: SignalMessage) => void;
  /** The sender's object plus `from` (its peer id). */
  broadcast: (payload: Record<string, unknown> & { from: string }) => void;
  comment: (payload: Record<string, unknown> & { from: string; user_id: string }) => void;
  relay: (msg: RelayMessage) => void;
  error: (err: SignalingError) => void;
  /** Rejoined after a connection loss; peerId equals previousPeerId when the server let us keep it. */
  reconnect: (info: { peerId: string; previousPeerId: string | null }) => void;
  disconnect: (info: { code?: number; reason?: string }) => void;
  /** The peer list after every presence sync. */
  sync: (peers: string[]) => void;
}

export interface ConnectSignalingOptions {
  /** Endpoint such as `ws://localhost:4000/socket` (phoenix appends `/websocket`). Not needed with `socket`. */
  url?: string;
  /** An existing phoenix Socket to share; it is connected if needed and never disconnected by us. */
  socket?: PhoenixSocket;
  /** Room name; the channel topic is `room:<room>`. */
  room: string;
  /** JWT (HS256, `user_id` claim) or a function returning a fresh one at every (re)connect. */
  token?: string | (() => string);
  /** Where the token travels: `params` (query string `token=`, default) or `header` (phoenix `authToken` subprotocol). */
  tokenTransport?: 'params' | 'header';
  /** Extra socket params (query string); ignored with `socket`. */
  params?: Record<string, unknown> | (() => Record<string, unknown>);
  /** App fields added to this peer's presence meta (max 1 KiB JSON; reserved keys are ignored). */
  meta?: Record<string, unknown>;
  /** Ask the server to keep this peer's id when rejoining after a reconnect (default true). */
  keepPeerId?: boolean;
  /** Join and push timeout in ms (default 10000). */
  timeout?: number;
  /**
   * WebSocket frame limit in bytes for servers whose join reply does not announce one
   * (`max_frame_bytes`); default 1 MiB, the roomsync server's default. Larger pushes are refused
   * with `payload_too_large` before sending, since the server would close the socket.
   */
  maxFrameBytes?: number;
  /** WebSocket implementation; default: global WebSocket, else the `ws` package (Node < 22). */
  transport?: unknown;
  /** Socket class to instantiate (default: phoenix's). */
  Socket?: new (endPoint: string, opts?: object) => PhoenixSocket;
  /** Passed to the phoenix Socket constructor (heartbeatIntervalMs, reconnectAfterMs, logger…). */
  socketOptions?: Record<string, unknown>;
}

export class Signaling {
  readonly socket: PhoenixSocket;
  readonly channel: PhoenixChannel;
  readonly room: string;
  readonly topic: string;
  /** This connection's peer id in the room; kept across reconnects when possible (see keepPeerId). */
  readonly peerId: string;
  readonly connected: boolean;
  /** Size limits checked before sending: from the server's join reply, else `maxFrameBytes` and Infinity. */
  readonly limits: { maxFrameBytes: number; maxRelayBytes: number };
  /** Ids of the other peers in the room (complete once connectSignaling resolved). */
  peers(): string[];
  peerMeta(peerId: string): PeerMeta | undefined;
  /** Presence by user; includes this peer as soon as connectSignaling resolved. */
  presence(): Array<{ userId: string; metas: PeerMeta[] }>;
  on<E extends keyof SignalingEvents>(event: E, cb: SignalingEvents[E]): () => void;
  onPeerJoin(cb: SignalingEvents['peer-join']): () => void;
  onPeerLeave(cb: SignalingEvents['peer-leave']): () => void;
  onSignal(cb: SignalingEvents['signal']): () => void;
  /**
   * Sends any JSON value to one peer; resolves when the server routed it. Over the frame limit:
   * rejects at once with `payload_too_large` (nothing is sent; the connection is unaffected).
   */
  signal(to: string, data: unknown): Promise<void>;
  /** Sends an object to every other peer of the room (same size rule as signal). */
  broadcast(payload: Record<string, unknown>): Promise<void>;
  /** Sends bytes (at most `limits.maxRelayBytes`, 64 KiB by default) to one peer through the server. */
  relay(to: string, data: Uint8Array | ArrayBuffer | ArrayBufferView | string): Promise<void>;
  /** Pushes any channel event; resolves the ok response (same size rule as signal; `invalid_payload` if JSON cannot encode it). */
  push(event: string, payload: object | ArrayBuffer, timeout?: number): Promise<unknown>;
  /** Leaves the room (and disconnects the socket if connectSignaling created it). */
  leave(): Promise<void>;
}

export function connectSignaling(options: ConnectSignalingOptions): Promise<Signaling>;
