#!/usr/bin/env node
// roomsync benchmark: our WASM engine beside Yjs, Loro, Automerge and json-joy (from npm), in
// one Node process, on the editing traces in ../shared/traces (or $ROOMSYNC_TRACES).
//
//   node tests/bench/run.js [--trace NAME[,NAME]] [--runs N] [--only lib,lib] [--quick]
//                           [--automerge-all] [--no-memory] [--no-native] [--no-merge] [--json FILE]
//
// Per trace and library (medians of N runs after one warm-up run; every raw run is in the JSON):
//   apply      every txn of the trace through the normal per-edit API (insert/delete; a txn of
//              several calls is one transaction), no update listener
//   B4         crdt-benchmarks B4: the same, but every txn is its own transaction and emits its
//              update bytes (as a peer does while someone types); total update bytes reported
//   encoded    the library's normal full-document encoding, raw and gzip -9
//   load       load the encoded document, read the whole text, make one edit (Loro loads
//              lazily, so the first edit is part of the figure for everyone)
//   update     apply the whole history as one remote update to an empty document, read text
//   memory     fresh child process per library (node --expose-gc): heapUsed + external after
//              loading the document, minus the same after importing the library (delta), and
//              minus a bare Node process (total, i.e. including the library itself); per run:
//              that delta divided by the text's runs (roomsync: runs in its tree; Yjs: items)
// The synthetic trace random-typing-30k (30,000 keystrokes at random positions, seeded) is the
// worst case for memory per run; it runs by default and with --quick.
// Plus: native figures for the C++ core (build/roomsync_bench --json, if built), and the size
// of dist/roomsync.wasm + glue, raw and gzip -9. Targets are printed (PASS/MISS), never asserted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { RANDOM_TRACE, REPO, listTraces, loadTrace, replayEdits, tracesDir } from './traces.js';
import { benchConcurrentMerge, markdownMerge, mergeTarget, printMerge } from './concurrent-merge.js'; // issue 8
import { measureFloor } from './js-floor.js'; // issue 8

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ALL_LIBS = ['roomsync', 'yjs', 'loro', 'jsonjoy', 'automerge'];
const TARGET_TRACE = 'automerge-paper';
const TEN = 10; // documents loaded in one process for the memory row of the target trace
const LARGE_TXNS = 100_000; // traces above this get fewer default runs
const WARM_MS = 600; // warm-up per library and phase: repeat until this long …
const WARM_MAX = 10; // … or this many runs

// ---------------------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = { traces: null, runs: null, only: null, quick: false, automergeAll: false, memory: true, native: true, merge: true,
    json: path.join(REPO, 'bench-results', 'bench.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--trace' || a === '--traces') o.traces = [...(o.traces || []), ...val().split(',').filter(Boolean)];
    else if (a === '--runs') o.runs = Math.max(1, parseInt(val(), 10) || 1);
    else if (a === '--only') o.only = val().split(',').map((s) => s.trim().toLowerCase().replace('json-joy', 'jsonjoy')).filter(Boolean);
    else if (a === '--quick') o.quick = true;
    else if (a === '--automerge-all') o.automergeAll = true;
    else if (a === '--no-memory') o.memory = false;
    else if (a === '--no-native') o.native = false;
    else if (a === '--no-merge') o.merge = false; // concurrent merge (issue 8)
    else if (a === '--json') o.json = path.resolve(val());
    else if (a === '-h' || a === '--help') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 25).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.only) for (const l of o.only) if (!ALL_LIBS.includes(l)) throw new Error(`--only: unknown library ${l} (${ALL_LIBS.join(', ')})`);
  return o;
}

// Re-run under --expose-gc (a forced gc before every timed run keeps one library's garbage out
// of the next one's timing) with room for Automerge's heap.
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

// ---------------------------------------------------------------------------- helpers
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const gz9 = (bytes) => gzipSync(bytes, { level: 9 }).length;
const now = () => performance.now();
const settle = async () => { globalThis.gc(); await new Promise((r) => setImmediate(r)); globalThis.gc(); };

// No forced GC right before a timed run: a forced full GC measurably slows the next runs of
// every engine (json-crdt-patch apply: roomsync 5 -> 20 ms, json-joy 10 -> 110 ms), so GC runs
// once before each phase's warm-up instead, and collection during a run counts as its cost.
async function timed(fn) {
  const t0 = now();
  const r = await fn();
  return [now() - t0, r];
}

