// The rooms benchmark in headless Chromium (rooms.js --scenario chromium): the late-joiner and
// keystroke figures with peers in browser pages instead of Node processes.
//
// One Chromium (playwright-core, the flags of ../shared/docs/webrtc-testing.md), two pages per
// column, each page in its own browser context (as two users; it also keeps y-webrtc's
// BroadcastChannel shortcut between tabs of one profile idle, so its updates go over WebRTC).
// Pages come from our signaling server (createServer with staticDirs, in this process), which
// also serves as roomsync's signaling; page code is pages/bench-page.js. Columns:
//   raw       an RTCPeerConnection pair, offer/answer passed by this process (the floor)
//   ywebrtc   Yjs + y-webrtc bundled by esbuild from node_modules into a temporary file, with
//             y-webrtc's own signaling server as a child process (as the Node column)
//   roomsync  createDoc + joinRoom from /js/index.js
// Every page loads its library (and instantiates the wasm) before anything is timed; the
// late joiner's document is built in Node (docs.js) and handed to the source page as bytes.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildInto, expectedText, unavailableSpec } from './docs.js';
import { startSignaling as startYSignaling } from './ywebrtc.js';
import { REPO, pkgVersion } from '../traces.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// The rows this scenario fills, and the columns that have them.
export const SCENARIOS = { 'chromium-latejoin': ['ywebrtc', 'roomsync'], 'chromium-latejoin-rustcode': ['ywebrtc', 'roomsync'],
  'chromium-keystroke': ['raw', 'ywebrtc', 'roomsync'] };
// The document each late-joiner row syncs (docs.js): automerge-paper as the issue asks; rustcode,
// the largest trace whose Yjs state fits one data channel message, so that y-webrtc has a figure.
export const LATE_SPECS = { 'chromium-latejoin': 'automerge-paper', 'chromium-latejoin-rustcode': 'rustcode' };

