#!/usr/bin/env node
// Rooms benchmark: peers over real WebRTC data channels (@roamhq/wrtc), one Node process per
// peer, in three columns measured the same way by the same scenario code (tests/bench/rooms/):
//   raw       a bare RTCPeerConnection pair with one data channel (the floor)
//   ywebrtc   Yjs + y-webrtc with y-webrtc's own signaling server
//   roomsync  roomsync's joinRoom through our signaling server ("not available yet" until
//             js/room/room.js exports joinRoom)
// plus the late-joiner and keystroke rows with the same three columns in headless Chromium
// pages (scenario chromium, rooms/chromium.js) and the size of what a page ships (rooms/bundle.js).
//
//   scripts/netns.sh node tests/bench/rooms.js [--runs N] [--only raw,ywebrtc,roomsync]
//                 [--scenario connect,keystroke,latejoin,latejoin-rustcode,latejoin-big,typing3,bulk,chromium,room30]
//                 (default: all but room30, the 30-peer room, which alone takes minutes)
//                 [--quick] [--timeout S] [--big-timeout S] [--json FILE]
//
// It must run inside a private network namespace (WebRTC traffic may not leave this machine)
// and refuses otherwise. Prints medians with min and max across runs (every raw run is in
// bench-results/rooms.json); figures are printed, never asserted. See tests/bench/README.md.
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSizes, shippedSize } from './rooms/bundle.js';
import * as chromiumBench from './rooms/chromium.js';
import { unavailableSpec } from './rooms/docs.js';
import { CHUNK as RAW_CHUNK } from './rooms/raw.js';
import { REPO } from './traces.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADAPTERS = ['raw', 'ywebrtc', 'roomsync'];
const SCENARIOS = ['connect', 'keystroke', 'latejoin', 'latejoin-rustcode', 'latejoin-big', 'typing3', 'bulk', 'chromium', 'room30'];
// The 30-peer room starts 30 Node processes with WebRTC: one run of it alone takes one to four
// minutes on two cores, so it runs only when asked for (--scenario ... ,room30).
const DEFAULT_SCENARIOS = SCENARIOS.filter((s) => s !== 'room30');
// The document each late-joiner scenario syncs (rooms/docs.js).
const LATE_SPECS = { latejoin: 'automerge-paper', 'latejoin-rustcode': 'rustcode', 'latejoin-big': 'big' };
const KEYSTROKES = 300; // recorded round trips per keystroke run …
const KEY_WARM = 20; // … after this many unrecorded ones
const TYPED = 100; // characters each peer types in typing3 and room30
const BULK_BYTES = 16 * 1024 * 1024;
const ROOM30 = { peers: 30, maxDirectPeers: 6, wave: 5 };