// ---------------------------------------------------------------------------- one trace, every library
// Runs are interleaved round-robin across the libraries (run 1 of each, then run 2 of each, …)
// so that load from elsewhere on a shared machine hits every library alike.
async function benchTrace(libs, order, trace, opt, tmpdir) {
  const S = {};
  for (const l of order) {
    const A = libs[l];
    const heavy = opt.automergeAll ? null : A.heavy || null;
    const perEdit = !heavy || heavy.traces.includes(trace.name);
    const runs = heavy ? Math.min(opt.runsFor(trace), heavy.runs) : opt.runsFor(trace);
    const warmup = !opt.quick && !(heavy && heavy.warmup === false);
    const loadRuns = heavy ? Math.max(1, Math.min(3, runs + 2)) : Math.max(runs, 5);
    const res = { version: A.version, runs, loadRuns, warmup, ok: true, errors: [],
      apply: { runs: [] }, b4: { runs: [] }, load: { runs: [] }, loadRead: { runs: [] }, update: { runs: [] }, encode: { runs: [] }, seconds: 0 };
    if (!perEdit) res.skipped = `time-bound: per-edit runs only on ${heavy.traces.join(', ')} (use --automerge-all)`;
    S[l] = { A, heavy, res, built: null, bytes: null, update: null };
  }
  const live = () => order.filter((l) => !S[l].res.skipped && !S[l].res.error);
  const check = (l, what, got) => {
    if (got !== trace.endContent) {
      S[l].res.ok = false;
      if (S[l].res.errors.length < 5) S[l].res.errors.push(`${what}: wrong text (length ${got.length}, expected ${trace.endContent.length})`);
    }
  };
  // Runs step(l, i) for every live library, round-robin, i < count(l); a throw marks that library.
  const rounds = async (count, step) => {
    const n = Math.max(0, ...live().map(count));
    for (let i = 0; i < n; i++) {
      for (const l of live()) {
        if (i >= count(l)) continue;
        const t0 = now();
        try { await step(l, i); } catch (e) { S[l].res.error = String(e?.stack || e).split('\n').slice(0, 3).join(' | '); }
        S[l].res.seconds += (now() - t0) / 1000;
      }
    }
  };
  const warm = (l) => (S[l].res.warmup ? 1 : 0);
  const phase = async (what) => { process.stdout.write(`${what} `); await settle(); };

  // apply: per-edit API, no listener
  await phase('apply');
  // Warm-up: repeated until it has taken WARM_MS or WARM_MAX runs (at least one), the same rule
  // for every library: V8 optimises JS and tiers WebAssembly up from its baseline compiler only
  // after enough calls, which one pass over a small trace does not give.
  const warmUntil = async (l, fn) => {
    const t0 = now();
    for (let i = 0; i < WARM_MAX && (i === 0 || now() - t0 < WARM_MS); i++) await fn();
  };
  await rounds(warm, (l) => warmUntil(l, async () => { const { A } = S[l]; const r = await A.applyTrace(trace); check(l, 'apply warm-up', A.text(r.doc)); A.destroy(r.doc); }));
  await rounds((l) => S[l].res.runs, async (l, i) => {
    const { A, heavy, res } = S[l];
    const keep = !!heavy && i === res.runs - 1; // a heavy library reuses its last run's document
    const [ms, r] = await timed(() => A.applyTrace(trace, { keep }));
    res.apply.runs.push(ms);
    check(l, 'apply', A.text(r.doc));
    if (keep) S[l].built = r; else A.destroy(r.doc);
  });

  // B4: every txn its own transaction emitting its update bytes
  await phase('B4');
  await rounds(warm, (l) => warmUntil(l, async () => { const { A } = S[l]; const r = await A.applyTrace(trace, { b4: true }); A.destroy(r.doc); }));
  await rounds((l) => S[l].res.runs, async (l) => {
    const { A, res } = S[l];
    const [ms, r] = await timed(() => A.applyTrace(trace, { b4: true }));
    res.b4.runs.push(ms);
    res.b4.updates = r.updates;
    res.b4.updateBytes = r.updateBytes;
    check(l, 'B4', A.text(r.doc));
    A.destroy(r.doc);
  });

  // the documents used for encoding and loading (built untimed), encode timings and sizes
  await phase('encode');
  await rounds(() => 1, async (l) => { if (!S[l].built) S[l].built = await S[l].A.applyTrace(trace, { keep: true }); });
  // warm-up: a few untimed encodes (a WASM engine's encoder otherwise runs its first calls in
  // V8's baseline tier before it is optimised)
  await rounds((l) => 3 * warm(l), async (l) => { await S[l].A.encode(S[l].built.doc); });
  await rounds((l) => S[l].res.loadRuns, async (l) => {
    const { A, res, built } = S[l];
    const [ms, b] = await timed(() => A.encode(built.doc));
    res.encode.runs.push(ms);
    S[l].bytes = b;
  });
  await rounds(() => 1, async (l) => {
    const x = S[l];
    x.update = await x.A.encodeUpdate(x.built.doc);
    x.res.encoded = { raw: x.bytes.length, gzip: gz9(x.bytes), ...(x.A.extraSizes ? x.A.extraSizes(x.built.doc) : {}) };
    x.res.updateSize = { raw: x.update.length, gzip: gz9(x.update) };
    x.A.destroy(x.built.doc);
    x.built = null;
  });

  // load + read + one edit
  await phase('load');
  await rounds(warm, async (l) => { const { A } = S[l]; const r = await A.loadReadEdit(S[l].bytes); check(l, 'load warm-up', r.text); A.destroy(r.doc); });
  await rounds((l) => S[l].res.loadRuns, async (l) => {
    const { A, res } = S[l];
    const [ms, r] = await timed(() => A.loadReadEdit(S[l].bytes));
    res.load.runs.push(ms);
    check(l, 'load', r.text);
    A.destroy(r.doc);
  });

  // load + read only (no edit): for Loro, whose snapshot import is lazy, the edit is what
  // forces the full load, hence both rows
  await rounds((l) => S[l].res.loadRuns, async (l) => {
    const { A, res } = S[l];
    const [ms, r] = await timed(() => A.loadReadEdit(S[l].bytes, false));
    res.loadRead.runs.push(ms);
    check(l, 'load (read only)', r.text);
    A.destroy(r.doc);
  });

  // the whole history as one remote update into an empty doc
  await phase('update');
  await rounds(warm, async (l) => { const { A } = S[l]; const r = await A.applyRemote(S[l].update); A.destroy(r.doc); });
  await rounds((l) => S[l].res.loadRuns, async (l) => {
    const { A, res } = S[l];
    const [ms, r] = await timed(() => A.applyRemote(S[l].update));
    res.update.runs.push(ms);
    check(l, 'update', r.text);
    A.destroy(r.doc);
  });

  // memory after load, one fresh process per library
  if (tmpdir) {
    process.stdout.write('memory ');
    for (const l of live()) {
      const file = path.join(tmpdir, `${trace.name}.${l}.bin`);
      writeFileSync(file, S[l].bytes);
      const t0 = now();
      S[l].res.memory = memoryOf(l, file);
      // Ten loaded documents in one process (they share a module's memory); automerge's would
      // take minutes and gigabytes.
      if (trace.name === TARGET_TRACE && l !== 'automerge') S[l].res.memory10 = memoryOf(l, file, TEN);
      S[l].res.seconds += (now() - t0) / 1000;
      rmSync(file, { force: true });
    }
  }
  console.log();

  const out = {};
  for (const l of order) {
    const { res } = S[l];
    for (const k of ['apply', 'b4', 'load', 'loadRead', 'update', 'encode']) res[k].median = median(res[k].runs);
    out[l] = res;
  }
  return out;
}

