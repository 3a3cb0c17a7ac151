#!/usr/bin/env node
// Load benchmark for the roomsync signaling server (js/server).
//
//   node tests/bench/signaling-load.js [--max 19000] [--room-size 10] [--steps 1000,2000,5000,10000,15000,19000]
//                                      [--workers 2] [--senders 1000] [--window 8] [--throughput-s 4]
//
// Spawns `roomsync serve` in a child process (so its memory is measured alone), opens raw `ws`
// clients from this process in steps, each joining `room:bench-<k>` (rooms of --room-size peers),
// and reports per step: join latency p50/p99 (phx_join sent -> phx_reply received), server RSS and
// RSS per connection. At the last step, with every client still connected, --senders of them send
// to a neighbour in their room; it reports routed `signal` and binary `relay` messages/second
// (delivered to the target peer, counted at the receivers) and the server's CPU use meanwhile.
// Loopback only. Stops early when p99 join latency exceeds --max-p99-ms or the time budget runs out.
// Writes bench-results/signaling-load.json.

import { spawn, fork, execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import readline from 'node:readline';
import WebSocket from 'ws';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    max: { type: 'string', default: '19000' },
    steps: { type: 'string', default: '1000,2000,5000,10000,15000,19000' },
    'room-size': { type: 'string', default: '10' },
    'max-p99-ms': { type: 'string', default: '2000' },
    'budget-s': { type: 'string', default: '100' },
    'throughput-s': { type: 'string', default: '4' },
    window: { type: 'string', default: '8' },
    senders: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '100' },
    workers: { type: 'string', default: '2' },
    worker: { type: 'boolean', default: false },
    url: { type: 'string' },
    index: { type: 'string' },
  },
});

const T0 = Date.now();
const ROOM_SIZE = Number(args['room-size']);
const BUDGET_MS = Number(args['budget-s']) * 1000;
const MAX_P99 = Number(args['max-p99-ms']);
const WINDOW = Number(args.window);
const CONCURRENCY = Number(args.concurrency);
const WORKERS = Math.max(1, Number(args.workers));
const SENDERS = Number(args.senders);

function fdLimit() {
  try {
    return Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim()) || 1024;
  } catch {
    return 1024;
  }
}
const FD_LIMIT = fdLimit();
// The server holds one fd per connection (plus a few hundred of its own); the load generators
// split the clients between them.
const MAX_CLIENTS = Math.min(Number(args.max), FD_LIMIT - 500);
const STEPS = args.steps.split(',').map(Number).filter((n) => n > 0 && n <= MAX_CLIENTS);
if (!STEPS.includes(MAX_CLIENTS) && Number(args.max) > MAX_CLIENTS) STEPS.push(MAX_CLIENTS);

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
const cpuSecondsOf = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100 Hz)
};
const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startServer() {
  const proc = spawn(process.execPath, [path.join(ROOT, 'js/cli.js'), 'serve', '--port', '0'], {
    env: {
      ...process.env,
      LOG_LEVEL: 'info',
      ROOMSYNC_IDLE_TIMEOUT_MS: '600000',
      // The benchmark measures routing capacity, not the per-user limits.
      ROOMSYNC_RATE_LIMITS: JSON.stringify({ signal: false, relay: false, phx_join: false }),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const rl = readline.createInterface({ input: proc.stderr });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start')), 10_000);
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    rl.on('line', (line) => {
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.msg === 'listening') {
        clearTimeout(t);
        resolve({ proc, url: rec.url, http: rec.http });
      } else if (rec.level === 'error' || rec.level === 'warn') {
        process.stderr.write(`[server] ${line}\n`);
      }
    });
  });
}

