// roomsync rooms: `joinRoom` (js/room/room.js) on @roamhq/wrtc (`rtcPolyfill`), through our own
// signaling server (`node js/cli.js serve`, a child process on a free loopback port), the
// document from js/index.js, default options otherwise.
//
// This slot is written against the API of issue 7 (joinRoom, room.getPeers, room.peerInfo,
// room.onPeerJoin/onPeerLeave, room.on('synced'), room.makeAction, room.leave). Until
// js/room/room.js exports joinRoom, unavailable() says so and rooms.js prints "not available
// yet" in this column: no figure is ever made up.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, pkgVersion } from '../traces.js';

export const name = 'roomsync';
export const label = 'roomsync joinRoom';
export const scenarios = ['connect', 'keystroke', 'latejoin', 'latejoin-rustcode', 'latejoin-big', 'typing3', 'bulk', 'room30'];
export const version = () => `roomsync ${JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version}, @roamhq/wrtc ${pkgVersion('@roamhq/wrtc')}`;
export const notes = 'joinRoom with rtcPolyfill = @roamhq/wrtc, our signaling server (js/cli.js serve)';
// A peer's frames go through the signaling relay until its data channel opens, and the room has
// no event for that switch: peer.js re-checks openPeers() this often while waiting for it (only
// then: never during a measurement).
export const openPollMs = 1;

const ROOM_MODULE = path.join(REPO, 'js/room/room.js');
const INDEX_MODULE = path.join(REPO, 'js/index.js');

export async function unavailable() {
  if (!existsSync(ROOM_MODULE)) return 'not available yet (js/room/room.js does not exist)';
  try {
    const m = await import(pathToFileURL(ROOM_MODULE).href);
    if (typeof m.joinRoom !== 'function') return 'not available yet (js/room/room.js does not export joinRoom)';
  } catch (e) {
    return `not available yet (js/room/room.js fails to load: ${String(e.message).split('\n')[0]})`;
  }
  if (!existsSync(path.join(REPO, 'dist/roomsync.wasm'))) return 'dist/roomsync.wasm is missing (scripts/build.sh wasm)';
  return null;
}

export async function startSignaling({ port }) {
  const child = spawn(process.execPath, [path.join(REPO, 'js/cli.js'), 'serve', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`roomsync signaling server exited (${child.exitCode})`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill(); throw new Error('roomsync signaling server did not start within 10 s'); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `ws://127.0.0.1:${port}/socket`,
    child, // killed by rooms.js if it exits early
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill();
      await gone;
    },
  };
}

let joinRoom = null;
let createDoc = null;
let wrtc = null;
export async function warmPeer() {
  if (joinRoom) return;
  wrtc = (await import('@roamhq/wrtc')).default;
  ({ createDoc } = await import(pathToFileURL(INDEX_MODULE).href));
  ({ joinRoom } = await import(pathToFileURL(ROOM_MODULE).href));
  (await createDoc()).destroy(); // instantiate the wasm module now, not inside a timed run
}

const states = new Map(); // spec -> encodeState() of the built document
export async function prepare(spec, buildInto) {
  await warmPeer();
  if (!states.has(spec)) {
    const doc = await createDoc();
    buildInto(spec, doc, doc.getText('text'));
    states.set(spec, doc.encodeState());
    doc.destroy();
  }
  return { stateBytes: states.get(spec).length };
}

export async function createPeer(env, { notify }) {
  await warmPeer();
  let doc = null;
  let text = null;
  let room = null;
  let onRemote = null;
  let onBytes = null;
  let sendBulk = null;
  const errors = {};

  const viaChannel = () => {
    let n = 0;
    for (const id of room.getPeers()) {
      const info = room.peerInfo(id);
      if (info && info.direct && info.via === 'datachannel' && info.synced) n++;
    }
    return n;
  };

  return {
    async join({ room: name, signaling, spec, maxDirectPeers }) {
      doc = await createDoc(spec ? { state: states.get(spec) } : {});
      text = doc.getText('text');
      text.observe((e) => {
        if (e.transaction?.local) return;
        if (onRemote) onRemote();
        notify();
      });
      room = await joinRoom({ signaling, room: name, doc, rtcPolyfill: wrtc, ...(maxDirectPeers ? { maxDirectPeers } : {}) });
      room.onPeerJoin(notify);
      room.onPeerLeave(notify);
      room.on('synced', notify);
      room.on('peer-synced', notify);
      // Counted, not printed (the room logs errors nobody listens to): in stats() and describe().
      room.on('error', (e) => { errors[e.code] = (errors[e.code] || 0) + 1; });
      const [send, onMessage] = room.makeAction('bulk');
      sendBulk = send;
      onMessage((data) => { if (onBytes) onBytes(data); });
    },
    openPeers: () => (room ? viaChannel() : 0),
    keystroke(ch) { text.insert(text.length, ch); },
    onRemote(cb) { onRemote = cb; },
    textLength: () => text.length,
    text: () => text.toString(),
    async sendBytes(u8) { await sendBulk(u8); },
    onBytes(cb) { onBytes = cb; },
    // Direct connections, and the core's frame counter (room._core is internal: read here only
    // because the room has no public statistics yet).
    stats() {
      if (!room) return {};
      const peers = room.getPeers();
      const core = room._core?.stats?.();
      return { peers: peers.length, connections: peers.filter((id) => room.peerInfo(id)?.direct).length, framesSent: core ? core.framesOut : null, duplicates: core ? core.duplicates : null, errors: { ...errors } };
    },
    // How this peer reaches the others: counts by route, and how many of those are synced.
    describe() {
      if (!room) return 'not in a room';
      const by = {};
      for (const id of room.getPeers()) {
        const i = room.peerInfo(id);
        const k = i ? i.via : 'gone';
        by[k] = by[k] || { peers: 0, synced: 0 };
        by[k].peers++;
        if (i?.synced) by[k].synced++;
      }
      return { roomSynced: room.synced, ...by, ...(Object.keys(errors).length ? { errors } : {}) };
    },
    async leave() {
      onRemote = null;
      onBytes = null;
      await room?.leave();
      room = null;
      doc?.destroy();
    },
  };
}