// Memory after load, in a fresh process per library.
function memoryOf(lib, file, count = 1) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', path.join(HERE, 'memchild.js'), lib, file, String(count)],
    { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 300_000 });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' ') };
  const m = JSON.parse(r.stdout.trim().split('\n').pop());
  const he = (s) => s.heapUsed + s.external;
  return {
    deltaBytes: he(m.after) - he(m.base), // the document alone (library already initialised)
    runs: m.runs ?? null, // text runs (roomsync) or items (Yjs) of the loaded document
    docBytes: m.docBytes ?? null, // roomsync: what the core counts the document holds
    totalBytes: he(m.after) - he(m.bare), // the document plus the library itself
    rssDeltaBytes: m.after.rss - m.base.rss,
    rssTotalBytes: m.after.rss - m.bare.rss,
    raw: m,
  };
}

// ---------------------------------------------------------------------------- native + wasm
function findNativeBench() {
  if (process.env.ROOMSYNC_BENCH_BIN) return process.env.ROOMSYNC_BENCH_BIN;
  const cands = ['build/roomsync_bench', 'build/tests/bench/roomsync_bench', 'build/bench/roomsync_bench', 'build/native/roomsync_bench'];
  for (const c of cands) if (existsSync(path.join(REPO, c))) return path.join(REPO, c);
  // any build*/ directory, two levels deep
  for (const d of readdirSync(REPO).filter((n) => n.startsWith('build'))) {
    const stack = [[path.join(REPO, d), 0]];
    while (stack.length) {
      const [dir, depth] = stack.pop();
      let ents = [];
      try { ents = readdirSync(dir, { withFileTypes: true }); } catch { continue; }
      for (const e of ents) {
        const p = path.join(dir, e.name);
        if (e.isFile() && e.name === 'roomsync_bench') return p;
        if (e.isDirectory() && depth < 3 && !e.name.startsWith('CMakeFiles') && e.name !== '_deps') stack.push([p, depth + 1]);
      }
    }
  }
  return null;
}

function runNative(traceNames, opt) {
  const bin = findNativeBench();
  if (!bin) return { skipped: 'build/roomsync_bench not built (cmake --build build --target roomsync_bench)' };
  const args = ['--json', '--traces', tracesDir()];
  for (const t of traceNames) args.push('--trace', t);
  if (opt.runs) args.push('--runs', String(opt.runs));
  if (opt.quick) args.push('--runs', '1');
  const t0 = now();
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 900_000 });
  if (r.status !== 0) return { bin, error: (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-5).join(' | ') };
  try {
    return { bin, wallMs: now() - t0, ...JSON.parse(r.stdout) };
  } catch (e) {
    return { bin, error: `bad JSON from ${bin}: ${e.message}` };
  }
}