/** One raw V2 client: connect, join, count what it receives. */
class Client {
  constructor(url, room) {
    this.url = url;
    this.room = room;
    this.topic = `room:${room}`;
    this.ref = 0;
    this.pending = new Map(); // ref -> resolve
    this.signals = 0;
    this.relays = 0;
    this.peerId = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.url}/websocket?vsn=2.0.0`, { perMessageDeflate: false });
      this.ws = ws;
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    });
  }

  #onMessage(data, isBinary) {
    if (isBinary) {
      this.relays++;
      return;
    }
    const text = data.toString();
    // Fast path: only replies and signals matter here; presence traffic is just counted.
    if (text.includes('"phx_reply"')) {
      const msg = JSON.parse(text);
      const cb = this.pending.get(msg[1]);
      if (cb) {
        this.pending.delete(msg[1]);
        cb(msg[4]);
      }
    } else if (text.includes('"signal"')) {
      this.signals++;
    }
  }

  push(event, payload, joinRef = this.joinRef) {
    const ref = String(++this.ref);
    return new Promise((resolve) => {
      this.pending.set(ref, resolve);
      this.ws.send(JSON.stringify([joinRef, ref, this.topic, event, payload]));
    });
  }

  pushBinary(event, bytes) {
    const ref = String(++this.ref);
    const parts = [this.joinRef, ref, this.topic, event].map((s) => Buffer.from(s));
    const frame = Buffer.concat([Buffer.from([0, ...parts.map((p) => p.length)]), ...parts, bytes]);
    return new Promise((resolve) => {
      this.pending.set(ref, resolve);
      this.ws.send(frame, { binary: true });
    });
  }

  async join() {
    this.joinRef = String(this.ref + 1);
    const t = performance.now();
    const reply = await this.push('phx_join', {}, this.joinRef);
    if (reply.status !== 'ok') throw new Error(`join failed: ${JSON.stringify(reply)}`);
    this.peerId = reply.response.peer_id;
    return performance.now() - t;
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
async function pool(items, limit, fn) {
  let i = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const item = items[i++];
      await fn(item);
    }
  });
  await Promise.all(workers);
}

async function throughput(clients, kind, seconds) {
  // In each room, member i sends to member i+1 (mod room size), keeping WINDOW pushes in flight.
  const rooms = new Map();
  for (const c of clients) (rooms.get(c.room) || rooms.set(c.room, []).get(c.room)).push(c);
  const pairs = [];
  const maxPairs = Math.ceil(SENDERS / WORKERS);
  for (const members of rooms.values()) {
    if (members.length < 2) continue;
    members.forEach((c, i) => pairs.length < maxPairs && pairs.push([c, members[(i + 1) % members.length]]));
  }
  const count = () => clients.reduce((n, c) => n + (kind === 'signal' ? c.signals : c.relays), 0);
  const payload = kind === 'relay' ? Buffer.alloc(1024, 7) : null;
  let running = true;
  const before = count();
  let errors = 0;
  const t0 = performance.now();
  const loops = pairs.map(async ([from, to]) => {
    const lanes = Array.from({ length: WINDOW }, async () => {
      while (running) {
        let r;
        if (kind === 'signal') {
          r = await from.push('signal', { to: to.peerId, data: { type: 'candidate', candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host' } });
        } else {
          const id = Buffer.from(to.peerId);
          r = await from.pushBinary('relay', Buffer.concat([Buffer.from([id.length]), id, payload]));
        }
        if (r.status !== 'ok') errors++;
      }
    });
    await Promise.all(lanes);
  });
  await sleep(seconds * 1000);
  const delivered = count() - before;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(loops);
  return { kind, senders: pairs.length, window: WINDOW, seconds: +elapsed.toFixed(2), delivered, perSecond: Math.round(delivered / elapsed), errors };
}

/** Load-generator process: owns the clients of rooms r with r % WORKERS === index. */
async function workerMain() {
  const url = args.url;
  const index = Number(args.index);
  const clients = [];
  let total = 0;
  process.on('message', async (msg) => {
    try {
      if (msg.cmd === 'grow') {
        const fresh = [];
        for (let i = total; i < msg.target; i++) {
          const room = Math.floor(i / ROOM_SIZE);
          if (room % WORKERS === index) fresh.push(new Client(url, `bench-${room}`));
        }
        total = msg.target;
        const joinMs = [];
        const connectMs = [];
        await pool(fresh, Math.max(1, Math.floor(CONCURRENCY / WORKERS)), async (c) => {
          const t = performance.now();
          await c.open();
          connectMs.push(performance.now() - t);
          joinMs.push(await c.join());
        });
        clients.push(...fresh);
        process.send({ cmd: 'grown', joinMs, connectMs });
      } else if (msg.cmd === 'throughput') {
        process.send({ cmd: 'throughput', result: await throughput(clients, msg.kind, msg.seconds) });
      } else if (msg.cmd === 'exit') {
        for (const c of clients) c.ws.terminate();
        process.exit(0);
      }
    } catch (err) {
      process.send({ cmd: 'error', error: String(err && err.stack) });
    }
  });
  process.send({ cmd: 'ready' });
}

function spawnWorkers(url) {
  return Array.from({ length: WORKERS }, (_, index) => {
    const child = fork(import.meta.filename, [...process.argv.slice(2), '--worker', '--url', url, '--index', String(index)], { stdio: 'inherit' });
    const inbox = [];
    const waiting = [];
    child.on('message', (m) => {
      if (m.cmd === 'error') {
        console.error(`load generator ${index} failed:\n${m.error}`);
        process.exit(1);
      }
      const w = waiting.shift();
      if (w) w(m);
      else inbox.push(m);
    });
    const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiting.push(r)));
    return { child, next, ask: (msg) => (child.send(msg), next()) };
  });
}

async function main() {
  const server = await startServer();
  await sleep(300);
  const baseRss = rssOf(server.proc.pid);
  const workers = spawnWorkers(server.url);
  await Promise.all(workers.map((w) => w.next()));
  // Baseline: sequential connect + join on the idle server (no queueing), then disconnect.
  const base = { connectMs: [], joinMs: [] };
  for (let i = 0; i < 200; i++) {
    const c = new Client(server.url, `baseline-${Math.floor(i / ROOM_SIZE)}`);
    const t = performance.now();
    await c.open();
    base.connectMs.push(performance.now() - t);
    base.joinMs.push(await c.join());
    c.ws.close();
  }
  base.connectMs.sort((a, b) => a - b);
  base.joinMs.sort((a, b) => a - b);
  const baseline = {
    sequentialClients: 200,
    connectP50ms: +pct(base.connectMs, 50).toFixed(2),
    connectP99ms: +pct(base.connectMs, 99).toFixed(2),
    joinP50ms: +pct(base.joinMs, 50).toFixed(2),
    joinP99ms: +pct(base.joinMs, 99).toFixed(2),
  };
  await sleep(300);
  const results = [];
  let clientCount = 0;
  let stoppedBecause = null;
  console.log(`roomsync signaling load benchmark — ${os.cpus().length} × ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  console.log(`server ${server.url} (pid ${server.proc.pid}), rooms of ${ROOM_SIZE}, ${WORKERS} load-generator processes on the same machine, ${CONCURRENCY} joins in flight, fd limit ${FD_LIMIT}`);
  console.log(`server RSS at start: ${(baseRss / 2 ** 20).toFixed(1)} MiB; 1-min load average before the run: ${os.loadavg()[0].toFixed(1)} (anything else running skews latency)\n`);