// ---------------------------------------------------------------------------- namespace check
// WebRTC gathers candidates on every interface; outside a private namespace its packets could
// leave loopback. PID 1's namespace is the host's; where /proc/1 is not readable (EACCES in some
// containers), any ancestor process in another namespace shows that this one is private.
function netnsProblem() {
  const self = readlinkSync('/proc/self/ns/net');
  try {
    return readlinkSync('/proc/1/ns/net') === self ? 'this process shares the network namespace of PID 1' : null;
  } catch (e) {
    for (let pid = process.ppid; pid > 1;) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/net`) !== self) return null;
      } catch { /* an ancestor we may not inspect */ }
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    }
    return `cannot read /proc/1/ns/net (${e.code}) and no ancestor process is in another network namespace`;
  }
}

// ---------------------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = { runs: 5, only: ADAPTERS, scenarios: DEFAULT_SCENARIOS, quick: false, timeoutS: 10, bigTimeoutS: 10,
    json: path.join(REPO, 'bench-results', 'rooms.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const list = (v, allowed, what) => {
      const xs = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const x of xs) if (!allowed.includes(x)) throw new Error(`${what}: unknown ${x} (${allowed.join(', ')})`);
      return xs;
    };
    const num = (v, min) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < min) throw new Error(`${a}: expected a number >= ${min}, got ${v}`);
      return n;
    };
    if (a === '--runs') o.runs = Math.floor(num(val(), 1));
    else if (a === '--only') o.only = list(val(), ADAPTERS, '--only');
    else if (a === '--scenario' || a === '--scenarios') o.scenarios = list(val(), SCENARIOS, '--scenario');
    else if (a === '--quick') o.quick = true;
    else if (a === '--timeout') o.timeoutS = num(val(), 1);
    else if (a === '--big-timeout') o.bigTimeoutS = num(val(), 1);
    else if (a === '--json') o.json = path.resolve(val());
    else if (a === '-h' || a === '--help') {
      const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
      console.log(lines.slice(1, lines.findIndex((l, i) => i > 0 && !l.startsWith('//'))).join('\n')); // the header comment
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.quick) o.runs = 1;
  return o;
}

// ---------------------------------------------------------------------------- helpers
const now = () => performance.now();
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
// Nearest-rank percentile.
const percentile = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------- peer processes
const children = new Set();
const killAll = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); };
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130); });

// One child process running tests/bench/rooms/peer.js for one adapter. call() is an RPC over IPC;
// `signal` messages (raw adapter) are relayed to the addressed peer of the same group.
class PeerProc {
  constructor(adapter, index, group) {
    this.index = index;
    this.group = group;
    this.pending = new Map();
    this.nextId = 1;
    this.proc = fork(path.join(HERE, 'rooms', 'peer.js'), [adapter, String(index)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(this.proc);
    this.ready = new Promise((resolve, reject) => {
      this.proc.once('exit', (code) => reject(new Error(`${adapter} peer ${index} exited (${code}) before it was ready`)));
      this.proc.on('message', (m) => {
        if (m.t === 'ready') resolve();
        else if (m.t === 'signal') {
          const to = this.group[m.to];
          if (to && !to.exited && to.proc.connected) to.proc.send({ t: 'signal', from: this.index, room: m.room, data: m.data });
        }
        else if (m.t === 'reply') {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          if (m.ok) p.resolve(m.r); else p.reject(new Error(`${adapter} peer ${index}: ${m.error}`));
        }
      });
    });
    this.proc.on('error', () => { /* a send to an exited peer: its 'exit' rejects the calls */ });
    this.proc.on('exit', (code, signal) => {
      children.delete(this.proc);
      this.exited = signal || `exit code ${code}`;
      for (const p of this.pending.values()) p.reject(new Error(`${adapter} peer ${index} died (${this.exited})`));
      this.pending.clear();
    });
  }

  call(cmd, args = {}) {
    return new Promise((resolve, reject) => {
      if (this.exited || !this.proc.connected) { reject(new Error(`peer ${this.index} is gone (${this.exited || 'disconnected'})`)); return; }
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.proc.send({ t: 'call', id, cmd, args });
    });
  }

  async stop() {
    if (this.proc.exitCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.disconnect();
    await Promise.race([gone, sleep(2000)]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

async function spawnGroup(adapter, n) {
  const group = [];
  for (let i = 0; i < n; i++) group.push(new PeerProc(adapter, i, group));
  await Promise.all(group.map((p) => p.ready));
  return group;
}

// ---------------------------------------------------------------------------- scenarios
// Each returns one run's result; { timeout } when its condition was not met in time. Peers join
// a fresh room each run and leave it at the end (the processes are reused: no process start-up
// or library loading is ever timed).
let roomSeq = 0;
const freshRoom = (s) => `bench-${s}-${process.pid}-${++roomSeq}`;

// Peers join one after the other, each once the previous one is in the room: joining at the same
// instant makes y-webrtc's two peers offer to each other, and its glare handling then loses the
// connection for good in about one run in three. Returns the orchestrator time at the last join.
// The 30-peer room (roomsync only, perfect negotiation) joins in waves of ROOM30.wave at once
// (all 30 at once overloads two cores: joins then miss the signaling client's 10 s timeout).
async function joinAll(ctx, peers, extra = {}, { wave = 1 } = {}) {
  const room = freshRoom(ctx.scenario);
  const indexes = peers.map((p) => p.index);
  let tLast = 0;
  for (let i = 0; i < peers.length; i += wave) {
    tLast = now();
    await Promise.all(peers.slice(i, i + wave).map((p) => p.call('join', { room, signaling: ctx.signaling, peers: indexes, ...extra })));
  }
  return tLast;
}
const leaveAll = async (peers) => { await Promise.all(peers.map((p) => p.call('leave'))); await sleep(50); };
const firstTimeout = (rs) => rs.find((r) => r && r.timeout !== undefined);
// A timed-out wait: its limit and what each peer saw (adapters that can say).
const timedOut = (rs) => ({ timeout: firstTimeout(rs).timeout, peers: rs.map((r) => r.state).filter((x) => x !== undefined) });

const scenarios = {
  // A peer is in the room, a second one joins; time from the second join() until both have an
  // open channel (documents: and synced); orchestrator clock, IPC hops included (about 0.1 ms).
  async connect(ctx) {
    const peers = ctx.group.slice(0, 2);
    const t0 = await joinAll(ctx, peers);
    const rs = await Promise.all(peers.map((p) => p.call('waitOpen', { n: 1, timeoutMs: ctx.timeoutMs })));
    const ms = now() - t0;
    await leaveAll(peers);
    return firstTimeout(rs) ? timedOut(rs) : { ms };
  },

  // Round trips of one keystroke (raw: a 24-byte message) answered by the other peer; one-way =
  // RTT / 2 (both peers are separate processes, so there is no shared clock to read).
  async keystroke(ctx) {
    const [a, b] = ctx.group;
    await joinAll(ctx, [a, b]);
    const open = await Promise.all([a, b].map((p) => p.call('waitOpen', { n: 1, timeoutMs: ctx.timeoutMs })));
    if (firstTimeout(open)) { await leaveAll([a, b]); return timedOut(open); }
    await b.call('echo');
    await a.call('ping', { count: KEY_WARM, timeoutMs: ctx.timeoutMs });
    const r = await a.call('ping', { count: KEYSTROKES, timeoutMs: ctx.timeoutMs });
    await leaveAll([a, b]);
    if (r.timeout !== undefined) return { timeout: r.timeout };
    return { p50: percentile(r.samples, 50), p99: percentile(r.samples, 99), max: Math.max(...r.samples), n: r.samples.length };
  },

  // A peer holds the document; a second one joins with an empty document; time from its join()
  // (provider creation / joinRoom) until its text equals the document's.
  async latejoin(ctx, spec = LATE_SPECS[ctx.scenario], timeoutMs = ctx.timeoutMs) {
    const [src, joiner] = ctx.group;
    const room = freshRoom(ctx.scenario);
    const prep = await src.call('prepare', { spec });
    await joiner.call('expect', { spec });
    await src.call('join', { room, signaling: ctx.signaling, peers: [src.index, joiner.index], spec });
    await joiner.call('join', { room, signaling: ctx.signaling, peers: [src.index, joiner.index] });
    const r = await joiner.call('waitText', { spec, timeoutMs });
    await leaveAll([src, joiner]);
    return r.timeout !== undefined ? { ...timedOut([r]), stateBytes: prep.stateBytes } : { ms: r.ms, stateBytes: prep.stateBytes };
  },

  'latejoin-rustcode': (ctx) => scenarios.latejoin(ctx),
  'latejoin-big': (ctx) => scenarios.latejoin(ctx, 'big', ctx.bigTimeoutMs),

  // Three connected peers each type TYPED characters at once (one per event-loop turn); time from
  // the start signal until the last peer holds all 3 × TYPED (orchestrator clock, IPC included).
  async typing3(ctx) {
    const peers = ctx.group.slice(0, 3);
    await joinAll(ctx, peers);
    const open = await Promise.all(peers.map((p) => p.call('waitOpen', { n: 2, timeoutMs: ctx.timeoutMs })));
    if (firstTimeout(open)) { await leaveAll(peers); return timedOut(open); }
    const r = await typeAll(peers, ctx.timeoutMs);
    await leaveAll(peers);
    return r;
  },

  // BULK_BYTES in one payload from one peer to the other (raw: CHUNK-sized messages, roomsync: one
  // action); time from the send command until the receiver has every byte; bytes checked after.
  async bulk(ctx) {
    const [a, b] = ctx.group;
    await joinAll(ctx, [a, b]);
    const open = await Promise.all([a, b].map((p) => p.call('waitOpen', { n: 1, timeoutMs: ctx.timeoutMs })));
    if (firstTimeout(open)) { await leaveAll([a, b]); return timedOut(open); }
    await a.call('prepareBytes', { size: BULK_BYTES });
    const got = b.call('recvBytes', { size: BULK_BYTES, timeoutMs: ctx.timeoutMs });
    const t0 = now();
    await a.call('sendBytes');
    const r = await got;
    const ms = now() - t0;
    const check = r.timeout === undefined ? await b.call('checkBytes') : null;
    await leaveAll([a, b]);
    if (r.timeout !== undefined) return { timeout: r.timeout };
    return { ms, MBps: BULK_BYTES / 1e6 / (ms / 1000), intact: check.ok };
  },

  // ROOM30.peers peers (maxDirectPeers ROOM30.maxDirectPeers) join; once each has a synced data
  // channel, each types TYPED characters at once; time until all hold everything (finding the
  // rest of the room by gossip is part of it); connections per peer and the core's frame counter.
  async room30(ctx) {
    const peers = ctx.group;
    const t0 = now();
    await joinAll(ctx, peers, { maxDirectPeers: ROOM30.maxDirectPeers }, { wave: ROOM30.wave });
    const joinedMs = now() - t0;
    const open = await Promise.all(peers.map((p) => p.call('waitOpen', { n: 1, timeoutMs: ctx.timeoutMs * 3, pollMs: 20 })));
    const readyMs = now() - t0;
    process.stdout.write(`(joined ${(joinedMs / 1000).toFixed(1)} s, ready ${(readyMs / 1000).toFixed(1)} s) `);
    if (firstTimeout(open)) { await leaveAll(peers); return timedOut(open); }
    const before = await Promise.all(peers.map((p) => p.call('stats')));
    const r = await typeAll(peers, ctx.timeoutMs * 3);
    const after = await Promise.all(peers.map((p) => p.call('stats')));
    await leaveAll(peers);
    const conns = after.map((s) => s.connections).filter((x) => x != null);
    const frames = after.reduce((n, s, i) => (s.framesSent == null ? n : (n ?? 0) + s.framesSent - (before[i].framesSent ?? 0)), null);
    return { ...r, joinedMs, readyMs, connectionsMedian: median(conns), connectionsMax: conns.length ? Math.max(...conns) : null,
      framesPerUpdate: frames == null ? null : frames / (peers.length * TYPED),
      // Copies of a message a peer had already: 0 while gossip follows the spanning trees.
      duplicatesPerUpdate: after.reduce((n, s, i) => n + (s.duplicates ?? 0) - (before[i].duplicates ?? 0), 0) / (peers.length * TYPED) };
  },
};

async function typeAll(peers, timeoutMs) {
  const total = peers.length * TYPED;
  const t0 = now();
  const done = await Promise.all(peers.map((p, i) => p.call('type', { count: TYPED, total, ch: String.fromCharCode(97 + (i % 26)), timeoutMs })
    .then((r) => ({ ...r, at: now() - t0 }))));
  if (firstTimeout(done)) return timedOut(done);
  return { ms: Math.max(...done.map((d) => d.at)), equal: done.every((d) => d.text === done[0].text && d.text.length === total) };
}

// ---------------------------------------------------------------------------- report
const fmt = (n) => (n == null ? '—' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2));

// Which scenarios each column can run (from its adapter), for the table.
const A_SCENARIOS = {};
// The Chromium rows (scenario chromium) and the columns that have them.
const supports = (a, sc) => (chromiumBench.SCENARIOS[sc] ? chromiumBench.SCENARIOS[sc].includes(a) : A_SCENARIOS[a]?.includes(sc));
const optionFor = (sc) => (chromiumBench.SCENARIOS[sc] ? 'chromium' : sc);
// The issue's size target, wasm + glue, gzip -9: 150 KB read as 150,000 B.
const SIZE_TARGET = 150_000;

// Rows of the table: [label, scenario, value of one run, unit].
const ROWS = [
  ['connect: join → channel open (both peers)', 'connect', (r) => r.ms, 'ms'],
  ['one-way latency p50 (keystroke → seen)', 'keystroke', (r) => r.p50, 'ms'],
  ['one-way latency p99', 'keystroke', (r) => r.p99, 'ms'],
  ['late joiner, automerge-paper', 'latejoin', (r) => r.ms, 'ms'],
  ['late joiner, rustcode', 'latejoin-rustcode', (r) => r.ms, 'ms'],
  ['late joiner, 4 MB document', 'latejoin-big', (r) => r.ms, 'ms'],
  ['3 peers × 100 chars → all equal', 'typing3', (r) => r.ms, 'ms'],
  [`16 MiB transfer (raw: ${RAW_CHUNK / 1024} KiB messages)`, 'bulk', (r) => r.MBps, 'MB/s'],
  ['Chromium: one-way latency p50', 'chromium-keystroke', (r) => r.p50, 'ms'],
  ['Chromium: one-way latency p99', 'chromium-keystroke', (r) => r.p99, 'ms'],
  ['Chromium: late joiner, automerge-paper', 'chromium-latejoin', (r) => r.ms, 'ms'],
  ['Chromium: late joiner, rustcode', 'chromium-latejoin-rustcode', (r) => r.ms, 'ms'],
  ['30 peers × 100 chars → all equal', 'room30', (r) => r.ms, 'ms'],
  ['30 peers: connections per peer', 'room30', (r) => r.connectionsMedian, ''],
  ['30 peers: frames sent per update', 'room30', (r) => r.framesPerUpdate, ''],
];

function summarize(res, f) {
  const vals = res.runs.filter((r) => r.timeout === undefined).map(f).filter((v) => v != null);
  return { median: median(vals), min: vals.length ? Math.min(...vals) : null, max: vals.length ? Math.max(...vals) : null, n: vals.length };
}

function cell(out, adapter, scenario, f, unit) {
  if (out.unavailable[adapter]) return adapter === 'roomsync' ? 'not available yet' : 'unavailable';
  const res = out.results[scenario]?.[adapter];
  if (!res) return 'n/a';
  if (res.skipped) return `skipped (${res.skipped})`;
  if (res.error) return `ERROR (${res.failures?.length || 1} runs failed)`;
  const s = summarize(res, f);
  const timeouts = res.runs.filter((r) => r.timeout !== undefined);
  const failed = res.failures?.length ? ` +${res.failures.length} failed` : '';
  if (!s.n) return timeouts.length ? `never (timeout ${timeouts[0].timeout / 1000} s)${failed}` : `—${failed}`;
  const range = s.n > 1 ? ` (${fmt(s.min)}–${fmt(s.max)})` : '';
  const bad = res.runs.some((r) => r.equal === false || r.intact === false) ? ' WRONG' : '';
  return `${fmt(s.median)}${unit ? ' ' + unit : ''}${range}${timeouts.length ? ` +${timeouts.length} timeout` : ''}${failed}${bad}`;
}

function table(out, adapters) {
  const hdr = ['', ...adapters.map((a) => out.adapters[a].label)];
  const rows = ROWS.map(([label, sc, f, unit]) => [label, ...adapters.map((a) => (out.options.scenarios.includes(optionFor(sc))
    ? cell(out, a, sc, f, unit)
    : supports(a, sc) ? `not run (--scenario ${optionFor(sc)})` : 'n/a'))]);
  const { files, shipped } = out.sizes;
  const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
  rows.push(['shipped: esbuild bundle (minified) + wasm, gzip -9', ...adapters.map((a) => (a !== 'roomsync' ? ''
    : shipped.error ? `— (${shipped.error})` : `${kb(shipped.totalGzip9)} (${kb(shipped.js.gzip9)} + ${kb(shipped.wasm.gzip9)})`))]);
  rows.push(['source files as served (unminified) + wasm, gzip -9 each', ...adapters.map((a) => (a === 'roomsync' ? kb(files.totalGzip9) : ''))]);
  return [hdr, ...rows];
}

function printTable(t) {
  const w = t[0].map((_, i) => Math.max(...t.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('   ');
  console.log(line(t[0]));
  console.log(w.map((n) => '-'.repeat(n)).join('   '));
  for (const r of t.slice(1)) console.log(line(r));
}

const markdown = (t) => [`| ${t[0].join(' | ')} |`, `|---|${t[0].slice(1).map(() => '---:').join('|')}|`, ...t.slice(1).map((r) => `| ${r.join(' | ')} |`)].join('\n');

// The two size figures in words (the table has the totals).
function sizeLines(sizes) {
  const { files, shipped } = sizes;
  const b = (n) => `${n.toLocaleString('en-US')} B`;
  return [
    shipped.error ? `Shipped size: not measured (${shipped.error}).`
      : `Shipped size (what an app loads; the target is on this one): \`${shipped.file}\`, the browser bundle scripts/build.sh makes (esbuild, minified ESM, ` +
        `phoenix ${shipped.phoenixBundled ? 'bundled in' : 'NOT found in the bundle'}, wasm fetched beside it): ` +
        `${b(shipped.js.raw)} → ${b(shipped.js.gzip9)} gzip -9; \`dist/roomsync.wasm\` ${b(shipped.wasm.raw)} → ${b(shipped.wasm.gzip9)} gzip -9; ` +
        `total ${b(shipped.totalGzip9)}.`,
    `Source files as our server sends them (unminified, no bundler), gzip -9 each: ${files.files.map((f) => `\`${f.file}\` ${b(f.gzip9)}`).join(', ')}; ` +
      `total ${b(files.totalGzip9)}${files.phoenix ? ` (phoenix.mjs, ${b(files.phoenix.gzip9)}, not counted)` : ''}${files.missing.length ? `; missing: ${files.missing.join(', ')}` : ''}.`,
  ];
}

// The table and its context as Markdown (bench-results/rooms.md), ready for the README.
function markdownReport(out) {
  return [
    `Measured ${out.date.slice(0, 10)} with \`${out.command}\` on ${out.machine.cores} cores (${out.machine.cpu}, load ${out.machine.loadavg.map((x) => x.toFixed(1)).join(' ')} at the start), Node ${out.machine.node}; ` +
      `${Object.entries(out.adapters).map(([, a]) => a.version).join('; ')}` +
      `${out.chromium ? `; Chromium ${out.chromium.chromium ?? '—'} (${out.chromium.version})` : ''}. Median (min–max) of ${out.options.runs} run(s); ` +
      'one-way latency = round trip / 2 (Node and Chromium alike; in Chromium pages performance.now() has 0.1 ms steps, so 0.05 ms in these figures).',
    '',
    out.markdown,
    '',
    ...sizeLines(out.sizes).flatMap((l) => [l, '']),
    ...out.targets.map((x) => `- ${x.status} — ${x.name}: ${x.detail}`),
  ].join('\n') + '\n';
}