function wasmSizes() {
  const files = { wasm: 'dist/roomsync.wasm', glue: 'dist/roomsync.mjs', api: 'js/index.js' };
  const out = {};
  for (const [k, f] of Object.entries(files)) {
    const p = path.join(REPO, f);
    if (!existsSync(p)) { out[k] = { file: f, missing: true }; continue; }
    const b = readFileSync(p);
    out[k] = { file: f, raw: b.length, gzip9: gz9(b) };
  }
  if (!out.wasm.missing && !out.glue.missing) {
    out.wasmPlusGlueGzip9 = out.wasm.gzip9 + out.glue.gzip9;
    if (!out.api.missing) out.wasmPlusGlueAndApiGzip9 = out.wasmPlusGlueGzip9 + out.api.gzip9;
  }
  return out;
}

// ---------------------------------------------------------------------------- printing
const fmtInt = (n) => (n == null ? '—' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n) => (n == null ? '—' : n >= 100 ? fmtInt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtMB = (b) => (b == null ? '—' : (b / 1048576).toFixed(2));
const ratio = (x, ours) => (x == null || ours == null || ours <= 0 ? '' : ` (${x / ours >= 100 ? Math.round(x / ours) : (x / ours).toFixed(x / ours >= 10 ? 0 : 1)}×)`);

const perRun = (m) => (m?.deltaBytes != null && m.runs ? m.deltaBytes / m.runs : null);

function rowsFor(r) {
  const get = (lib, f) => { const x = r.libs[lib]; return x && !x.skipped && !x.error ? f(x) : null; };
  return [
    ['apply, per-edit API (ms)', (l) => get(l, (x) => x.apply.median), fmtMs, true],
    ['B4: txn + update bytes each (ms)', (l) => get(l, (x) => x.b4.median), fmtMs, true],
    ['B4 update bytes, total', (l) => get(l, (x) => x.b4.updateBytes), fmtInt, true],
    ['encoded size (bytes)', (l) => get(l, (x) => x.encoded.raw), fmtInt, true],
    ['encoded size, gzip -9 (bytes)', (l) => get(l, (x) => x.encoded.gzip), fmtInt, true],
    ['load + read text + 1 edit (ms)', (l) => get(l, (x) => x.load.median), fmtMs, true],
    ['load + read text, no edit (ms)', (l) => get(l, (x) => x.loadRead.median), fmtMs, true],
    ['history as one update: bytes', (l) => get(l, (x) => x.updateSize.raw), fmtInt, true],
    ['history as one update: apply (ms)', (l) => get(l, (x) => x.update.median), fmtMs, true],
    ['encode (ms)', (l) => get(l, (x) => x.encode.median), fmtMs, true],
    ['memory after load, Δ heap+ext (MB)', (l) => get(l, (x) => x.memory?.deltaBytes), fmtMB, true],
    ['memory after load, incl. lib (MB)', (l) => get(l, (x) => x.memory?.totalBytes), fmtMB, true],
    ['RSS Δ after load (MB)', (l) => get(l, (x) => x.memory?.rssDeltaBytes), fmtMB, false],
    [`memory after loading ${TEN} docs, Δ heap+ext (MB)`, (l) => get(l, (x) => x.memory10?.deltaBytes), fmtMB, true],
    ['text runs after load (Yjs: items)', (l) => get(l, (x) => x.memory?.runs), fmtInt, false],
    ['memory per run, Δ heap+ext (B)', (l) => get(l, (x) => perRun(x.memory)), fmtInt, true],
    ['  of it the document, core count (B)', (l) => get(l, (x) => (x.memory?.docBytes && x.memory.runs ? x.memory.docBytes / x.memory.runs : null)), fmtInt, false],
  ];
}

function printTable(r, libs) {
  const hdr = ['', ...libs.map((l) => `${l}${r.libs[l]?.version ? '' : ''}`)];
  const rows = rowsFor(r).map(([label, get, fmt, withRatio]) => {
    const ours = get('roomsync');
    return [label, ...libs.map((l) => { const v = get(l); return v == null ? '—' : fmt(v) + (withRatio && l !== 'roomsync' ? ratio(v, ours) : ''); })];
  });
  const w = hdr.map((_, i) => Math.max(...[hdr, ...rows].map((row) => String(row[i]).length)));
  const line = (row) => row.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  console.log(line(hdr));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const row of rows) console.log(line(row));
  for (const l of libs) {
    const x = r.libs[l];
    if (!x) continue;
    if (x.skipped) console.log(`  ${l}: skipped — ${x.skipped}`);
    if (x.error) console.log(`  ${l}: ERROR — ${x.error}`);
    if (x.errors?.length) console.log(`  ${l}: WRONG — ${x.errors.slice(0, 3).join('; ')}`);
    if (x.memory?.error) console.log(`  ${l}: memory probe failed — ${x.memory.error}`);
  }
  console.log('  (×) = value / roomsync’s value: above 1 means roomsync is faster / smaller');
}