  console.log(
    `idle-server baseline, 200 sequential clients: connect p50 ${baseline.connectP50ms} ms p99 ${baseline.connectP99ms} ms, ` +
      `join p50 ${baseline.joinP50ms} ms p99 ${baseline.joinP99ms} ms\n`,
  );
  for (const target of STEPS) {
    if (Date.now() - T0 > BUDGET_MS) {
      stoppedBecause = 'time budget';
      break;
    }
    const tStep = performance.now();
    const replies = await Promise.all(workers.map((w) => w.ask({ cmd: 'grow', target })));
    const stepSeconds = (performance.now() - tStep) / 1000;
    const joinMs = replies.flatMap((r) => r.joinMs).sort((a, b) => a - b);
    const connectMs = replies.flatMap((r) => r.connectMs).sort((a, b) => a - b);
    const added = target - clientCount;
    clientCount = target;
    await sleep(500); // let presence diffs drain
    const rss = rssOf(server.proc.pid);
    const health = await (await fetch(`${server.http}/healthz`)).json();
    const row = {
      clients: clientCount,
      rooms: health.rooms,
      serverConnections: health.connectionsCurrent,
      joinP50ms: +pct(joinMs, 50).toFixed(2),
      joinP99ms: +pct(joinMs, 99).toFixed(2),
      connectP50ms: +pct(connectMs, 50).toFixed(2),
      connectP99ms: +pct(connectMs, 99).toFixed(2),
      joinsPerSecond: Math.round(added / stepSeconds),
      serverRssMiB: +(rss / 2 ** 20).toFixed(1),
      rssPerConnKiB: +((rss - baseRss) / clientCount / 1024).toFixed(1),
    };
    results.push(row);
    console.log(
      `${String(row.clients).padStart(6)} clients | ${String(row.rooms).padStart(5)} rooms | join p50 ${row.joinP50ms.toFixed(1).padStart(6)} ms  p99 ${row.joinP99ms.toFixed(1).padStart(6)} ms | ` +
        `connect p50 ${row.connectP50ms.toFixed(1).padStart(6)} ms | ${String(row.joinsPerSecond).padStart(5)} conn+join/s | RSS ${row.serverRssMiB.toFixed(1).padStart(6)} MiB | ${row.rssPerConnKiB.toFixed(1).padStart(5)} KiB/conn`,
    );
    if (health.connectionsCurrent !== clientCount) {
      stoppedBecause = `server holds ${health.connectionsCurrent} connections, expected ${clientCount}`;
      break;
    }
    if (row.joinP99ms > MAX_P99) {
      stoppedBecause = `p99 join latency ${row.joinP99ms} ms > ${MAX_P99} ms`;
      break;
    }
  }

