// One benchmark peer in a Chromium page, driven by tests/bench/rooms/chromium.js through
// window.bench. The same steps as the Node peers (../peer.js), for three kinds of peer:
//   raw        an RTCPeerConnection with one ordered, reliable data channel; offer and answer go
//              through the orchestrator (rawOffer / rawAnswer / rawAccept), complete with their
//              candidates (no trickle: connecting is not timed here)
//   ywebrtc    Yjs + y-webrtc (an esbuild bundle of node_modules, /bench-lib/ywebrtc.js) with
//              y-webrtc's own signaling server
//   roomsync   createDoc + joinRoom from /js/index.js through our signaling server
// Times are this page's performance.now(); one-way latency = round trip / 2, so no clock is
// compared across pages.
const now = () => performance.now();
const KEY = new Uint8Array(24).fill(97); // raw keystroke: about one one-character update

let kind = null;
let lib = null; // the loaded library module
const states = new Map(); // spec -> document bytes this page starts with when it joins with { spec }
const wants = new Map(); // spec -> the text a late joiner must reach
let cur = null; // this run: { doc, text, room | provider | pc, dc }
let tJoin = 0;
let onRemote = null;
const watchers = new Set(); // conditions re-checked on every event

const notify = () => { for (const w of [...watchers]) w(); };
const remote = () => { if (onRemote) onRemote(); notify(); };
// A macrotask turn without setTimeout's 4 ms clamp for nested timers.
const turn = () => new Promise((resolve) => { const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(); ch.port2.postMessage(0); });

// Resolves with value() once cond() holds (checked now, on every event and every pollMs), or
// with { timeout, state } after timeoutMs.
function until(cond, value, timeoutMs, pollMs = 0) {
  return new Promise((resolve) => {
    let poll = null;
    const check = () => {
      if (!cond()) return;
      watchers.delete(check);
      clearTimeout(timer);
      clearInterval(poll);
      resolve(value());
    };
    const timer = setTimeout(() => { watchers.delete(check); clearInterval(poll); resolve({ timeout: timeoutMs, state: describe() }); }, timeoutMs);
    watchers.add(check);
    if (pollMs) poll = setInterval(check, pollMs);
    check();
  });
}

const fromBase64 = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

// ---------------------------------------------------------------- per kind
const kinds = {
  roomsync: {
    async load() {
      lib = await import('/js/index.js');
      (await lib.createDoc()).destroy(); // instantiate the wasm now, not inside a timed run
    },
    async join({ room, signaling }, start) {
      const doc = await lib.createDoc(start ? { state: start } : {});
      const text = doc.getText('text');
      text.observe((e) => { if (!e.transaction?.local) remote(); });
      cur = { doc, text };
      cur.room = await lib.joinRoom({ signaling, room, doc });
      cur.room.on('peer-synced', notify);
      cur.room.on('synced', notify);
      cur.room.on('error', () => {}); // counted nowhere: a failed run shows as a timeout
    },
    // Peers with a synced data channel (a peer first talks through the relay, with no event
    // when it switches: waitOpen polls).
    openPeers() {
      let n = 0;
      for (const id of cur.room.getPeers()) {
        const i = cur.room.peerInfo(id);
        if (i && i.direct && i.via === 'datachannel' && i.synced) n++;
      }
      return n;
    },
    keystroke(ch) { cur.text.insert(cur.text.length, ch); },
    describe() {
      const by = {};
      for (const id of cur.room.getPeers()) {
        const i = cur.room.peerInfo(id);
        const k = i ? i.via : 'gone';
        by[k] = by[k] || { peers: 0, synced: 0 };
        by[k].peers++;
        if (i?.synced) by[k].synced++;
      }
      return { roomSynced: cur.room.synced, chars: cur.text.length, ...by };
    },
    async leave() {
      await cur.room?.leave();
      cur.doc.destroy();
    },
  },

  ywebrtc: {
    async load() { lib = await import('/bench-lib/ywebrtc.js'); },
    async join({ room, signaling }, start) {
      const { Y, WebrtcProvider } = lib;
      const doc = new Y.Doc();
      if (start) Y.applyUpdate(doc, start);
      const text = doc.getText('text');
      text.observe((e) => { if (!e.transaction.local) remote(); });
      cur = { doc, text };
      // Pages are in separate browser contexts, so y-webrtc's BroadcastChannel path between
      // tabs stays idle and everything goes over WebRTC, as between two browsers.
      cur.provider = new WebrtcProvider(room, doc, { signaling: [signaling] });
      cur.provider.on('peers', ({ added }) => {
        for (const id of added) {
          const c = cur.provider.room?.webrtcConns.get(id);
          if (!c) continue;
          c.peer.on('connect', notify);
          c.peer.on('data', notify); // after y-webrtc's own handler, which sets c.synced
          c.peer.on('close', notify);
        }
        notify();
      });
      const sc = cur.provider.signalingConns[0];
      if (!sc.connected) await new Promise((resolve) => sc.once('connect', resolve));
    },
    // As the Node adapter: a connection counts once connected and synced (or the room is).
    openPeers() {
      const r = cur.provider.room;
      let n = 0;
      r?.webrtcConns.forEach((c) => { if (c.connected && (c.synced || r.synced)) n++; });
      return n;
    },
    keystroke(ch) { cur.text.insert(cur.text.length, ch); },
    describe() {
      const conns = [];
      cur.provider.room?.webrtcConns.forEach((c) => conns.push({ connected: c.connected, synced: c.synced, closed: c.closed }));
      return { signaling: cur.provider.signalingConns[0]?.connected ?? false, roomSynced: cur.provider.room?.synced, conns, chars: cur.text.length };
    },
    async leave() {
      cur.provider.destroy();
      cur.doc.destroy();
      await new Promise((r) => setTimeout(r, 20)); // provider.destroy finishes after a tick
    },
  },

  raw: {
    async load() {},
    async join() {
      cur = { pc: new RTCPeerConnection({ iceServers: [] }), dc: null };
    },
    openPeers: () => (cur.dc?.readyState === 'open' ? 1 : 0),
    keystroke() { cur.dc.send(KEY); },
    describe: () => ({ connection: cur.pc.connectionState, channel: cur.dc?.readyState ?? 'none' }),
    async leave() { cur.pc.close(); },
  },
};

