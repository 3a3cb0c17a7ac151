// Type declarations for js/room/transport.js: the WebRTC transport under the room core.
import type { Signaling } from '../signaling.js';

/** Why a transport operation failed or what went wrong with a peer. */
export type TransportErrorCode =
  | 'closed'
  | 'unknown_peer'
  | 'frame_too_large'
  | 'wrong_password'
  | 'connect_failed'
  | 'relay_failed'
  | 'signal_failed'
  | 'frames_lost'
  | 'bad_frame'
  | 'bad_signal'
  | 'rtc_error'
  | 'listener_error'
  | (string & {});

export class TransportError extends Error {
  readonly name: 'TransportError';
  readonly code: TransportErrorCode;
  /** The peer concerned, when there is one. */
  readonly peerId?: string;
  constructor(code: TransportErrorCode, message: string, peerId?: string);
}

/** The largest frame send() accepts: 64 KiB. */
export const MAX_FRAME_BYTES: number;

/** A WebRTC implementation: `globalThis` in browsers, or an rtcPolyfill in Node
 * (the `@roamhq/wrtc` module, `node-datachannel/polyfill`...). */
export interface RtcImplementation {
  RTCPeerConnection: new (config?: any) => any;
  [name: string]: unknown;
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** How frames to a peer travel: its data channel, or the signaling server's relay. */
export type Route = 'datachannel' | 'relay';

export interface PeerTransportOptions {
  /** A joined room from connectSignaling(); the transport listens to its `signal` and `relay` events. */
  signaling: Pick<Signaling, 'signal' | 'relay' | 'on' | 'peerId'>;
  /** Needed unless relay is 'always'. */
  rtc?: RtcImplementation;
  /** STUN/TURN servers, TURN credentials included (default: none, host candidates only). */
  iceServers?: IceServer[];
  /** Extra RTCConfiguration fields (iceTransportPolicy...); iceServers wins. */
  rtcConfig?: Record<string, unknown>;
  /**
   * 'fallback' (default): the relay carries frames until the data channel opens, or when it cannot be made.
   * 'never': data channel only (send() returns false without one). 'always': relay only, no WebRTC.
   */
  relay?: 'fallback' | 'never' | 'always';
  /** Room password: SDP, candidates and relayed frames are end-to-end encrypted (AES-GCM, PBKDF2 key). */
  password?: string;
  /** The room name: the key derivation's salt (required with a password). */
  roomName?: string;
  /** PBKDF2 iterations (default 600000); every peer of the room must use the same. */
  pbkdf2Iterations?: number;
  /** A frame from a peer, in the order it was sent, each exactly once. */
  onFrame?: (peerId: string, bytes: Uint8Array) => void;
  /** A route to the peer became usable or changed ('relay' then 'datachannel', for instance). */
  onChannelOpen?: (peerId: string, via: Route) => void;
  /** No route to the peer any more (disconnect, bye, refused, channel lost with relay 'never'). */
  onChannelClosed?: (peerId: string) => void;
  /** Problems, each naming the peer when there is one (code 'wrong_password', 'connect_failed'...). */
  onError?: (err: TransportError | Error) => void;
  /** bufferedAmount(peerId) fell to lowWaterMark after being above it. */
  onDrain?: (peerId: string) => void;
  /** A new RTCPeerConnection to the peer (pc), or the current one closed (null): media of a call follows it. */
  onPeerConnection?: (peerId: string, pc: any | null) => void;
  /** Whether to accept a peer that contacts us before we connect to it (default: accept all). */
  acceptPeer?: (peerId: string) => boolean;
  /** No open data channel this long after dialling counts as a failure (default 15000 ms). */
  connectTimeoutMs?: number;
  /** How long a missing frame is awaited before the stream moves on with 'frames_lost' (default 10000 ms). */
  gapTimeoutMs?: number;
  /** The connection to a peer is made once its first relayed frames are in, or this long after its
   * greeting (default 100 ms): the first exchange on the relay (a sync request) goes before it. */
  firstFramesWaitMs?: number;
  /** The server's relay size limit (default 64 KiB): frames are split to fit. */
  relayMaxBytes?: number;
  /** Client-side pacing of relay messages (default 150/s, burst 100; the server's default limit is 200/s). */
  relayRate?: { rate: number; burst: number };
  /** Data channel bytes in flight before further frames wait in the transport's queue (default 4 MiB). */
  highWaterMark?: number;
  /** See onDrain (default 256 KiB). */
  lowWaterMark?: number;
  /** Longest delay between re-dials (default 30000 ms). */
  maxRetryDelayMs?: number;
}

export class PeerTransport {
  constructor(options: PeerTransportOptions);
  /** This peer's id (the signaling peer id). */
  readonly localId: string;
  /** The default role: the peer with the smaller id is polite. */
  defaultPolite(peerId: string): boolean;
  /** Starts (or keeps) a connection. Exactly one side of a pair must be polite (default: defaultPolite). */
  connect(peerId: string, polite?: boolean): void;
  /** Says bye and closes the connection; frames still queued for the peer are discarded; the
   * peer's late messages do not revive it. */
  disconnect(peerId: string): Promise<void>;
  /**
   * Sends one frame (<= 64 KiB). true: sent or queued, delivered in order once. false: no route now
   * (relay 'never' without an open channel, or a refused peer). Throws TransportError
   * ('unknown_peer', 'closed', 'frame_too_large') or TypeError (not bytes).
   */
  send(peerId: string, bytes: Uint8Array | ArrayBuffer | ArrayBufferView): boolean;
  /** Bytes accepted for the peer and not yet handed to the network (channel buffer + queues). */
  bufferedAmount(peerId: string): number;
  route(peerId: string): Route | null;
  /** The peer's current RTCPeerConnection (tracks added to it are negotiated by the transport), or null. */
  peerConnection(peerId: string): any | null;
  /** Ids of the peers the transport holds state for. */
  peers(): string[];
  /** Round-trip time of the selected ICE candidate pair in ms, or null. */
  rttMs(peerId: string): Promise<number | null>;
  /** Byes to every peer, closes everything, stops every timer. */
  close(): Promise<void>;
}
