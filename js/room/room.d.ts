// Type declarations for js/room/room.js: joinRoom() and the Room it returns.
import type { Doc, JsonValue } from '../index.js';
import type { Signaling, PhoenixSocket } from '../signaling.js';
import type { IceServer, RtcImplementation, TransportError } from './transport.js';

export type { IceServer, RtcImplementation, TransportError };

/** Why something went wrong in a room (protocol errors from a peer use the core's codes). */
export type RoomErrorCode =
  | 'listener_error' // an app callback threw (the room went on)
  | 'duplicate-client-id' // a peer's document uses a client id already taken: refused
  | 'bad_action' // a peer sent an action payload that cannot be decoded
  | 'bad_presence' // a peer's presence is not JSON
  | 'busy' | 'too_large' | 'bad_name' | 'bad_metadata' | 'bad_target' | 'aborted' | 'closed' // send()
  | 'doc_destroyed' // the document was destroyed: the room left
  | 'internal'
  | (string & {});

export class RoomError extends Error {
  readonly name: 'RoomError';
  readonly code: RoomErrorCode;
  /** The peer concerned, when there is one. */
  readonly peerId?: string;
  constructor(code: RoomErrorCode, message: string, peerId?: string, cause?: unknown);
}

export interface JoinRoomOptions {
  /**
   * The signaling server: a URL such as `ws://localhost:4000/socket` (or a path like `/socket` in
   * a page), a Signaling from connectSignaling() (joined to this room), or an existing phoenix
   * Socket to share. joinRoom leaves what it opened when the room is left, nothing else.
   */
  signaling: string | Signaling | PhoenixSocket;
  /** The room name. */
  room: string;
  /** The document to keep in sync (default: a new one). It stays usable after leave(). */
  doc?: Doc;
  /**
   * Room password: SDP, ICE candidates and relayed frames are end-to-end encrypted (AES-GCM, key
   * from PBKDF2 with the room name as salt). A peer with another password never connects; both
   * get an 'error' event with code 'wrong_password'.
   */
  password?: string;
  /** STUN/TURN servers (TURN credentials included). Default: none (host candidates only). */
  iceServers?: IceServer[];
  /** JWT for the signaling server (when joinRoom connects it). */
  token?: string | (() => string);
  /** Fields added to this peer's signaling presence (when joinRoom connects it). */
  meta?: Record<string, unknown>;
  /** Direct connections per peer (default 6); bigger rooms keep a partial mesh and gossip. */
  maxDirectPeers?: number;
  /**
   * 'fallback' (default): frames go through the signaling server until a data channel is open, or
   * when none can be made. 'never': data channels only. 'always': the server relays everything
   * (no WebRTC needed). On the relay the server sees who talks to whom and how much; without a
   * password it can also read the frames.
   */
  relay?: 'fallback' | 'never' | 'always';
  /** A WebRTC implementation for Node: e.g. the `@roamhq/wrtc` module or `node-datachannel/polyfill`. */
  rtcPolyfill?: RtcImplementation;
  /** How long typing shows after the last keystroke (default 3000 ms). */
  typingTimeoutMs?: number;
}

/** How a peer is reached. */
export interface PeerInfo {
  /** Whether this peer has a channel of its own to it (data channel or relay). */
  direct: boolean;
  /** 'gossip': no channel of its own; messages travel through other peers. */
  via: 'datachannel' | 'relay' | 'gossip';
  /** Last round-trip time measured on the channel, or null. */
  rttMs: number | null;
  /** Direct: whether its sync reply has arrived; gossip: whether the room is synced. */
  synced: boolean;
}

/** What actions carry: JSON values, strings, or bytes (which arrive as a Uint8Array). */
export type ActionData = JsonValue | string | Uint8Array | ArrayBuffer | ArrayBufferView;
type Received<T> = T extends ArrayBuffer | ArrayBufferView ? Uint8Array : T;

export interface SendOptions {
  /** A peer id or several (default: everyone in the room). */
  to?: string | string[] | null;
  /** Any JSON value (at most 4096 bytes as JSON), given to the receivers' callbacks. */
  metadata?: JsonValue;
  /** Outgoing progress per recipient: fraction of the payload handed to the network. */
  onProgress?: (fraction: number, peerId: string, metadata: JsonValue | undefined) => void;
}

