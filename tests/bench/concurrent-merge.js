#!/usr/bin/env node
// Concurrent merge (issue 8: "the Eg-walker class of concurrent merge"): a real concurrent
// session (../shared/traces/concurrent) is replayed WHOLE with one document per agent, every
// transaction's update captured (untimed); then the updates are merged into a fresh document
//   causal    every update in the order the session made them (parents first)
//   reversed  the same, last first (every update but one waits for its parents)
//   random    a seeded random permutation
//   states    each agent's full state at the end (encodeState / encodeStateAsUpdate / export)
// and the text is read and compared with the trace's endContent (a wrong text is reported,
// never hidden). Medians of N runs after one warm-up pass, round-robin across libraries.
// A pass still running after --budget seconds (Yjs takes minutes on the reversed and random
// orders) is stopped there and not repeated: its time is reported as a lower bound (">").
// Such a cut-off pass happens during the warm-up, so it is a cold pass; the lower bound is that
// of a cold pass (at the budget's scale, warm or cold makes no difference).
//
//   node tests/bench/concurrent-merge.js [--trace clownschool,friendsforever] [--runs N]
//                                        [--only roomsync,yjs,loro,automerge] [--quick] [--budget S]
// (default: roomsync and Yjs; Loro and Automerge only when named, their replay is slow)
// run.js calls benchConcurrentMerge() and mergeTarget() for `npm run bench`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as Y from 'yjs';
import { LoroDoc } from 'loro-crdt';
import * as AM from '@automerge/automerge';

import { listTraces, loadTrace } from '../js/helpers/traces.js';
import { tracesDir, pkgVersion } from './traces.js';
import * as roomsyncAdapter from './adapters/roomsync.js';

export const MERGE_LIBS = ['roomsync', 'yjs', 'loro', 'automerge'];
// Loro and Automerge only when named (--only): per-update import/applyChanges make their
// replay alone take 25 s (Loro) and minutes (Automerge, ~1.5 ms a transaction) per session.
export const MERGE_DEFAULT = ['roomsync', 'yjs'];
export const ORDERS = ['causal', 'reversed', 'random', 'states'];
const SEED = 8;

// ---------------------------------------------------------------------------- libraries
// One shape for every library: a document is a box { d } (Automerge's API returns new docs).
// edit() runs one trace transaction as one local transaction and returns its update bytes.
function yjsShapedEdit(doc, patches) {
  let update = null;
  const grab = (u) => { update = u; };
  doc.on('update', grab);
  const text = doc.getText('text');
  doc.transact(() => {
    for (const [pos, del, ins] of patches) {
      if (del > 0) text.delete(pos, del);
      if (ins && ins.length > 0) text.insert(pos, ins);
    }
  });
  doc.off('update', grab);
  return update;
}

