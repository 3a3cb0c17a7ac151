#!/usr/bin/env node
// 16 MiB from one peer to another in one Node process, the raw data channel and roomsync's
// action side by side, runs interleaved: the rooms benchmark's "16 MiB transfer" row without its
// separate processes, plus where each transfer stalled longest. Not part of npm test.
//   scripts/netns.sh node tests/bench/bulk-pair.js [--runs 10] [--mib 16]
// raw: one RTCPeerConnection pair (@roamhq/wrtc), 16 KiB messages, the same backpressure as
// tests/bench/rooms/raw.js (above 1 MiB buffered, wait until below 256 KiB, polled every ms).
// roomsync: two joinRoom peers on a local signaling server, one makeAction payload.
import { parseArgs } from 'node:util';
import wrtc from '@roamhq/wrtc';
import { createServer } from '../../js/server/index.js';
import { joinRoom } from '../../js/index.js';

const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '10' }, mib: { type: 'string', default: '16' } } });
const RUNS = Number(opts.runs);
const SIZE = Number(opts.mib) << 20;
const CHUNK = 16 << 10, HIGH = 1 << 20, LOW = 256 << 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Tracks the longest pause between two arrivals, and how far the transfer was then.
function gaps(start) {
  const g = { last: start, max: 0, at: 0 };
  g.arrived = (fraction) => {
    const now = performance.now();
    if (now - g.last > g.max) { g.max = now - g.last; g.at = fraction; }
    g.last = now;
  };
  return g;
}

async function rawRun(data) {
  const a = new wrtc.RTCPeerConnection({ iceServers: [] });
  const b = new wrtc.RTCPeerConnection({ iceServers: [] });
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const dc = a.createDataChannel('bulk');
  const remote = new Promise((resolve) => { b.ondatachannel = (e) => resolve(e.channel); });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  const rc = await remote;
  rc.binaryType = 'arraybuffer';
  if (dc.readyState !== 'open') await new Promise((r) => { dc.onopen = r; });
  const t0 = performance.now();
  const g = gaps(t0);
  let got = 0;
  const done = new Promise((resolve) => {
    rc.onmessage = (e) => {
      got += e.data.byteLength;
      g.arrived(got / SIZE);
      if (got >= SIZE) resolve();
    };
  });
  for (let o = 0; o < SIZE; o += CHUNK) {
    if (dc.bufferedAmount > HIGH) while (dc.bufferedAmount > LOW) await sleep(1);
    dc.send(data.subarray(o, o + CHUNK));
  }
  await done;
  const ms = performance.now() - t0;
  a.close();
  b.close();
  return { ms, gap: g };
}

async function roomsyncRun(server, data, n) {
  const options = { signaling: server.url, room: `bulk-pair-${n}`, rtcPolyfill: wrtc };
  const a = await joinRoom(options);
  const b = await joinRoom(options);
  const errors = [];
  for (const r of [a, b]) r.on('error', (e) => errors.push(e.code));
  while (a.peerInfo(b.peerId)?.via !== 'datachannel' || b.peerInfo(a.peerId)?.via !== 'datachannel') await sleep(5);
  const [send] = a.makeAction('bulk');
  const [, onMessage, onProgress] = b.makeAction('bulk');
  const got = new Promise((resolve) => onMessage((bytes) => resolve(bytes.length)));
  const t0 = performance.now();
  const g = gaps(t0);
  onProgress((fraction) => g.arrived(fraction));
  await send(data);
  const len = await got;
  const ms = performance.now() - t0;
  await Promise.all([a.leave(), b.leave()]);
  if (len !== SIZE || errors.length) throw new Error(`roomsync run ${n}: ${len} bytes, errors ${errors.join(', ')}`);
  return { ms, gap: g };
}

const server = await createServer({ port: 0, logger: 'silent' });
const data = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 31) >>> 3;
const results = { raw: [], roomsync: [] };
await rawRun(data); // warm-up: both stacks and the wasm module
await roomsyncRun(server, data, -1);
const row = (name, r) => `${name.padEnd(9)}${r.ms.toFixed(0).padStart(7)} ms ${(SIZE / 1e6 / (r.ms / 1000)).toFixed(1).padStart(6)} MB/s   longest pause ${r.gap.max.toFixed(0).padStart(5)} ms at ${(100 * r.gap.at).toFixed(1)}%`;
for (let i = 0; i < RUNS; i++) {
  const raw = await rawRun(data);
  const ours = await roomsyncRun(server, data, i);
  results.raw.push(raw);
  results.roomsync.push(ours);
  console.log(`run ${i}: ${row('raw', raw)}\n        ${row('roomsync', ours)}`);
}
await server.close();
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const mr = median(results.raw.map((r) => r.ms)), mo = median(results.roomsync.map((r) => r.ms));
console.log(`${opts.mib} MiB, medians of ${RUNS}: raw ${mr.toFixed(0)} ms (${(SIZE / 1e6 / (mr / 1000)).toFixed(1)} MB/s), roomsync ${mo.toFixed(0)} ms (${(SIZE / 1e6 / (mo / 1000)).toFixed(1)} MB/s): roomsync at ${(100 * mr / mo).toFixed(0)}% of raw`);
const stalls = (rs) => rs.filter((r) => r.gap.max >= 300).length;
console.log(`runs with a pause of 300 ms or more: raw ${stalls(results.raw)}, roomsync ${stalls(results.roomsync)}`);
process.exit(0);
