// roomsync adapter: our WASM engine through the public JS API (js/index.js).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, replayEdits } from '../traces.js';

export const name = 'roomsync';
export const notes = 'text.insert/delete (doc.transact for multi-call txns); B4 = doc.on("update"); encoded = encodeState; load = createDoc({state})';
export let version = 'unbuilt';

let createDoc = null;
let testing = null;

// Why roomsync cannot run yet (null when it can).
// $ROOMSYNC_ROOT points at another copy of js/ + dist/ (e.g. a --profiling-funcs build).
const ROOT = process.env.ROOMSYNC_ROOT ? path.resolve(process.env.ROOMSYNC_ROOT) : REPO;

export function unavailable() {
  const need = ['js/index.js', 'dist/roomsync.mjs', 'dist/roomsync.wasm'];
  const missing = need.filter((f) => !existsSync(path.join(ROOT, f)));
  return missing.length ? `missing ${missing.join(', ')} (build it first)` : null;
}

export async function init() {
  if (createDoc) return;
  ({ createDoc, _testing: testing } = await import(path.join(ROOT, 'js', 'index.js')));
  try {
    version = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
  } catch { /* keep 'unbuilt' */ }
  const d = await createDoc(); // instantiate the module once, outside any timing
  d.destroy();
}

export async function warm() { (await createDoc()).destroy(); }

export async function applyTrace(trace, { b4 = false } = {}) {
  const doc = await createDoc();
  const text = doc.getText('text');
  const r = { doc, updates: 0, updateBytes: 0 };
  if (b4) doc.on('update', (u) => { r.updates++; r.updateBytes += u.length; });
  replayEdits(doc, text, trace);
  // Text edits of a document nobody listens to are queued in wasm memory and run when it is
  // next used: run them inside the timing, like every other library's edits.
  testing.runQueued(doc);
  return r;
}

export function text(doc) { return doc.getText('text').toString(); }
export function encode(doc) { return doc.encodeState(); }
export function encodeUpdate(doc) { return doc.encodeState(); }

export async function loadReadEdit(bytes, edit = true) {
  const doc = await createDoc({ state: bytes });
  const t = doc.getText('text');
  const s = t.toString();
  if (edit) t.insert(s.length >> 1, 'x');
  return { doc, text: s };
}

export async function applyRemote(bytes) {
  const doc = await createDoc();
  doc.applyUpdate(bytes);
  return { doc, text: doc.getText('text').toString() };
}

export function destroy(doc) { doc.destroy(); }

// Runs in the text's tree and the bytes the core counts for the document (memory per run).
export function textStats(doc) {
  return testing?.textStats ? testing.textStats(doc.getText('text')) : {};
}