// The issue's goals for roomsync, as printed comparisons (never asserted).
function targets(out) {
  if (out.unavailable.roomsync) return [{ status: '—', name: 'roomsync targets', detail: 'roomsync not available yet' }];
  const m = (sc, a, f) => { const r = out.results[sc]?.[a]; return r && !r.skipped && !r.error ? summarize(r, f).median : null; };
  const list = [];
  const cmp = (name, ours, limit, detail, lower = true) => {
    const status = ours == null || limit == null ? '—' : (lower ? ours <= limit : ours >= limit) ? 'PASS' : 'MISS';
    list.push({ status, name, detail });
  };
  for (const sc of ['latejoin', 'latejoin-rustcode']) {
    const ours = m(sc, 'roomsync', (r) => r.ms);
    const y = m(sc, 'ywebrtc', (r) => r.ms);
    const yNever = out.results[sc]?.ywebrtc?.runs.length && y == null;
    cmp(`late joiner (${LATE_SPECS[sc]}) ≤ ½ y-webrtc`, ours, yNever ? Infinity : y == null ? null : y / 2,
      `${fmt(ours)} ms vs y-webrtc ${yNever ? 'never' : `${fmt(y)} ms`}`);
  }
  const big = m('latejoin-big', 'roomsync', (r) => r.ms);
  const bigRan = out.results['latejoin-big']?.roomsync?.runs.length > 0;
  list.push({ status: big != null ? 'PASS' : bigRan ? 'MISS' : '—', name: 'several-MB document syncs', detail: big != null ? `${fmt(big)} ms` : bigRan ? 'did not sync' : 'not measured' });
  for (const [q, f] of [['p50', (r) => r.p50], ['p99', (r) => r.p99]]) {
    const ours = m('keystroke', 'roomsync', f);
    const y = m('keystroke', 'ywebrtc', f);
    const raw = m('keystroke', 'raw', f);
    cmp(`keystroke ${q} < y-webrtc`, ours, y, `${fmt(ours)} ms vs ${fmt(y)} ms`);
    cmp(`keystroke ${q} ≤ 2× raw`, ours, raw == null ? null : 2 * raw, `${fmt(ours)} ms vs raw ${fmt(raw)} ms`);
  }
  const t3 = m('typing3', 'roomsync', (r) => r.ms);
  const t3y = m('typing3', 'ywebrtc', (r) => r.ms);
  cmp('3 typists ≤ ½ y-webrtc', t3, t3y == null ? null : t3y / 2, `${fmt(t3)} ms vs ${fmt(t3y)} ms`);
  const bw = m('bulk', 'roomsync', (r) => r.MBps);
  const bwr = m('bulk', 'raw', (r) => r.MBps);
  cmp('16 MB action ≥ 80% of raw', bw, bwr == null ? null : 0.8 * bwr, `${fmt(bw)} vs ${fmt(bwr)} MB/s`, false);
  // The same late-joiner and keystroke comparisons with the peers in Chromium pages.
  for (const sc of ['chromium-latejoin', 'chromium-latejoin-rustcode']) {
    const ours = m(sc, 'roomsync', (r) => r.ms);
    const y = m(sc, 'ywebrtc', (r) => r.ms);
    const yNever = out.results[sc]?.ywebrtc?.runs.length && y == null;
    cmp(`Chromium: late joiner (${chromiumBench.LATE_SPECS[sc]}) ≤ ½ y-webrtc`, ours, yNever ? Infinity : y == null ? null : y / 2,
      `${fmt(ours)} ms vs y-webrtc ${yNever ? 'never' : `${fmt(y)} ms`}`);
  }
  for (const [q, f] of [['p50', (r) => r.p50], ['p99', (r) => r.p99]]) {
    const ours = m('chromium-keystroke', 'roomsync', f);
    const y = m('chromium-keystroke', 'ywebrtc', f);
    const raw = m('chromium-keystroke', 'raw', f);
    cmp(`Chromium: keystroke ${q} < y-webrtc`, ours, y, `${fmt(ours)} ms vs ${fmt(y)} ms`);
    cmp(`Chromium: keystroke ${q} ≤ 2× raw`, ours, raw == null ? null : 2 * raw, `${fmt(ours)} ms vs raw ${fmt(raw)} ms`);
  }
  // The size target applies to what ships: the minified bundle + the wasm.
  const { shipped } = out.sizes;
  cmp('wasm + glue < 150 KB (minified bundle + wasm, gzip -9)', shipped.error ? null : shipped.totalGzip9, SIZE_TARGET,
    shipped.error ? shipped.error : `${shipped.totalGzip9.toLocaleString('en-US')} B = ${shipped.js.gzip9.toLocaleString('en-US')} B bundle + ${shipped.wasm.gzip9.toLocaleString('en-US')} B wasm ` +
      `(unminified source files, gzip -9 each: ${out.sizes.files.totalGzip9.toLocaleString('en-US')} B, not the target's figure)`);
  return list;
}