function useChannel(dc) {
  dc.binaryType = 'arraybuffer';
  dc.onopen = notify;
  dc.onclose = notify;
  dc.onmessage = remote;
  cur.dc = dc;
}

// The local description once every candidate is in it.
async function gathered(pc) {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); }));
  }
  return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
}

function describe() {
  try {
    return cur ? kinds[kind].describe() : 'not in a room';
  } catch (e) {
    return `describe failed: ${e.message}`;
  }
}

// ---------------------------------------------------------------- steps
window.bench = {
  async init(k) {
    if (!kinds[k]) throw new Error(`unknown kind ${k}`);
    kind = k;
    await kinds[k].load();
    return true;
  },
  // Untimed: the document `spec` (base64 of roomsync encodeState / Yjs update) that this page
  // starts with when it joins with { spec }, and the text a late joiner must reach.
  prepare({ spec, b64 }) { states.set(spec, fromBase64(b64)); return states.get(spec).length; },
  expect({ spec, text }) { wants.set(spec, text); return text.length; },

  async join(args) {
    if (cur) throw new Error('join: already in a room (leave first)');
    tJoin = now();
    await kinds[kind].join(args, args.spec ? states.get(args.spec) : null);
    return now() - tJoin;
  },
  // The late joiner in one call, so that no round trip to the orchestrator can fall between the
  // sync and the moment the condition is first checked.
  async joinAndWaitText(args) {
    await this.join(args);
    return this.waitText(args);
  },
  waitOpen({ timeoutMs }) {
    return until(() => kinds[kind].openPeers() >= 1, () => ({ ms: now() - tJoin }), timeoutMs, kind === 'roomsync' ? 2 : 0);
  },
  // Time from join() until the text equals the document `want` (length first: cheap).
  waitText({ want: spec, timeoutMs }) {
    const want = wants.get(spec);
    return until(() => cur.text.length === want.length && cur.text.toString() === want, () => ({ ms: now() - tJoin }), timeoutMs);
  },

  rawOffer() {
    useChannel(cur.pc.createDataChannel('bench'));
    return cur.pc.createOffer().then((o) => cur.pc.setLocalDescription(o)).then(() => gathered(cur.pc));
  },
  async rawAnswer(offer) {
    cur.pc.ondatachannel = (e) => { useChannel(e.channel); notify(); };
    await cur.pc.setRemoteDescription(offer);
    await cur.pc.setLocalDescription(await cur.pc.createAnswer());
    return gathered(cur.pc);
  },
  async rawAccept(answer) { await cur.pc.setRemoteDescription(answer); return true; },

  // The echo side of the latency test: answer every remote keystroke with one of ours.
  echo() { onRemote = () => kinds[kind].keystroke('b'); return true; },

  // `count` round trips, one at a time; one-way = RTT / 2.
  async ping({ count, timeoutMs }) {
    const samples = [];
    let wake = null;
    onRemote = () => { if (wake) wake(); };
    try {
      for (let i = 0; i < count; i++) {
        const got = new Promise((resolve) => { wake = resolve; });
        const t0 = now();
        kinds[kind].keystroke('a');
        let timer;
        const late = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
        const r = await Promise.race([got, late]);
        clearTimeout(timer);
        if (r === 'timeout') return { samples, timeout: timeoutMs, state: describe() };
        samples.push((now() - t0) / 2);
        await turn(); // leave the event handler first
      }
      return { samples };
    } finally {
      onRemote = null;
    }
  },

  async leave() {
    watchers.clear();
    onRemote = null;
    const c = cur;
    if (!c) return true;
    try {
      await kinds[kind].leave();
    } finally {
      cur = null;
    }
    return true;
  },
};
window.benchReady = true;