function markdownTable(r, libs) {
  const rows = rowsFor(r);
  const out = [`| ${r.name} | ${libs.join(' | ')} |`, `|---|${libs.map(() => '---:').join('|')}|`];
  for (const [label, get, fmt, withRatio] of rows) {
    const ours = get('roomsync');
    out.push(`| ${label} | ${libs.map((l) => { const v = get(l); return v == null ? '—' : fmt(v) + (withRatio && l !== 'roomsync' ? ratio(v, ours) : ''); }).join(' | ')} |`);
  }
  return out.join('\n');
}

// The trace's replay loop (traces.js replayEdits) calling a text whose insert and delete do
// nothing: the part of every library's apply time that is the benchmark's own (median of 9).
function replayLoopMs(trace) {
  let sink = 0;
  const text = { insert(pos, s) { sink += pos + s.length; }, delete(pos, n) { sink += pos + n; } };
  const doc = { transact(fn) { fn(); } };
  const runs = [];
  for (let i = 0; i < 12; i++) {
    const t0 = now();
    replayEdits(doc, text, trace);
    if (i >= 3) runs.push(now() - t0);
  }
  return sink < 0 ? null : median(runs);
}

// ---------------------------------------------------------------------------- targets
function targets(results, wasm, native) {
  const t = [];
  const ourNative = (name) => native?.traces?.find((x) => x.name === name && !x.error);
  const r = results.find((x) => x.name === TARGET_TRACE);
  const L = (lib) => (r && r.libs[lib] && !r.libs[lib].skipped && !r.libs[lib].error ? r.libs[lib] : null);
  const ours = L('roomsync');
  const add = (name, pass, detail) => t.push({ name, status: pass == null ? 'N/A' : pass ? 'PASS' : 'MISS', detail });
  const oursOk = ours && ours.ok;
  const rt = (a, b) => (a && b ? a / b : null);
  if (!r) add(`targets need the ${TARGET_TRACE} trace`, null, 'not run');
  else {
    const yj = L('yjs'), jj = L('jsonjoy'), lo = L('loro');
    const aJ = rt(jj?.apply.median, ours?.apply.median), aY = rt(yj?.apply.median, ours?.apply.median);
    add('apply ≥10× faster than json-joy', oursOk && aJ != null ? aJ >= 10 : null, aJ != null ? `${aJ.toFixed(1)}×` : 'n/a');
    if (aJ != null && r.loopMs != null) {
      t[t.length - 1].detail += ` (the target is ${fmtMs(jj.apply.median / 10)} ms; the replay loop alone, calling a text that does nothing, takes ${fmtMs(r.loopMs)} ms`
        + (r.floor ? `; our JS API with a core that does nothing, ${fmtMs(r.floor.apply)} ms)` : ')');
    }
    add('apply ≥50× faster than Yjs', oursOk && aY != null ? aY >= 50 : null, aY != null ? `${aY.toFixed(1)}×` : 'n/a');
    const bJ = rt(jj?.b4.median, ours?.b4.median);
    add('B4 ≥4× faster than json-joy', oursOk && bJ != null ? bJ >= 4 : null, bJ != null ? `${bJ.toFixed(1)}×` : 'n/a');
    if (bJ != null && r.floor) {
      t[t.length - 1].detail += ` (the target is ${fmtMs(jj.b4.median / 4)} ms; our JS API with a core that does nothing, ${fmtMs(r.floor.b4)} ms)`;
    }
    // Issue 8: a keystroke's update no larger than json-joy's (B4 bytes per transaction).
    const perTxn = (x) => (x?.b4?.updateBytes != null && r.stats?.txns ? x.b4.updateBytes / r.stats.txns : null);
    const uO = perTxn(ours), uJ = perTxn(jj);
    add('B4 update bytes per keystroke ≤ json-joy', oursOk && uO != null && uJ != null ? uO <= uJ : null,
      uO != null && uJ != null ? `${uO.toFixed(1)} vs ${uJ.toFixed(1)} B (Yjs ${perTxn(yj)?.toFixed(1) ?? 'n/a'})` : 'n/a');
    const peers = ['yjs', 'loro', 'automerge', 'jsonjoy'].filter((l) => L(l)?.load.median != null);
    const slower = peers.filter((l) => L(l).load.median <= ours?.load.median);
    add('load + read + 1 edit faster than every peer', oursOk && peers.length ? slower.length === 0 : null,
      ours ? `ours ${fmtMs(ours.load.median)} ms; ${peers.map((l) => `${l} ${fmtMs(L(l).load.median)}`).join(', ')}` : 'n/a');
    add('encoded size ≤ Yjs (raw)', oursOk && yj ? ours.encoded.raw <= yj.encoded.raw : null,
      ours && yj ? `${fmtInt(ours.encoded.raw)} vs ${fmtInt(yj.encoded.raw)} B (gzip ${fmtInt(ours.encoded.gzip)} vs ${fmtInt(yj.encoded.gzip)})` : 'n/a');
    // Both views must pass: Δ alone flatters an engine that preallocates its heap (Emscripten's
    // 16 MB INITIAL_MEMORY is already in the baseline), incl. library alone counts code size.
    const mo = ours?.memory, ml = lo?.memory;
    const have = mo?.deltaBytes != null && ml?.deltaBytes != null;
    add('memory after load ≤ Loro (Δ and incl. library)', oursOk && have ? mo.deltaBytes <= ml.deltaBytes && mo.totalBytes <= ml.totalBytes : null,
      have ? `Δ ${fmtMB(mo.deltaBytes)} vs ${fmtMB(ml.deltaBytes)} MB; incl. library ${fmtMB(mo.totalBytes)} vs ${fmtMB(ml.totalBytes)} MB` : 'n/a');
    // Issue 8: the load's peak (native heap counter) and ten documents in one process.
    const nat = ourNative(TARGET_TRACE);
    const pk = nat?.heap_peak_during_load_bytes, hp = nat?.heap_after_load_bytes;
    add('load peak heap ≤ 1.5× the loaded document (native)', pk && hp ? pk <= 1.5 * hp : null,
      pk && hp ? `peak ${fmtMB(pk)} MB, document ${fmtMB(hp)} MB (${(pk / hp).toFixed(2)}×)` : 'native bench not run');
    const t10 = (lib) => L(lib)?.memory10?.deltaBytes;
    const ten = [['loro', t10('loro')], ['yjs', t10('yjs')]].filter(([, v]) => v != null);
    add(`${TEN} loaded documents ≤ Loro ×${TEN} (Δ)`, oursOk && t10('roomsync') != null && t10('loro') != null ? t10('roomsync') <= t10('loro') : null,
      t10('roomsync') != null ? `${fmtMB(t10('roomsync'))} MB; ${ten.map(([l, v]) => `${l} ${fmtMB(v)}`).join(', ')}` : 'n/a');
  }
  // Memory per run on the worst case (issue 8), each library's memory over its own runs.
  const rr = results.find((x) => x.name === RANDOM_TRACE);
  const R = (lib) => (rr && rr.libs[lib] && !rr.libs[lib].skipped && !rr.libs[lib].error ? rr.libs[lib] : null);
  const pO = perRun(R('roomsync')?.memory), pY = perRun(R('yjs')?.memory);
  add(`memory per run ≤ ½ Yjs (${RANDOM_TRACE})`, R('roomsync')?.ok && pO != null && pY != null ? pO <= pY / 2 : null,
    pO != null && pY != null ? `${fmtInt(pO)} vs ${fmtInt(pY)} B per run (${(pO / pY).toFixed(2)}×)` : 'n/a');
  const g = wasm.wasmPlusGlueGzip9;
  add('.wasm + glue < 150 KB gzip -9', g != null ? g < 150 * 1024 : null,
    g != null ? `${(g / 1024).toFixed(1)} KiB (wasm ${fmtInt(wasm.wasm.gzip9)} + glue ${fmtInt(wasm.glue.gzip9)} B)` +
      (wasm.wasmPlusGlueAndApiGzip9 ? `; with js/index.js ${(wasm.wasmPlusGlueAndApiGzip9 / 1024).toFixed(1)} KiB` : '') : 'dist/ not built');
  return t;
}