/**
 * send resolves once the payload was handed to the network for every recipient (at once when
 * nobody is there); it rejects with a RoomError ('busy', 'too_large', 'bad_target', 'closed',
 * 'aborted' when every recipient left meanwhile). Bad arguments throw a TypeError at once.
 */
export type ActionSender<T> = (data: T, options?: SendOptions) => Promise<void>;
export type ActionReceiver<T> = (cb: (data: Received<T>, peerId: string, metadata: JsonValue | undefined) => void) => () => void;
/** Incoming progress: fraction of the payload received from peerId (large payloads come in chunks). */
export type ActionProgress = (cb: (fraction: number, peerId: string, metadata: JsonValue | undefined) => void) => () => void;

export interface PresenceChange {
  typing: boolean;
}

export interface Presence<S extends Record<string, unknown> = Record<string, any>> {
  /** Publishes this peer's state (a JSON object, at most 4096 bytes as JSON). RangeError when larger. */
  set(state: S): void;
  /** A peer's state ({} until it sets one), this peer's own with room.peerId; undefined when gone. */
  get(peerId: string): S | undefined;
  /** Every other peer's state by peer id. */
  getAll(): Record<string, S>;
  /** cb(peerId, state, { typing }) on every change; state undefined: the peer is gone. Returns an unsubscribe function. */
  onChange(cb: (peerId: string, state: S | undefined, change: PresenceChange) => void): () => void;
  /** A keystroke: this peer shows as typing until typingTimeoutMs after the last call. */
  typing(): void;
  setTyping(typing: boolean): void;
  isTyping(peerId: string): boolean;
  /** The other peers typing now. */
  typingPeers(): string[];
}

/** Counters of the room core since the room was joined (or rejoined). */
export interface RoomStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Undecodable frames received. */
  garbage: number;
  /** Peers dropped for breaking the protocol. */
  violations: number;
  /** Messages received again (gossip) and dropped. */
  duplicates: number;
  /** Messages forwarded for other peers (gossip). */
  relayed: number;
  openChannels: number;
  peers: number;
}

export interface RoomEvents {
  'peer-join': (peerId: string) => void;
  /** reason: 'bye' (it left), 'left' (signaling lost it), 'rejoin' (this peer rejoined, see below), ... */
  'peer-leave': (peerId: string, reason: string) => void;
  /** The document caught up with the room (true), or lost every connection to it (false). */
  synced: (synced: boolean) => void;
  'peer-synced': (peerId: string, synced: boolean) => void;
  presence: (peerId: string, state: Record<string, any> | undefined) => void;
  typing: (peerId: string, typing: boolean) => void;
  /**
   * Signaling came back under another peer id (after a connection loss, when the server could not
   * give the old one back): the room started over under the new id. Every peer was reported as
   * left ('rejoin') and joins again; the document syncs again, presence is re-published, sends in
   * flight were rejected ('aborted').
   */
  rejoin: (peerId: string, previousPeerId: string) => void;
  /** Problems, none of them fatal unless said so (RoomError, or TransportError such as 'wrong_password'). */
  error: (err: RoomError | TransportError) => void;
  leave: () => void;
}

export interface Room {
  /** The room name. */
  readonly name: string;
  /** This peer's id (its signaling peer id; a 'rejoin' event says when it changed). */
  readonly peerId: string;
  readonly doc: Doc;
  readonly signaling: Signaling;
  readonly presence: Presence;
  /** Whether the document has caught up with the room (true alone in the room). */
  readonly synced: boolean;
  readonly left: boolean;
  /** The room core's counters (the last ones after leave()). */
  stats(): RoomStats;
  /** Resolves once the document has caught up (at once if it has). */
  whenSynced(): Promise<void>;
  /** Ids of every other peer in the room. */
  getPeers(): string[];
  /** How a peer is reached, or undefined for a peer not in the room. */
  peerInfo(peerId: string): PeerInfo | undefined;
  /** cb for every peer in the room now, then for each that joins. Returns an unsubscribe function. */
  onPeerJoin(cb: (peerId: string) => void): () => void;
  onPeerLeave(cb: (peerId: string, reason: string) => void): () => void;
  on<E extends keyof RoomEvents>(event: E, cb: RoomEvents[E]): () => void;
  off<E extends keyof RoomEvents>(event: E, cb: RoomEvents[E]): void;
  /** [send, onMessage, onProgress] for one action name (1 to 64 UTF-8 bytes); the same triple for the same name. */
  makeAction<T extends ActionData = ActionData>(name: string): [ActionSender<T>, ActionReceiver<T>, ActionProgress];
  /**
   * Starts (or joins) the room's audio/video call: media goes peer to peer over the room's
   * RTCPeerConnections (browsers only). Resolves once the local media is there and the others are
   * told; rejects with a RoomError: 'media_denied' (permission refused), 'no_device',
   * 'media_failed', 'no_media' (no getUserMedia here), 'busy' (in a call already), 'closed'.
   */
  call(options?: CallOptions): Promise<Call>;
  /** Says bye, closes every connection and the signaling joinRoom opened. The document stays usable. */
  leave(): Promise<void>;
}

