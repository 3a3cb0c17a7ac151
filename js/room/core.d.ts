// Type declarations for js/room/core.js: the C++ room core (sans-I/O) on the wasm build.
import type { Doc } from '../index.js';

export type RoomOutput =
  | { kind: 'transmit'; peer: string; bytes: Uint8Array; lane: 0 | 1 | 2 }
  | { kind: 'connect'; peer: string; polite: boolean }
  | { kind: 'disconnect'; peer: string; reason: string }
  | { kind: 'peerUp'; peer: string }
  | { kind: 'peerDown'; peer: string; reason: string }
  /** peer '' : the room as a whole. */
  | { kind: 'synced'; peer: string; synced: boolean }
  | { kind: 'docChanged'; peer: string; flags: number }
  | { kind: 'action'; peer: string; id: number; name: string; metadata: string; bytes: Uint8Array }
  | { kind: 'actionProgress'; peer: string; id: number; name: string; metadata: string; got: number; total: number; outgoing: boolean }
  | { kind: 'actionAbort'; peer: string; id: number }
  | { kind: 'presence'; peer: string; present: boolean; state: Uint8Array }
  | { kind: 'typing'; peer: string; typing: boolean }
  | { kind: 'rtt'; peer: string; ms: number }
  | { kind: 'protocolError'; peer: string; code: string; message: string };

export type SendCode = 'ok' | 'busy' | 'too_large' | 'bad_name' | 'bad_metadata' | 'bad_target' | 'closed';

export interface RoomCoreOptions {
  /** This peer's id (the signaling peer_id). */
  self: string;
  /** The document the room keeps in sync (the core applies remote updates to it directly). */
  doc: Doc;
  /** PRNG seed (default: random). Same seed and inputs, same outputs. */
  seed?: number;
  /** The clock every input uses (ms, monotonic, e.g. performance.now()). */
  now?: number;
  maxDirectPeers?: number;
  heartbeatMs?: number;
  presenceTtlMs?: number;
  pingEveryMs?: number;
  peerTimeoutMs?: number;
  connectTimeoutMs?: number;
  syncTimeoutMs?: number;
  antiEntropyMs?: number;
  typingTimeoutMs?: number;
  chunkBytes?: number;
  maxFrameBytes?: number;
  maxMessageBytes?: number;
  maxInflightBytes?: number;
  maxOutboundBytesPerPeer?: number;
  maxPresenceBytes?: number;
}

export function createRoomCore(options: RoomCoreOptions): Promise<RoomCore>;

export class RoomCore {
  readonly doc: Doc;
  readonly self: string;
  peerJoined(peer: string, now: number): void;
  peerLeft(peer: string, now: number): void;
  peersListed(now: number): void;
  channelOpen(peer: string, now: number): void;
  channelClosed(peer: string, now: number): void;
  channelBuffered(peer: string, bytes: number, now: number): void;
  /** The transport skipped frames from `peer` that never arrived: resync with it now. */
  framesLost(peer: string, now: number): void;
  handleFrame(peer: string, data: Uint8Array | ArrayBuffer, now: number): void;
  localUpdate(update: Uint8Array, now: number): boolean;
  sendAction(name: string, payload: Uint8Array | ArrayBuffer, options: { to?: string[]; metadata?: string } | undefined,
    now: number): { code: SendCode; id: number; recipients: number };
  setPresence(state: Uint8Array, now: number): boolean;
  setTyping(typing: boolean, now: number): void;
  leave(now: number): void;
  handleTimeout(now: number): void;
  pollTimeout(): number | null;
  drain(): RoomOutput[];
  readonly synced: boolean;
  peerSynced(peer: string): boolean;
  members(): string[];
  openPeers(): string[];
  presenceOf(peer: string): Uint8Array | null;
  stats(): Record<string, number>;
  emitDocChange(out: { flags: number }, origin: unknown): void;
  destroy(): void;
}