export function makeLibs() {
  let createDoc = null;
  return {
    roomsync: {
      version: () => roomsyncAdapter.version,
      unavailable: () => roomsyncAdapter.unavailable(),
      async init() {
        await roomsyncAdapter.init();
        ({ createDoc } = await import(path.join(process.env.ROOMSYNC_ROOT ? path.resolve(process.env.ROOMSYNC_ROOT) : path.resolve(fileURLToPath(new URL('../..', import.meta.url))), 'js', 'index.js')));
      },
      async create(agent) { return { d: await createDoc({ clientId: agent + 1 }) }; },
      edit: (b, patches) => yjsShapedEdit(b.d, patches),
      apply(b, u) { b.d.applyUpdate(u); },
      state: (b) => b.d.encodeState(),
      text: (b) => b.d.getText('text').toString(),
      destroy(b) { b.d.destroy(); },
    },
    yjs: {
      version: () => pkgVersion('yjs'),
      async create(agent) { const d = new Y.Doc(); d.clientID = agent + 1; return { d }; },
      edit: (b, patches) => yjsShapedEdit(b.d, patches),
      apply(b, u) { Y.applyUpdate(b.d, u); },
      state: (b) => Y.encodeStateAsUpdate(b.d),
      text: (b) => b.d.getText('text').toString(),
      destroy(b) { b.d.destroy(); },
    },
    loro: {
      version: () => pkgVersion('loro-crdt'),
      async create(agent) { const d = new LoroDoc(); d.setPeerId(agent + 1); return { d }; },
      edit(b, patches) {
        const from = b.d.oplogVersion();
        const t = b.d.getText('text');
        for (const [pos, del, ins] of patches) {
          if (del > 0) t.delete(pos, del);
          if (ins && ins.length > 0) t.insert(pos, ins);
        }
        b.d.commit();
        return b.d.export({ mode: 'update', from });
      },
      apply(b, u) { b.d.import(u); },
      state: (b) => b.d.export({ mode: 'update' }),
      text: (b) => b.d.getText('text').toString(),
      destroy(b) { b.d.free(); },
    },
    // Automerge needs the text object made once: every document starts from one base change
    // (made untimed by actor 00), the merge target included.
    automerge: (() => {
      let base = null;
      const actor = (agent) => (agent + 1).toString(16).padStart(2, '0').repeat(16);
      return {
        version: () => pkgVersion('@automerge/automerge'),
        async init() { base = AM.save(AM.change(AM.init({ actor: '00'.repeat(16) }), (d) => { d.text = ''; })); },
        async create(agent) { return { d: AM.load(base, { actor: actor(agent) }) }; },
        edit(b, patches) {
          b.d = AM.change(b.d, (d) => { for (const [pos, del, ins] of patches) AM.splice(d, ['text'], pos, del, ins || ''); });
          return AM.getLastLocalChange(b.d);
        },
        apply(b, u) { [b.d] = AM.applyChanges(b.d, [u]); },
        state: (b) => AM.save(b.d),
        // A saved state is merged with loadIncremental; a change with applyChanges.
        applyState(b, s) { b.d = AM.loadIncremental(b.d, s); },
        text: (b) => b.d.text,
        destroy(b) { AM.free(b.d); },
      };
    })(),
  };
}

// ---------------------------------------------------------------------------- replay
// One document per agent; before each transaction its agent's document is brought up to the
// transaction's parents (a version is a per-agent count of included transactions, each agent's
// own being totally ordered), then the patches run as one local transaction.
export async function capture(lib, trace) {
  const n = trace.numAgents;
  const docs = [];
  for (let a = 0; a < n; a++) docs.push(await lib.create(a));
  const docVersion = docs.map(() => new Array(n).fill(0));
  const byAgent = Array.from({ length: n }, () => []);
  const versions = [];
  const updates = [];
  for (let i = 0; i < trace.txns.length; i++) {
    const { agent, parents, patches } = trace.txns[i];
    const need = new Array(n).fill(0);
    for (const p of parents) for (let b = 0; b < n; b++) need[b] = Math.max(need[b], versions[p][b]);
    // What the document lacks, applied in session order (parents first: no update waits).
    const missing = [];
    for (let b = 0; b < n; b++) {
      for (let k = docVersion[agent][b]; k < need[b]; k++) missing.push(byAgent[b][k]);
      docVersion[agent][b] = Math.max(docVersion[agent][b], need[b]);
    }
    missing.sort((x, y) => x - y);
    for (const k of missing) lib.apply(docs[agent], updates[k]);
    const u = lib.edit(docs[agent], patches);
    if (!u || !u.length) throw new Error(`transaction ${i} produced no update`);
    updates.push(u);
    byAgent[agent].push(i);
    docVersion[agent][agent] = byAgent[agent].length;
    need[agent] = byAgent[agent].length;
    versions.push(need);
  }
  const states = docs.map((d) => lib.state(d));
  for (const d of docs) lib.destroy(d);
  return { updates, states };
}

