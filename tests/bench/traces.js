// Trace loading for the benchmark harness.
// Traces are gzip-compressed JSON files from josephg/editing-traces (see ../shared/traces/README.md):
//   { endContent, txns: [ { patches: [[pos, del, ins], ...] }, ... ] }
// Location: $ROOMSYNC_TRACES, else <repo>/../shared/traces.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export function tracesDir() {
  return process.env.ROOMSYNC_TRACES
    ? path.resolve(process.env.ROOMSYNC_TRACES)
    : path.resolve(REPO, '..', 'shared', 'traces');
}

// Sequential traces available, automerge-paper first, then by file name.
export function listTraces(dir = tracesDir()) {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.json.gz'))
    .map((f) => f.slice(0, -'.json.gz'.length))
    .sort();
  const i = names.indexOf('automerge-paper');
  if (i > 0) names.unshift(...names.splice(i, 1));
  return names;
}

// Loads one trace. Each txn becomes an array of patches [pos, del, ins] (ins '' when none).
// `calls` counts per-edit API calls (a patch that deletes and inserts is two calls).
export function loadTrace(name, dir = tracesDir()) {
  if (name === RANDOM_TRACE) return randomTypingTrace();
  const file = path.join(dir, `${name}.json.gz`);
  const data = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
  if (data.kind === 'concurrent') throw new Error(`${name}: concurrent traces are not supported here`);
  let patches = 0;
  let calls = 0;
  let insChars = 0;
  let delChars = 0;
  const txns = data.txns.map((t) => {
    return t.patches.map(([pos, del, ins]) => {
      patches++;
      if (del > 0) { calls++; delChars += del; }
      if (ins && ins.length > 0) { calls++; insChars += ins.length; }
      return [pos, del, ins || ''];
    });
  });
  return {
    name,
    file,
    gzBytes: readFileSync(file).length,
    endContent: data.endContent,
    txns,
    stats: { txns: txns.length, patches, calls, insChars, delChars, finalLength: data.endContent.length },
  };
}

// True when the txn is exactly one per-edit API call (one insert or one delete), so a library
// can run it without an explicit transaction wrapper (what a typing user does).
export function isSingleCall(txn) {
  if (txn.length !== 1) return false;
  const [, del, ins] = txn[0];
  return (del > 0) !== (ins.length > 0);
}

// Every txn through a Yjs-shaped API (roomsync and Yjs share it): one call when the txn is a
// single insert or delete, else one transaction of delete-then-insert patches.
export function replayEdits(doc, text, trace) {
  for (const txn of trace.txns) {
    if (isSingleCall(txn)) {
      const [pos, del, ins] = txn[0];
      if (del > 0) text.delete(pos, del); else text.insert(pos, ins);
    } else {
      doc.transact(() => {
        for (const [pos, del, ins] of txn) {
          if (del > 0) text.delete(pos, del);
          if (ins.length > 0) text.insert(pos, ins);
        }
      });
    }
  }
}

// Installed version of an npm package (read from node_modules; some packages do not export
// their package.json).
export function pkgVersion(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

// ---- the worst case for memory per run (issue 8) ------------------------------------------
// 30,000 characters typed one at a time at random positions (seeded): almost every keystroke
// starts a run of its own, so memory per run is what the document costs. Synthetic, so it is
// always there: `--trace random-typing-30k`.
export const RANDOM_TRACE = 'random-typing-30k';

export function randomTypingTrace(chars = 30_000, seed = 8) {
  let x = seed >>> 0 || 1;
  const rand = () => { // xorshift32
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
  const letters = 'abcdefghijklmnopqrstuvwxyz ';
  const txns = [];
  let text = '';
  for (let i = 0; i < chars; i++) {
    const pos = Math.floor(rand() * (text.length + 1));
    const ch = letters[Math.floor(rand() * letters.length)];
    txns.push([[pos, 0, ch]]);
    text = text.slice(0, pos) + ch + text.slice(pos);
  }
  return {
    name: RANDOM_TRACE,
    file: null,
    gzBytes: 0,
    endContent: text,
    txns,
    stats: { txns: chars, patches: chars, calls: chars, insChars: chars, delChars: 0, finalLength: chars },
  };
}