/**
 * Joins a room: resolves once signaling has joined (listen to 'synced' or await whenSynced() for
 * the document). Bad options reject with a TypeError.
 */
export function joinRoom(options: JoinRoomOptions): Promise<Room>;

// ---------------------------------------------------------------- calls (js/room/call.js)

// The DOM's media types, declared empty so these declarations also compile without lib "dom"
// (in a browser project they merge with the DOM's own).
declare global {
  interface MediaStream {}
  interface MediaStreamTrack {}
  interface MediaTrackConstraints {}
}

export interface CallOptions {
  /** getUserMedia constraints for the microphone (default true). */
  audio?: boolean | MediaTrackConstraints;
  /** getUserMedia constraints for the camera (default true). */
  video?: boolean | MediaTrackConstraints;
  /** A stream of your own instead of getUserMedia (the call does not stop its tracks). */
  stream?: MediaStream;
  /** The most people in one call, this peer included (2 to 8, default 4; every member must use the same). */
  maxPeers?: number;
}

/** Whether media with a peer flows: 'connecting' (WebRTC is (re)connecting), 'live' (its tracks
 * arrived), 'unreachable' (no RTCPeerConnection of its own: beyond maxDirectPeers, or relay 'always'). */
export type CallMedia = 'connecting' | 'live' | 'unreachable';

/** What every member sees of a member: mute and camera as it set them, talking as measured here. */
export interface CallPeerState {
  id: string;
  muted: boolean;
  camera: boolean;
  talking: boolean;
  /** Other members only: their audio/video (tracks come and go; 'track' says when). */
  stream?: MediaStream;
  media?: CallMedia;
}

export interface CallPeer extends CallPeerState {
  stream: MediaStream;
  media: CallMedia;
}

export interface CallEvents {
  /** A member is in the call (also for those already there when this peer joined). */
  'peer-joined': (peer: CallPeer) => void;
  /** reason: 'bye' (left the call), 'left' (left the room), 'full' (displaced beyond maxPeers). */
  'peer-left': (peerId: string, reason: string) => void;
  /** A remote track arrived (or replaced one of its kind) in the member's stream. */
  track: (peerId: string, stream: MediaStream, track: MediaStreamTrack) => void;
  /** Mute, camera, talking or media of a member changed (this peer's own too, under room.peerId). */
  state: (peerId: string, state: CallPeerState) => void;
  /** RoomError: 'call_full' (this peer came too late: the call ends), 'no_media_route' (a member
   * without a WebRTC connection: no media with it), 'bad_call_state', 'listener_error'. */
  error: (err: RoomError) => void;
  /** The call ended here: 'left' (leave() or the room was left) or 'full'. */
  leave: (state: 'left' | 'full') => void;
}

export interface Call {
  readonly localStream: MediaStream;
  /** 'joined', then 'left' or 'full'. */
  readonly state: 'joined' | 'left' | 'full';
  readonly muted: boolean;
  readonly camera: boolean;
  /** Whether this peer talks now (microphone level). */
  readonly talking: boolean;
  readonly maxPeers: number;
  /** When this peer joined (ms since the epoch). */
  readonly joinedAt: number;
  /** When the call began as its members see it: the earliest join among them. */
  readonly startedAt: number;
  /** The other members. */
  peers(): CallPeer[];
  peer(peerId: string): CallPeer | undefined;
  /** Mutes or unmutes the microphone (silence is sent; the others see the state). */
  setMuted(muted: boolean): void;
  /** Turns the camera off (black frames) or on; the others see the state. */
  setCamera(on: boolean): void;
  on<E extends keyof CallEvents>(event: E, cb: CallEvents[E]): () => void;
  /** Leaves the call (the others are told); a stream the call opened is stopped. */
  leave(): Promise<void>;
}