// ---------------------------------------------------------------------------- helpers
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function shuffled(n, seed) {
  let x = seed >>> 0 || 1;
  const rand = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// Merges one order into a fresh document (made untimed) and reads the text (timed). A pass
// still running after `budgetMs` stops there: { cut: updates applied } (a lower bound).
async function mergeOnce(lib, cap, order, perm, budgetMs = Infinity) {
  const b = await lib.create(98);
  let ms;
  let text;
  try {
    const t0 = performance.now();
    if (order === 'states') {
      for (const s of cap.states) (lib.applyState || lib.apply)(b, s);
    } else {
      const us = cap.updates;
      for (let k = 0; k < perm.length; k++) {
        lib.apply(b, us[perm[k]]);
        if ((k & 63) === 63 && performance.now() - t0 > budgetMs) return { ms: performance.now() - t0, cut: k + 1 };
      }
    }
    text = lib.text(b);
    ms = performance.now() - t0;
  } finally {
    lib.destroy(b);
  }
  return { ms, text };
}

// ---------------------------------------------------------------------------- the benchmark
/**
 * Runs the concurrent-merge benchmark. Returns { traces: [{ name, agents, txns, libs }], ... }
 * where libs[lib] = { version, replaySeconds, updates, updateBytes, stateBytes, orders:
 * { causal: { runs, median, ok, note } ... }, error }.
 */
export async function benchConcurrentMerge({ traces = null, runs = 5, only = null, quick = false, budgetS = 8, log = (s) => process.stdout.write(s) } = {}) {
  const dir = path.join(tracesDir(), 'concurrent');
  let names = listTraces(dir);
  if (traces) names = names.filter((n) => traces.includes(n));
  if (!names.length) return { skipped: `no concurrent traces in ${dir}${traces ? ` named ${traces.join(', ')}` : ''} (set ROOMSYNC_TRACES)` };
  const all = makeLibs();
  const libs = {};
  const unavailable = {};
  for (const l of MERGE_LIBS.filter((x) => (only ? only.includes(x) : MERGE_DEFAULT.includes(x)))) {
    const A = all[l];
    const why = A.unavailable?.();
    if (why) { unavailable[l] = why; continue; }
    try { if (A.init) await A.init(); libs[l] = A; } catch (e) { unavailable[l] = e.message; }
  }
  const order = Object.keys(libs);
  if (quick) runs = 1;
  const out = { runs, warmup: !quick, seed: SEED, budgetS, libs: Object.fromEntries(order.map((l) => [l, libs[l].version()])), unavailable, traces: [] };
  for (const name of names) {
    const trace = loadTrace(dir, name);
    const perms = { causal: trace.txns.map((_, i) => i) };
    perms.reversed = [...perms.causal].reverse();
    perms.random = shuffled(trace.txns.length, SEED);
    const T = { name, agents: trace.numAgents, txns: trace.txns.length, endLength: trace.endContent.length, libs: {} };
    log(`   ${name}: replay`);
    const caps = {};
    for (const l of order) {
      const r = T.libs[l] = { version: libs[l].version(), orders: {} };
      const t0 = performance.now();
      try {
        caps[l] = await capture(libs[l], trace);
        r.replaySeconds = (performance.now() - t0) / 1000;
        r.updates = caps[l].updates.length;
        r.updateBytes = caps[l].updates.reduce((s, u) => s + u.length, 0);
        r.stateBytes = caps[l].states.reduce((s, u) => s + u.length, 0);
      } catch (e) {
        r.error = `replay: ${String(e?.message || e)}`;
      }
      log(` ${l}`);
    }
    const live = () => order.filter((l) => !T.libs[l].error);
    for (const o of ORDERS) {
      log(` | ${o}`);
      const res = Object.fromEntries(live().map((l) => [l, { runs: [], ok: true }]));
      const one = async (l) => {
        try {
          const { ms, text, cut } = await mergeOnce(libs[l], caps[l], o, perms[o], budgetS * 1000);
          if (cut != null) {
            res[l].cut = cut;
            res[l].note = `stopped after ${(ms / 1000).toFixed(1)} s at update ${fmtInt(cut)} of ${fmtInt(perms[o].length)}: a lower bound, not repeated`;
            return ms;
          }
          if (text !== trace.endContent) {
            res[l].ok = false;
            res[l].wrong = `wrong text (length ${text.length}, expected ${trace.endContent.length})`;
          }
          return ms;
        } catch (e) {
          res[l].error = String(e?.message || e);
          return null;
        }
      };
      // Warm-up pass (V8 optimises the JS and tiers the WebAssembly up); a pass stopped at the
      // budget is not repeated: its time is the figure (a lower bound).
      if (!quick) {
        for (const l of live()) {
          const ms = await one(l);
          if (res[l].cut != null) res[l].runs.push(ms);
        }
      }
      for (let i = 0; i < runs; i++) {
        for (const l of live()) {
          if (res[l].error || res[l].cut != null) continue;
          const ms = await one(l);
          if (ms != null) res[l].runs.push(ms);
        }
      }
      for (const l of live()) { res[l].median = median(res[l].runs); T.libs[l].orders[o] = res[l]; }
    }
    log('\n');
    out.traces.push(T);
  }
  return out;
}

// For tests/bench/profile.js --phase merge: replays `traceName` (a concurrent session) with
// `libName` and returns a function that merges its updates once in `order`.
export async function prepareMerge(libName, traceName, order = 'causal') {
  const lib = makeLibs()[libName];
  if (!lib) throw new Error(`concurrent merge: unknown library ${libName} (${MERGE_LIBS.join(', ')})`);
  if (lib.init) await lib.init();
  const trace = loadTrace(path.join(tracesDir(), 'concurrent'), traceName);
  const cap = await capture(lib, trace);
  const n = trace.txns.length;
  const perm = order === 'reversed' ? Array.from({ length: n }, (_, i) => n - 1 - i)
    : order === 'random' ? shuffled(n, SEED) : Array.from({ length: n }, (_, i) => i);
  return async () => {
    const { text } = await mergeOnce(lib, cap, order, perm);
    if (text !== trace.endContent) throw new Error(`${libName} ${order}: wrong text`);
  };
}

// ---------------------------------------------------------------------------- printing
const fmtInt = (n) => (n == null ? '—' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n) => (n == null ? '—' : n >= 100 ? fmtInt(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (x, ours) => (x == null || ours == null || ours <= 0 ? '' : ` (${x / ours >= 100 ? Math.round(x / ours) : (x / ours).toFixed(x / ours >= 10 ? 0 : 1)}×)`);

function rows(T) {
  const g = (l, f) => { const x = T.libs[l]; return x && !x.error ? f(x) : null; };
  const ord = (o) => (l) => g(l, (x) => (x.orders[o]?.error ? null : x.orders[o]?.median));
  const cut = (o) => (l) => (T.libs[l]?.orders[o]?.cut != null ? '> ' : '');
  return [
    ['merge, causal order (ms)', ord('causal'), fmtMs, true, cut('causal')],
    ['merge, reversed (ms)', ord('reversed'), fmtMs, true, cut('reversed')],
    [`merge, random order, seed ${SEED} (ms)`, ord('random'), fmtMs, true, cut('random')],
    ['merge each agent\'s full state (ms)', ord('states'), fmtMs, true, cut('states')],
    ['updates, total bytes', (l) => g(l, (x) => x.updateBytes), fmtInt, true],
    ['agent states, total bytes', (l) => g(l, (x) => x.stateBytes), fmtInt, true],
    ['replay with capture, untimed (s)', (l) => g(l, (x) => x.replaySeconds), (v) => v.toFixed(1), false],
  ];
}

// One table cell: value, and its ratio to roomsync's; "> " marks a pass stopped at the budget.
function cell([, get, fmt, withRatio, prefix], l) {
  const v = get(l);
  if (v == null) return '—';
  const p = prefix ? prefix(l) : '';
  const r = withRatio && l !== 'roomsync' && !(prefix && prefix('roomsync')) ? ratio(v, get('roomsync')) : '';
  return p + fmt(v) + (p && r ? r.replace('(', '(> ') : r);
}

export function printMerge(res, log = console.log) {
  if (res.skipped) { log(`!!!!! concurrent merge SKIPPED: ${res.skipped} !!!!!`); return; }
  for (const [l, why] of Object.entries(res.unavailable)) log(`!!!!! concurrent merge: ${l} SKIPPED: ${why} !!!!!`);
  const libs = Object.keys(res.libs);
  for (const T of res.traces) {
    log(`\n-- ${T.name}: ${fmtInt(T.txns)} transactions, ${T.agents} agents, final ${fmtInt(T.endLength)} chars; median of ${res.runs} run(s)${res.warmup ? ' after a warm-up' : ''}`);
    const hdr = ['', ...libs];
    const body = rows(T).map((row) => [row[0], ...libs.map((l) => cell(row, l))]);
    const w = hdr.map((_, i) => Math.max(...[hdr, ...body].map((r) => String(r[i]).length)));
    const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
    log(line(hdr));
    log(w.map((n) => '-'.repeat(n)).join('  '));
    for (const r of body) log(line(r));
    for (const l of libs) {
      const x = T.libs[l];
      if (!x) continue;
      if (x.error) log(`  ${l}: ERROR — ${x.error}`);
      for (const o of ORDERS) {
        const y = x.orders[o];
        if (y?.error) log(`  ${l}: ${o}: ERROR — ${y.error}`);
        if (y?.wrong) log(`  ${l}: ${o}: WRONG — ${y.wrong}`);
        if (y?.note) log(`  ${l}: ${o}: ${y.note}`);
      }
    }
    log('  (×) = value / roomsync’s value: above 1 means roomsync is faster / smaller');
  }
}

export function markdownMerge(res) {
  if (res.skipped) return `Concurrent merge: skipped (${res.skipped}).`;
  const libs = Object.keys(res.libs);
  const L = [];
  for (const T of res.traces) {
    L.push('', `Concurrent merge, **${T.name}** (${fmtInt(T.txns)} transactions, ${T.agents} agents; medians of ${res.runs} run(s)):`, '',
      `| ${T.name} | ${libs.join(' | ')} |`, `|---|${libs.map(() => '---:').join('|')}|`);
    for (const row of rows(T)) L.push(`| ${row[0]} | ${libs.map((l) => cell(row, l)).join(' | ')} |`);
  }
  return L.join('\n');
}

// The target: in every session and every order, Yjs time / roomsync time ≥ 10 (the minimum
// over them), with the right text. A Yjs pass stopped at the budget gives a lower bound ("> ").
export function mergeTarget(res) {
  const name = 'concurrent merge ≥10× faster than Yjs (every session, every order)';
  if (!res || res.skipped) return { name, status: 'N/A', detail: res?.skipped || 'not run' };
  let min = null;
  let where = '';
  let ok = true;
  const perOrder = {};
  for (const T of res.traces) {
    const o = T.libs.roomsync, y = T.libs.yjs;
    if (!o || !y || o.error || y.error) return { name, status: 'N/A', detail: `${T.name}: roomsync or Yjs missing` };
    for (const k of ORDERS) {
      const a = o.orders[k], b = y.orders[k];
      if (!a?.median || !b?.median || a.cut != null) return { name, status: 'N/A', detail: `${T.name} ${k}: no figure` };
      ok = ok && a.ok;
      const r = b.median / a.median;
      const lb = b.cut != null ? '> ' : '';
      if (!perOrder[k] || r < perOrder[k].r) perOrder[k] = { r, lb };
      if (min == null || r < min) { min = r; where = `${T.name} ${k}: ${fmtMs(a.median)} vs ${lb}${fmtMs(b.median)} ms`; }
    }
  }
  const orders = ORDERS.map((k) => `${k} ${perOrder[k].lb}${perOrder[k].r.toFixed(1)}×`).join(', ');
  return { name, status: ok && min >= 10 ? 'PASS' : 'MISS',
    detail: `min ${min.toFixed(1)}× (${where}); worst session per order: ${orders}${ok ? '' : '; roomsync text WRONG'}` };
}

// ---------------------------------------------------------------------------- main
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: {
    trace: { type: 'string' }, runs: { type: 'string', default: '5' }, only: { type: 'string' },
    quick: { type: 'boolean', default: false }, budget: { type: 'string', default: '8' },
  } });
  const res = await benchConcurrentMerge({
    traces: values.trace ? values.trace.split(',') : null, runs: Math.max(1, Number(values.runs) || 1),
    only: values.only ? values.only.split(',') : null, quick: values.quick, budgetS: Number(values.budget) || 8,
  });
  printMerge(res);
  const t = mergeTarget(res);
  console.log(`\n   ${t.status.padEnd(4)}  ${t.name}: ${t.detail}`);
}
