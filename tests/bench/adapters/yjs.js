// Yjs adapter: Y.Text insert/delete, Y.encodeStateAsUpdate / Y.applyUpdate.
import * as Y from 'yjs';
import { pkgVersion, replayEdits } from '../traces.js';

export const name = 'yjs';
export const version = pkgVersion('yjs');
export const notes = 'Y.Text insert/delete; encoded = encodeStateAsUpdate (v1); load = applyUpdate on a new Y.Doc';

export async function init() {}

// Applies every txn of the trace through the per-edit API. With b4, every txn is its own
// transaction and its update bytes are emitted (doc.on('update')).
export function applyTrace(trace, { b4 = false } = {}) {
  const doc = new Y.Doc();
  const text = doc.getText('text');
  const r = { doc, updates: 0, updateBytes: 0 };
  if (b4) doc.on('update', (u) => { r.updates++; r.updateBytes += u.length; });
  replayEdits(doc, text, trace);
  return r;
}

export function text(doc) { return doc.getText('text').toString(); }
export function encode(doc) { return Y.encodeStateAsUpdate(doc); }
export function extraSizes(doc) { return { v2: Y.encodeStateAsUpdateV2(doc).length }; }
export function encodeUpdate(doc) { return Y.encodeStateAsUpdate(doc); }

export function loadReadEdit(bytes, edit = true) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, bytes);
  const t = doc.getText('text');
  const s = t.toString();
  if (edit) t.insert(s.length >> 1, 'x');
  return { doc, text: s };
}

export function applyRemote(bytes) {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, bytes);
  return { doc, text: doc.getText('text').toString() };
}

export function destroy(doc) { doc.destroy(); }

// Creates and drops an empty document so the library is fully initialised before a baseline.
export function warm() { destroy(applyTrace({ txns: [] }).doc); }

// Items in the text (Yjs's runs), for memory per run.
export function textStats(doc) {
  let runs = 0;
  for (let item = doc.getText('text')._start; item !== null; item = item.right) runs++;
  return { runs };
}