/** Why the Chromium rows cannot run here, or null. */
export async function unavailable() {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`;
  try {
    await import('playwright-core');
  } catch (e) {
    return `playwright-core cannot be loaded: ${e.message}`;
  }
  return null;
}

export const version = () => `playwright-core ${pkgVersion('playwright-core')}`;

// Yjs + y-webrtc as one browser ES module (simple-peer comes prebuilt for browsers in y-webrtc's
// import, lib0 picks its browser files under platform 'browser').
async function bundleYWebrtc(dir) {
  const esbuild = await import('esbuild');
  const file = path.join(dir, 'ywebrtc.js');
  await esbuild.build({
    stdin: { contents: "export * as Y from 'yjs';\nexport { WebrtcProvider } from 'y-webrtc';\n", resolveDir: REPO, loader: 'js' },
    bundle: true, format: 'esm', platform: 'browser', outfile: file, logLevel: 'error',
  });
  return file;
}

// The late joiner's document, built in Node through the library's own API: roomsync encodeState
// or the Yjs update, as base64 for page.evaluate.
async function buildState(column, spec) {
  if (column === 'roomsync') {
    const { createDoc } = await import(pathToFileURL(path.join(REPO, 'js/index.js')).href);
    const doc = await createDoc();
    buildInto(spec, doc, doc.getText('text'));
    const bytes = doc.encodeState();
    doc.destroy();
    return Buffer.from(bytes).toString('base64');
  }
  const Y = await import('yjs');
  const doc = new Y.Doc();
  buildInto(spec, doc, doc.getText('text'));
  const bytes = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return Buffer.from(bytes).toString('base64');
}

// One page: its context, and a call() into window.bench with a hang guard (the page's own waits
// time out first; this catches a page that stopped answering).
async function openPage(browser, url, column) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e).split('\n')[0]));
  await page.goto(url);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
  const call = (step, arg, guardMs = 120_000) => {
    let timer;
    const guard = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`page ${step} did not answer in ${guardMs / 1000} s`)), guardMs); });
    return Promise.race([page.evaluate(([s, a]) => window.bench[s](a), [step, arg]), guard]).finally(() => clearTimeout(timer));
  };
  await call('init', column);
  return { context, page, errors, call };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().on('error', reject).listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

let roomSeq = 0;
const freshRoom = (s) => `chromium-${s}-${process.pid}-${++roomSeq}`;
const leaveBoth = (pages) => Promise.all(pages.map((p) => p.call('leave')));

// Joins both pages (raw: offer/answer through this process) and waits for an open, synced channel.
async function connectPair(col, [a, b], room, timeoutMs) {
  await a.call('join', { room, signaling: col.signaling });
  await b.call('join', { room, signaling: col.signaling });
  if (col.name === 'raw') await a.call('rawAccept', await b.call('rawAnswer', await a.call('rawOffer')));
  return Promise.all([a, b].map((p) => p.call('waitOpen', { timeoutMs })));
}

const scenarios = {
  // A page holds the document; a second page joins with an empty one; time (in that page) from
  // its join (createDoc + joinRoom / new WebrtcProvider) until its text equals the document.
  async 'chromium-latejoin'(col, o, sc = 'chromium-latejoin') {
    const [src, joiner] = col.pages;
    const spec = LATE_SPECS[sc];
    const room = freshRoom(sc);
    await src.call('join', { room, signaling: col.signaling, spec });
    const r = await joiner.call('joinAndWaitText', { room, signaling: col.signaling, want: spec, timeoutMs: o.timeoutMs });
    await leaveBoth(col.pages);
    const stateBytes = col.stateBytes[spec];
    return r.timeout !== undefined ? { timeout: r.timeout, peers: [r.state], stateBytes } : { ms: r.ms, stateBytes };
  },
  'chromium-latejoin-rustcode': (col, o) => scenarios['chromium-latejoin'](col, o, 'chromium-latejoin-rustcode'),

  // Round trips of one keystroke (raw: a 24-byte message) answered by the other page, timed in
  // the sending page; one-way = RTT / 2 (no clock compared across pages).
  async 'chromium-keystroke'(col, o) {
    const [a, b] = col.pages;
    const open = await connectPair(col, col.pages, freshRoom('keystroke'), o.timeoutMs);
    const late = open.find((r) => r.timeout !== undefined);
    if (late) { await leaveBoth(col.pages); return { timeout: late.timeout, peers: open.map((r) => r.state) }; }
    await b.call('echo');
    await a.call('ping', { count: o.keyWarm, timeoutMs: o.timeoutMs });
    const r = await a.call('ping', { count: o.keystrokes, timeoutMs: o.timeoutMs });
    await leaveBoth(col.pages);
    if (r.timeout !== undefined) return { timeout: r.timeout, peers: [r.state] };
    const s = [...r.samples].sort((x, y) => x - y);
    const pct = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
    return { p50: pct(50), p99: pct(99), max: s[s.length - 1], n: s.length, openMs: Math.max(...open.map((x) => x.ms)) };
  },
};

/**
 * Runs the Chromium rows for `columns` (of raw, ywebrtc, roomsync): `runs` runs each after one
 * untimed warm-up (unless `warm` is false), interleaved across columns. Returns
 * { results: { [scenario]: { [column]: { runs, warmup?, failures?, error? } } }, info }.
 * `track(child)` registers a child process for clean-up on exit; `tick()` is called per run.
 */
export async function runChromium({ columns, runs, warm, timeoutMs, keystrokes, keyWarm, track = () => {}, tick = () => {} }) {
  const { launchChromium } = await import('../../webrtc/helpers/chromium.js');  // the tests' flags
  const { createServer, defaultStaticDirs } = await import(pathToFileURL(path.join(REPO, 'js/server/index.js')).href);
  const o = { timeoutMs, keystrokes, keyWarm };
  const results = {};
  for (const [sc, cols] of Object.entries(SCENARIOS)) {
    results[sc] = {};
    const why = LATE_SPECS[sc] ? unavailableSpec(LATE_SPECS[sc]) : null; // a missing trace
    if (why) console.log(`\n!!!!! SKIPPED ${sc}: ${why} !!!!!`);
    for (const c of columns) if (cols.includes(c)) results[sc][c] = why ? { skipped: why, runs: [] } : { runs: [] };
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'roomsync-bench-chromium-'));
  let srv = null;
  let browser = null;
  const ysig = { stop: async () => {} };
  const cols = [];
  try {
    if (columns.includes('ywebrtc')) await bundleYWebrtc(tmp);
    srv = await createServer({ port: 0, host: '127.0.0.1', logger: 'silent',
      staticDirs: [...defaultStaticDirs(), { prefix: '/bench/', dir: path.join(HERE, 'pages') }, { prefix: '/bench-lib/', dir: tmp }] });
    browser = await launchChromium();
    const info = { chromium: browser.version() };
    for (const name of columns) {
      let signaling = srv.url;
      if (name === 'ywebrtc') {
        Object.assign(ysig, await startYSignaling({ port: await freePort() }));
        track(ysig.child);
        signaling = ysig.url;
      }
      const url = `${srv.httpUrl}/bench/bench.html`;
      const pages = [await openPage(browser, url, name), await openPage(browser, url, name)];
      const col = { name, signaling, pages };
      col.stateBytes = {};
      for (const [sc, spec] of Object.entries(LATE_SPECS)) {
        if (!results[sc][name] || results[sc][name].skipped) continue;
        col.stateBytes[spec] = await pages[0].call('prepare', { spec, b64: await buildState(name, spec) });
        await pages[1].call('expect', { spec, text: expectedText(spec) });
      }
      cols.push(col);
    }

    for (let i = warm ? -1 : 0; i < runs; i++) {
      for (const col of cols) {
        for (const sc of Object.keys(SCENARIOS)) {
          const res = results[sc][col.name];
          if (!res || res.skipped || res.error || res.gaveUp) continue;
          try {
            const r = await scenarios[sc](col, o);
            // A document that did not sync in time will not in the next run either (one data
            // channel message can hold 256 KiB in Chromium too): stop at the first timeout.
            if (r.timeout !== undefined && LATE_SPECS[sc] && !res.synced) res.gaveUp = true;
            if (r.timeout === undefined) res.synced = true;
            if (i >= 0 || res.gaveUp) res.runs.push(r);
            else res.warmup = r;
            if (r.timeout !== undefined) console.log(`\n   ${sc} / ${col.name}: timeout after ${r.timeout / 1000} s; pages saw ${JSON.stringify(r.peers)}`);
          } catch (e) {
            const msg = String(e?.message || e).split('\n')[0];
            const pageErrors = col.pages.flatMap((p) => p.errors.splice(0));
            res.failures = [...(res.failures || []), msg + (pageErrors.length ? ` (page errors: ${pageErrors.join('; ')})` : '')];
            console.log(`\n!!!!! ${sc} / ${col.name}: run failed: ${res.failures.at(-1)}`);
            await Promise.all(col.pages.map((p) => p.call('leave', undefined, 10_000).catch(() => {})));
            if (res.failures.length >= 3) res.error = res.failures.join(' | ');
          }
        }
      }
      tick();
    }
    return { results, info };
  } finally {
    await browser?.close().catch(() => {});
    await srv?.close().catch(() => {});
    await ysig.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