// ---------------------------------------------------------------------------- main
async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const t0 = now();
  const dir = tracesDir();
  let names = [...listTraces(dir), RANDOM_TRACE];
  if (!names.length) {
    console.log(`\n!!!!! SKIPPED: no traces found in ${dir} (set ROOMSYNC_TRACES to the folder of *.json.gz traces) !!!!!\n`);
  }
  if (opt.traces) {
    const concurrent = listTraces(path.join(dir, 'concurrent')); // issue 8: the concurrent-merge sessions
    const missing = opt.traces.filter((t) => !names.includes(t) && !concurrent.includes(t));
    if (missing.length) console.log(`!!!!! SKIPPED traces not found in ${dir}: ${missing.join(', ')} !!!!!`);
    names = names.filter((n) => opt.traces.includes(n));
    names.sort((a, b) => opt.traces.indexOf(a) - opt.traces.indexOf(b));
  } else if (opt.quick) names = names.filter((n) => n === TARGET_TRACE || n === RANDOM_TRACE);
  opt.runsFor = (trace) => opt.runs ?? (opt.quick ? 1 : trace.stats.txns > LARGE_TXNS ? 3 : 5);

  // libraries
  let libNames = opt.only ? ALL_LIBS.filter((l) => opt.only.includes(l)) : ALL_LIBS;
  if (opt.quick && !opt.only) libNames = libNames.filter((l) => l !== 'automerge');
  const libs = {};
  const unavailable = {};
  for (const l of libNames) {
    const A = await import(`./adapters/${l}.js`);
    const why = A.unavailable?.();
    if (why) { unavailable[l] = why; console.log(`!!!!! SKIPPED ${l}: ${why} !!!!!`); continue; }
    try { await A.init(); libs[l] = A; } catch (e) { unavailable[l] = e.message; console.log(`!!!!! SKIPPED ${l}: ${e.message} !!!!!`); }
  }
  const order = libNames.filter((l) => libs[l]);

  console.log(`roomsync benchmark — ${new Date().toISOString()} — node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model?.trim()})`);
  console.log(`libraries: ${order.map((l) => `${l} ${libs[l].version}`).join(', ')}`);
  console.log(`traces from ${dir}: ${names.join(', ') || '(none)'}`);

  const tmpdir = opt.memory ? mkdtempSync(path.join(os.tmpdir(), 'roomsync-bench-')) : null;
  const results = [];
  try {
    for (const name of names) {
      const trace = loadTrace(name, dir);
      const r = { name, stats: trace.stats, runs: opt.runsFor(trace), libs: {} };
      console.log(`\n== ${name}: ${fmtInt(trace.stats.txns)} txns, ${fmtInt(trace.stats.calls)} insert/delete calls, final ${fmtInt(trace.stats.finalLength)} chars; median of ${r.runs} run(s)${opt.quick ? '' : ' after a warm-up'}`);
      process.stdout.write('   ');
      r.libs = await benchTrace(libs, order, trace, opt, tmpdir);
      if (name === TARGET_TRACE) r.loopMs = replayLoopMs(trace); // issue 8: what no library can go under
      // Issue 8: what our JS API costs around a core that does nothing (tests/bench/js-floor.js).
      if (name === TARGET_TRACE && libs.roomsync && !r.libs.roomsync?.error && !r.libs.roomsync?.skipped) r.floor = await measureFloor(trace, r.runs);
      console.log(`   seconds: ${order.map((l) => `${l} ${r.libs[l].seconds.toFixed(1)}`).join(', ')}`);
      console.log();
      printTable(r, order);
      results.push(r);
    }
  } finally {
    if (tmpdir) rmSync(tmpdir, { recursive: true, force: true });
  }

  // Concurrent merge (issue 8): a real concurrent session's updates merged in any order
  // (tests/bench/concurrent-merge.js); with --trace, only the concurrent sessions it names.
  let merge = { skipped: '--no-merge' };
  if (opt.merge) {
    console.log('\n== concurrent merge: whole sessions replayed, every transaction\'s update merged into a fresh document');
    merge = await benchConcurrentMerge({ traces: opt.traces, runs: opt.runs ?? (opt.quick ? 1 : 5), quick: opt.quick,
      only: opt.only });
    printMerge(merge);
  }

  // native core
  let native = { skipped: '--no-native' };
  if (opt.native && names.length) {
    console.log('\n== native C++ core (roomsync_bench)');
    native = runNative(names, opt);
    if (native.skipped || native.error) console.log(`!!!!! native ${native.skipped ? 'SKIPPED' : 'FAILED'}: ${native.skipped || native.error} !!!!!`);
    else printNative(native);
  }

  // wasm size
  const wasm = wasmSizes();
  console.log('\n== bundle size (gzip -9 = zlib level 9)');
  for (const k of ['wasm', 'glue', 'api']) {
    const x = wasm[k];
    console.log(`   ${x.file.padEnd(20)} ${x.missing ? 'missing' : `${fmtInt(x.raw).padStart(10)} B raw  ${fmtInt(x.gzip9).padStart(9)} B gzip -9`}`);
  }
  if (wasm.wasmPlusGlueGzip9) console.log(`   .wasm + glue .mjs: ${fmtInt(wasm.wasmPlusGlueGzip9)} B gzip -9 (${(wasm.wasmPlusGlueGzip9 / 1024).toFixed(1)} KiB)`);

  const tg = targets(results, wasm, native);
  tg.push(mergeTarget(merge)); // concurrent merge (issue 8)
  console.log(`\n== targets (${TARGET_TRACE}, medians, same run) — printed, not asserted`);
  for (const x of tg) console.log(`   ${x.status.padEnd(4)}  ${x.name}: ${x.detail}`);

  const out = {
    date: new Date().toISOString(),
    command: `node tests/bench/run.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model?.trim(), totalMemBytes: os.totalmem(), node: process.version, platform: `${os.platform()} ${os.release()}` },
    options: { runs: opt.runs, quick: opt.quick, automergeAll: opt.automergeAll, memory: opt.memory },
    libs: Object.fromEntries(order.map((l) => [l, { version: libs[l].version, notes: libs[l].notes }])),
    unavailable,
    traces: results,
    markdown: results.map((r) => markdownTable(r, order)),
    native,
    concurrentMerge: merge, // issue 8
    wasm,
    targets: tg,
    wallSeconds: (now() - t0) / 1000,
  };
  mkdirSync(path.dirname(opt.json), { recursive: true });
  writeFileSync(opt.json, JSON.stringify(out, null, 1));
  writeFileSync(opt.json.replace(/\.json$/, '') + '.md', markdownReport(out, order));
  console.log(`\nJSON: ${path.relative(process.cwd(), opt.json) || opt.json}   (wall ${out.wallSeconds.toFixed(0)} s)`);
}

// The whole report as Markdown (bench-results/bench.md), ready for the README's Benchmarks section.
function markdownReport(out, order) {
  const L = [];
  const main = out.traces.find((t) => t.name === TARGET_TRACE) || out.traces[0];
  L.push(`Measured ${out.date.slice(0, 10)} on ${out.machine.cores} cores (${out.machine.cpu}), Node ${out.machine.node}, ` +
    `${order.map((l) => `${l} ${out.libs[l].version}`).join(', ')}; command \`${out.command}\`.`);
  if (main) {
    L.push('', `**${main.name}** (${fmtInt(main.stats.txns)} edits; medians of ${main.runs} run(s)${out.options.quick ? '' : ' after a warm-up'}; (×) = that library ÷ roomsync):`, '');
    L.push(markdownTable(main, order));
  }
  const others = out.traces.filter((t) => t !== main);
  if (others.length) {
    const pick = [['apply, per-edit API (ms)', (x) => x.apply.median, fmtMs], ['B4 (ms)', (x) => x.b4.median, fmtMs],
      ['load + read + 1 edit (ms)', (x) => x.load.median, fmtMs], ['encoded size (bytes)', (x) => x.encoded.raw, fmtInt],
      ['memory per run after load, Δ heap+ext ÷ text runs (B)', (x) => perRun(x.memory), fmtInt]];
    for (const [label, f, fmt] of pick) {
      L.push('', `${label}, every trace:`, '', `| trace | ${order.join(' | ')} |`, `|---|${order.map(() => '---:').join('|')}|`);
      for (const t of out.traces) {
        L.push(`| ${t.name} | ${order.map((l) => { const x = t.libs[l]; return x && !x.skipped && !x.error && f(x) != null ? fmt(f(x)) + (x.ok === false ? ' (wrong text)' : '') : '—'; }).join(' | ')} |`);
      }
    }
  }
  const n = out.native;
  if (n && n.traces && n.traces.length) {
    L.push('', 'Native C++ core alone (`build/roomsync_bench`, g++ -O2):', '',
      '| trace | apply (ms) | B4 (ms) | encoded (bytes) | load + read + 1 edit (ms) | one update (ms) | heap after load (MB) | peak heap during load (MB) |', '|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const t of n.traces) {
      if (t.error) continue;
      L.push(`| ${t.name}${t.ok ? '' : ' (wrong text)'} | ${fmtMs(t.apply?.median)} | ${fmtMs(t.b4?.median)} | ${fmtInt(t.encoded_bytes)} | ${fmtMs(t.load?.median)} | ${fmtMs(t.apply_update?.median)} | ${fmtMB(t.heap_after_load_bytes)} | ${fmtMB(t.heap_peak_during_load_bytes)} |`);
    }
  }
  if (out.concurrentMerge && !out.concurrentMerge.skipped) L.push(markdownMerge(out.concurrentMerge)); // issue 8
  const w = out.wasm;
  if (w.wasm && !w.wasm.missing) {
    L.push('', `Bundle: \`dist/roomsync.wasm\` ${fmtInt(w.wasm.raw)} B raw, ${fmtInt(w.wasm.gzip9)} B gzip -9; ` +
      `\`dist/roomsync.mjs\` ${fmtInt(w.glue.raw)} B raw, ${fmtInt(w.glue.gzip9)} B gzip -9` +
      (w.api && !w.api.missing ? `; \`js/index.js\` ${fmtInt(w.api.raw)} B raw, ${fmtInt(w.api.gzip9)} B gzip -9` : '') + '.');
  }
  L.push('', `Targets (${TARGET_TRACE}, same run):`, '');
  for (const x of out.targets) L.push(`- ${x.status} — ${x.name}: ${x.detail}`);
  return L.join('\n') + '\n';
}

function printNative(n) {
  const rows = (n.traces || []).map((t) => [t.name, t.ok ? 'ok' : 'WRONG', fmtMs(t.apply?.median), fmtMs(t.b4?.median), fmtInt(t.b4?.update_bytes),
    fmtInt(t.encoded_bytes), fmtMs(t.encode?.median), fmtMs(t.load?.median), fmtMs(t.apply_update?.median), fmtMB(t.heap_after_load_bytes), fmtMB(t.heap_peak_during_load_bytes),
    t.runs_after_load ? fmtInt(t.core_bytes_after_load / t.runs_after_load) : '—']);
  const hdr = ['trace', 'text', 'apply ms', 'B4 ms', 'B4 bytes', 'encoded B', 'encode ms', 'load+read+edit ms', 'one update ms', 'heap MB', 'peak MB', 'core B/run'];
  const w = hdr.map((_, i) => Math.max(...[hdr, ...rows].map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  console.log(line(hdr));
  for (const r of rows) console.log(line(r));
}

main().catch((e) => { console.error(e); process.exit(1); });