  const secs = Number(args['throughput-s']);
  console.log(`\nrouting throughput with ${clientCount} clients connected, ${Math.min(SENDERS, clientCount)} of them sending to a neighbour in their room (${WINDOW} pushes in flight each, ${secs} s per run):`);
  const tp = [];
  for (const kind of ['signal', 'relay']) {
    const cpu0 = cpuSecondsOf(server.proc.pid);
    const wall0 = performance.now();
    const parts = await Promise.all(workers.map((w) => w.ask({ cmd: 'throughput', kind, seconds: secs })));
    const serverCpuPct = Math.round((100 * (cpuSecondsOf(server.proc.pid) - cpu0)) / ((performance.now() - wall0) / 1000));
    const r = parts.reduce(
      (a, { result: b }) => ({ ...a, senders: a.senders + b.senders, delivered: a.delivered + b.delivered, perSecond: a.perSecond + b.perSecond, errors: a.errors + b.errors }),
      { kind, senders: 0, delivered: 0, perSecond: 0, errors: 0, window: WINDOW, seconds: secs },
    );
    r.serverCpuPercent = serverCpuPct;
    tp.push(r);
    console.log(
      `  ${kind.padEnd(6)} ${String(r.perSecond).padStart(7)} msg/s delivered to the target peer (${r.senders} senders, ${r.errors} error replies, ` +
        `${kind === 'relay' ? '1 KiB binary payloads' : '~100-byte ICE candidate JSON'}; server process CPU ${serverCpuPct}% of one core)`,
    );
  }
  const health = await (await fetch(`${server.http}/healthz`)).json();
  const phoenix = {
    source: 'Gary Rennie, "The Road to 2 Million Websocket Connections in Phoenix", phoenixframework.org blog, 2015-11-03',
    figure: 'about 2,000,000 simultaneous WebSocket connections in a single chat room on one server',
    hardware: 'Rackspace OnMetal I/O, 40 cores, 128 GB RAM (Tsung load generators on separate machines)',
    note: 'their published figure on different hardware and a different workload (no presence broadcast on join); context only, not a like-for-like comparison',
  };
  console.log(`\nFor context — Phoenix's published figure (different hardware and workload, not comparable 1:1):`);
  console.log(`  ${phoenix.figure}; ${phoenix.hardware}.`);
  console.log(`  Source: ${phoenix.source}.`);
  console.log(`Here: one Node server process sharing ${os.cpus().length} cores with ${WORKERS} load-generator processes, rooms of ${ROOM_SIZE} with presence.`);
  if (stoppedBecause) console.log(`stopped early: ${stoppedBecause}`);
  if (clientCount > 14000) {
    console.log(
      'Note: beyond ~14,000 connections from one source address to one server port, Linux connect() spends\n' +
        'milliseconds searching the ephemeral port range (32768-60999; the same-parity half is tried first), in the\n' +
        'load generators, in kernel time. Steps above ~14k measure that, not the server.',
    );
  }

  const out = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0].model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, fdLimit: FD_LIMIT },
    config: { roomSize: ROOM_SIZE, steps: STEPS, concurrency: CONCURRENCY, workers: WORKERS, window: WINDOW, senders: SENDERS, throughputSeconds: secs },
    loadAverage: os.loadavg(),
    serverCounters: health,
    baseRssMiB: +(baseRss / 2 ** 20).toFixed(1),
    baseline,
    steps: results,
    throughput: tp,
    stoppedBecause,
    phoenixPublished: phoenix,
    wallSeconds: Math.round((Date.now() - T0) / 1000),
  };
  mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench-results/signaling-load.json'), JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwrote bench-results/signaling-load.json (${out.wallSeconds} s)`);

  for (const w of workers) w.child.send({ cmd: 'exit' });
  await Promise.all(workers.map((w) => new Promise((r) => w.child.once('exit', r))));
  server.proc.kill('SIGTERM');
  await new Promise((r) => server.proc.once('exit', r));
}

(args.worker ? workerMain() : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