// ---------------------------------------------------------------------------- Chromium
// The late-joiner and keystroke rows in headless Chromium pages (rooms/chromium.js, its own
// browser, server and pages), for the live columns; results go to out.results like the others.
async function chromiumScenario(opt, live, out) {
  const why = await chromiumBench.unavailable();
  out.chromium = { version: chromiumBench.version() };
  for (const [sc, cols] of Object.entries(chromiumBench.SCENARIOS)) {
    out.results[sc] = {};
    if (why) for (const a of live) if (cols.includes(a)) out.results[sc][a] = { skipped: why, runs: [] };
  }
  if (why) { console.log(`!!!!! SKIPPED chromium: ${why} !!!!!`); return; }
  if (!live.some((a) => Object.values(chromiumBench.SCENARIOS).some((cols) => cols.includes(a)))) return;
  process.stdout.write('chromium: ');
  const t1 = now();
  try {
    const r = await chromiumBench.runChromium({ columns: live, runs: opt.runs, warm: !opt.quick, timeoutMs: opt.timeoutS * 1000,
      keystrokes: KEYSTROKES, keyWarm: KEY_WARM, track: (c) => children.add(c), tick: () => process.stdout.write('.') });
    Object.assign(out.results, r.results);
    Object.assign(out.chromium, r.info);
  } catch (e) {
    // The browser, the server or a page's set-up failed: reported in every Chromium cell.
    const msg = String(e?.message || e).split('\n')[0];
    console.log(`\n!!!!! chromium: ${msg}`);
    for (const [sc, cols] of Object.entries(chromiumBench.SCENARIOS)) for (const a of live) if (cols.includes(a)) out.results[sc][a] = { runs: [], failures: [msg], error: msg };
  }
  console.log(` ${((now() - t1) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------- main
async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const problem = netnsProblem();
  if (problem) {
    console.error(`rooms.js: refusing to run WebRTC outside a private network namespace (${problem}).\n` +
      'Run it as: scripts/netns.sh node tests/bench/rooms.js');
    process.exit(2);
  }
  const t0 = now();
  const out = {
    date: new Date().toISOString(),
    command: `scripts/netns.sh node tests/bench/rooms.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model?.trim(), node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg() },
    options: { runs: opt.runs, quick: opt.quick, scenarios: opt.scenarios, timeoutS: opt.timeoutS, bigTimeoutS: opt.bigTimeoutS,
      keystrokes: KEYSTROKES, keystrokeWarmup: KEY_WARM, typed: TYPED, bulkBytes: BULK_BYTES, room30: ROOM30 },
    adapters: {},
    unavailable: {},
    results: {},
    sizes: { files: fileSizes(), shipped: await shippedSize() },
  };

  const A = {};
  for (const name of opt.only) {
    const mod = await import(`./rooms/${name}.js`);
    A_SCENARIOS[name] = mod.scenarios;
    out.adapters[name] = { label: mod.label, version: mod.version(), notes: mod.notes };
    const why = await mod.unavailable();
    if (why) { out.unavailable[name] = why; console.log(`!!!!! ${name}: ${why} !!!!!`); continue; }
    A[name] = mod;
  }
  const live = opt.only.filter((a) => A[a]);
  console.log(`roomsync rooms benchmark — ${out.date} — node ${process.version}, ${out.machine.cores} cores (${out.machine.cpu}), load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`columns: ${opt.only.map((a) => `${a} (${out.adapters[a].version})`).join('; ')}`);
  console.log(`${opt.runs} run(s) per figure${opt.quick ? '' : ' after one warm-up run'}, runs interleaved across columns\n`);

  // Signaling servers and peer processes, one set per column, reused by every scenario.
  const infra = {};
  try {
    for (const a of live) {
      infra[a] = { sig: await A[a].startSignaling({ port: await freePort() }), group: null };
      if (infra[a].sig.child) children.add(infra[a].sig.child);
    }
    for (const sc of opt.scenarios) {
      if (sc === 'chromium') { await chromiumScenario(opt, live, out); continue; }
      out.results[sc] = {};
      const why = LATE_SPECS[sc] ? unavailableSpec(LATE_SPECS[sc]) : null;
      const cols = live.filter((a) => A[a].scenarios.includes(sc));
      for (const a of cols) out.results[sc][a] = why ? { skipped: why, runs: [] } : { runs: [] };
      if (why) { console.log(`!!!!! SKIPPED ${sc}: ${why} !!!!!`); continue; }
      if (!cols.length) continue;
      process.stdout.write(`${sc}: `);
      const t1 = now();
      const ctxFor = (a, group) => ({ scenario: sc, group, signaling: infra[a].sig.url, timeoutMs: opt.timeoutS * 1000, bigTimeoutMs: opt.bigTimeoutS * 1000 });
      // room30 has its own group of processes, stopped at once afterwards.
      const groups = {};
      for (const a of cols) {
        if (sc === 'room30') groups[a] = await spawnGroup(a, ROOM30.peers);
        else groups[a] = infra[a].group || (infra[a].group = await spawnGroup(a, 3));
      }
      const heavy = sc === 'latejoin-big' || sc === 'room30';
      const runs = sc === 'room30' ? Math.min(opt.runs, 3) : opt.runs;
      const warm = !opt.quick && !heavy;
      for (let i = warm ? -1 : 0; i < runs; i++) {
        for (const a of cols) {
          const res = out.results[sc][a];
          if (res.error || res.gaveUp) continue;
          try {
            const r = await scenarios[sc](ctxFor(a, groups[a]));
            // A document that never synced in time will not in the next run either (it is too big
            // for the library): stop at the first timeout, even the warm-up's, unless a run synced.
            if (r.timeout !== undefined && LATE_SPECS[sc] && !res.synced) res.gaveUp = true;
            if (r.timeout === undefined) res.synced = true;
            if (i >= 0 || res.gaveUp) res.runs.push(r);
            else res.warmup = r; // kept in the JSON (a warm-up that timed out shows there)
            if (r.timeout !== undefined) {
              const seen = (r.peers || []).slice(0, 3).map((x) => JSON.stringify(x)).join(', ');
              console.log(`\n   ${sc} / ${a}: timeout after ${r.timeout / 1000} s${seen ? `; peers saw ${seen}${r.peers.length > 3 ? ` and ${r.peers.length - 3} more (rooms.json)` : ''}` : ''}`);
            }
          } catch (e) {
            // A failed run is reported, not hidden; a peer process that died (wrtc has crashed on
            // close now and then) is replaced so the next run starts clean. Three failures end
            // the column for this scenario.
            const msg = String(e?.message || e).split('\n')[0];
            res.failures = [...(res.failures || []), msg];
            console.log(`\n!!!!! ${sc} / ${a}: run failed: ${msg}`);
            if (groups[a].some((p) => p.exited) && i < runs - 1) {
              await Promise.all(groups[a].map((p) => p.stop()));
              groups[a] = await spawnGroup(a, groups[a].length);
              if (sc !== 'room30') infra[a].group = groups[a];
            } else {
              await Promise.all(groups[a].map((p) => p.call('leave').catch(() => {})));
              if (groups[a].some((p) => p.exited) && sc !== 'room30') {
                await Promise.all(groups[a].map((p) => p.stop()));
                infra[a].group = null; // respawned by the next scenario that needs it
              }
            }
            if (res.failures.length >= 3) res.error = res.failures.join(' | ');
          }
        }
        process.stdout.write('.');
      }
      if (sc === 'room30') for (const a of cols) await Promise.all(groups[a].map((p) => p.stop()));
      console.log(` ${((now() - t1) / 1000).toFixed(1)} s`);
    }
  } finally {
    for (const a of live) {
      if (infra[a]?.group) await Promise.all(infra[a].group.map((p) => p.stop()));
      await infra[a]?.sig?.stop();
    }
  }

  console.log('\nmedian (min–max) of the runs; one-way latency = round trip / 2');
  const t = table(out, opt.only);
  printTable(t);
  console.log('');
  for (const l of sizeLines(out.sizes)) console.log(l.replace(/`/g, ''));
  out.targets = targets(out);
  console.log('\ntargets (issue 7) — printed, not asserted');
  for (const x of out.targets) console.log(`   ${x.status.padEnd(4)}  ${x.name}: ${x.detail}`);
  out.markdown = markdown(t);
  out.wallSeconds = (now() - t0) / 1000;
  mkdirSync(path.dirname(opt.json), { recursive: true });
  writeFileSync(opt.json, JSON.stringify(out, null, 1));
  writeFileSync(opt.json.replace(/\.json$/, '') + '.md', markdownReport(out));
  console.log(`\nJSON: ${path.relative(process.cwd(), opt.json) || opt.json}   (wall ${out.wallSeconds.toFixed(0)} s)`);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
