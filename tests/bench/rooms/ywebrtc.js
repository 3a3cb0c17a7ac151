// Yjs + y-webrtc as their users run them: y-webrtc's own signaling server
// (node_modules/y-webrtc/bin/server.js, a child process on a free port, reached on 127.0.0.1),
// a WebrtcProvider per peer, simple-peer on @roamhq/wrtc through `peerOpts: { wrtc }`, default
// options otherwise.
//
// Browser globals y-webrtc needs in Node 20 (found by running it; this is all of it):
//   WebSocket   lib0/websocket calls `new WebSocket(url)`; Node 20 has no global WebSocket, so the
//               `ws` package's class is installed as globalThis.WebSocket.
// Not needed: RTCPeerConnection (simple-peer takes it from `peerOpts.wrtc`); crypto.subtle and
// crypto.getRandomValues (Node 20 has globalThis.crypto; subtle is used only with a password);
// BroadcastChannel (Node 20 has one; it reaches only this process, and every peer is its own
// process, so y-webrtc's cross-tab path stays idle as between two browsers); localStorage (lib0
// falls back to an in-memory store).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO, pkgVersion } from '../traces.js';

export const name = 'ywebrtc';
export const label = 'Yjs + y-webrtc';
export const scenarios = ['connect', 'keystroke', 'latejoin', 'latejoin-rustcode', 'latejoin-big', 'typing3'];
export const version = () => `y-webrtc ${pkgVersion('y-webrtc')}, yjs ${pkgVersion('yjs')}`;
export const notes = 'WebrtcProvider with its own signaling server, simple-peer on @roamhq/wrtc (peerOpts.wrtc)';

export async function unavailable() {
  try {
    await import('y-webrtc');
    return null;
  } catch (e) {
    return `y-webrtc cannot be loaded: ${e.message}`;
  }
}

// y-webrtc's server listens on every address of the (private) namespace; peers use 127.0.0.1.
export async function startSignaling({ port }) {
  const child = spawn(process.execPath, [path.join(REPO, 'node_modules/y-webrtc/bin/server.js')], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('y-webrtc signaling server did not start within 10 s')), 10_000);
    child.stdout.on('data', (d) => { if (String(d).includes('running')) { clearTimeout(timer); resolve(); } });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`y-webrtc signaling server exited (${code})`)); });
  });
  child.stdout.resume();
  return {
    url: `ws://127.0.0.1:${port}`,
    child, // killed by rooms.js if it exits early
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill();
      await gone;
    },
  };
}

let Y = null;
let WebrtcProvider = null;
let wrtc = null;
export async function warmPeer() {
  if (Y) return;
  if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = (await import('ws')).WebSocket;
  wrtc = (await import('@roamhq/wrtc')).default;
  Y = await import('yjs');
  ({ WebrtcProvider } = await import('y-webrtc'));
}

const states = new Map(); // spec -> encodeStateAsUpdate of the built document
export async function prepare(spec, buildInto) {
  await warmPeer();
  if (!states.has(spec)) {
    const doc = new Y.Doc();
    buildInto(spec, doc, doc.getText('text'));
    states.set(spec, Y.encodeStateAsUpdate(doc));
    doc.destroy();
  }
  return { stateBytes: states.get(spec).length };
}

export async function createPeer(env, { notify }) {
  await warmPeer();
  let doc = null;
  let text = null;
  let provider = null;
  let onRemote = null;

  return {
    async join({ room, signaling, spec }) {
      doc = new Y.Doc();
      if (spec) Y.applyUpdate(doc, states.get(spec));
      text = doc.getText('text');
      text.observe((e) => {
        if (e.transaction.local) return;
        if (onRemote) onRemote();
        notify();
      });
      provider = new WebrtcProvider(room, doc, { signaling: [signaling], peerOpts: { wrtc } });
      // y-webrtc says nothing when a peer's channel opens or syncs: watch its simple-peer.
      provider.on('peers', ({ added }) => {
        for (const id of added) {
          const conn = provider.room?.webrtcConns.get(id);
          if (!conn) continue;
          conn.peer.on('connect', notify);
          conn.peer.on('data', notify); // after y-webrtc's own handler, which sets conn.synced
          conn.peer.on('close', notify);
        }
        notify();
      });
      // In the room once the signaling connection is up (y-webrtc announces the room then).
      const conn = provider.signalingConns[0];
      if (!conn.connected) await new Promise((resolve) => conn.once('connect', resolve));
    },
    // y-webrtc marks a connection synced only while the room as a whole is not (a second
    // connection that syncs after the first one stays synced: false), so the room's flag counts too.
    openPeers() {
      const room = provider?.room;
      let n = 0;
      room?.webrtcConns.forEach((c) => { if (c.connected && (c.synced || room.synced)) n++; });
      return n;
    },
    keystroke(ch) { text.insert(text.length, ch); },
    onRemote(cb) { onRemote = cb; },
    textLength: () => text.length,
    text: () => text.toString(),
    async sendBytes() { throw new Error('y-webrtc has no message API'); },
    onBytes() { throw new Error('y-webrtc has no message API'); },
    // Its WebRTC connections as y-webrtc sees them, and the signaling connection.
    describe() {
      const conns = [];
      provider?.room?.webrtcConns.forEach((c) => conns.push({ connected: c.connected, synced: c.synced, closed: c.closed }));
      return { signaling: provider?.signalingConns[0]?.connected ?? false, roomSynced: provider?.room?.synced, conns, chars: text?.length };
    },
    async leave() {
      onRemote = null;
      provider?.destroy();
      doc?.destroy();
      await new Promise((r) => setTimeout(r, 20)); // provider.destroy finishes after a tick
    },
  };
}
