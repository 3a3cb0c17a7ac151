// Shared helpers for the WebRTC transport tests: our signaling server in-process, Node peers on
// @roamhq/wrtc, a wire sniffer and an RTC wrapper whose direct connections always fail.
import { WebSocket } from 'ws';
import wrtc from '@roamhq/wrtc';
import { createServer } from '../../../js/server/index.js';
import { connectSignaling } from '../../../js/signaling.js';
import { PeerTransport } from '../../../js/room/transport.js';
import { assertPrivateNetns } from './netns.js';

export { wrtc };

// Refuse to run WebRTC in the host's network namespace (see scripts/netns.sh).
assertPrivateNetns();

/** Our signaling server on an ephemeral loopback port, default rate limits, quiet. */
export function startServer(opts = {}) {
  return createServer({ port: 0, host: '127.0.0.1', logger: process.env.TEST_LOG_LEVEL || 'silent', staticDirs: [], ...opts });
}

/** A WebSocket class for phoenix that records every frame the client puts on the wire. */
export function sniffingWebSocket(wire) {
  return class SniffingWebSocket extends WebSocket {
    send(data, ...rest) {
      wire.push(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data));
      return super.send(data, ...rest);
    }
  };
}

/**
 * An rtc "polyfill" around @roamhq/wrtc whose peer connections cannot connect directly while
 * isBlocked() is true: remote
 * candidates are dropped and candidate lines are stripped from remote descriptions, as if a
 * symmetric NAT or a UDP block stood between the peers (both sides must use it).
 */
export function blockableRtc(isBlocked) {
  return {
    ...wrtc,
    RTCPeerConnection: class extends wrtc.RTCPeerConnection {
      addIceCandidate(candidate) {
        return isBlocked() ? Promise.resolve() : super.addIceCandidate(candidate);
      }
      setRemoteDescription(desc) {
        if (isBlocked() && desc && typeof desc.sdp === 'string') desc = { type: desc.type, sdp: desc.sdp.replace(/^a=candidate:.*\r?\n/gm, '') };
        return super.setRemoteDescription(desc);
      }
    },
  };
}

export const unreachableRtc = blockableRtc(() => true);

/** Polls `fn` until it returns truthy; rejects after `timeoutMs` (a hang guard, not a timing test). */
export async function waitUntil(fn, { timeoutMs = 30_000, intervalMs = 10, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A Node peer: a Signaling joined to `room` and a PeerTransport over it, with everything the
 * callbacks report recorded: frames[from] (Uint8Array[]), opens ([peerId, via]), closes, errors.
 */
const live = new Set();

/** Closes every peer still open (an after() hook: a failed test must not keep the process alive). */
export async function closeAll() {
  await Promise.allSettled([...live].map((p) => p.close()));
}

export async function makePeer(srv, room, { wire, onFrame, ...opts } = {}) {
  const signaling = await connectSignaling({
    url: srv.url,
    room,
    timeout: 5000,
    ...(wire ? { transport: sniffingWebSocket(wire) } : {}),
  });
  const peer = { signaling, id: signaling.peerId, frames: new Map(), opens: [], closes: [], errors: [], drains: 0 };
  peer.transport = new PeerTransport({
    signaling,
    rtc: wrtc,
    roomName: room,
    connectTimeoutMs: 10_000, // generous: a loaded CI machine must not look like a failed connection
    ...opts,
    onFrame: (from, bytes) => {
      if (onFrame) return onFrame(from, bytes);
      if (!peer.frames.has(from)) peer.frames.set(from, []);
      peer.frames.get(from).push(bytes.slice());
    },
    onChannelOpen: (id, via) => peer.opens.push([id, via]),
    onChannelClosed: (id) => peer.closes.push(id),
    onError: (err) => peer.errors.push(err),
    onDrain: () => peer.drains++,
  });
  peer.received = (from) => peer.frames.get(from) || [];
  live.add(peer);
  peer.close = async () => {
    live.delete(peer);
    await peer.transport.close();
    await signaling.leave();
  };
  return peer;
}

/** Resolves when `peer` has an open route of kind `via` to `otherId`. */
export function opened(peer, otherId, via = 'datachannel') {
  return waitUntil(() => peer.transport.route(otherId) === via, { message: `${via} from ${peer.id} to ${otherId}` });
}

/** Frame i of a numbered stream: 4-byte index then filler derived from it (checkable on arrival). */
export function numbered(i, size = 32) {
  const b = new Uint8Array(Math.max(4, size));
  new DataView(b.buffer).setUint32(0, i);
  for (let j = 4; j < b.length; j++) b[j] = (i + j) & 255;
  return b;
}

/** The indices of numbered frames, after checking each frame's filler. */
export function indices(frames) {
  return frames.map((b) => {
    const i = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
    for (let j = 4; j < b.length; j++) if (b[j] !== ((i + j) & 255)) throw new Error(`frame ${i} corrupted at byte ${j}`);
    return i;
  });
}

export const range = (n) => Array.from({ length: n }, (_, i) => i);
