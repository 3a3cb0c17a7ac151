// Automerge adapter: splice inside change (one change per txn), save / load,
// loadIncremental of the saved history into an empty doc as the remote update.
import * as A from '@automerge/automerge';
import { pkgVersion } from '../traces.js';

export const name = 'automerge';
export const version = pkgVersion('@automerge/automerge');
// Automerge is slow on these traces: time-bound it (per-edit runs only on these traces, one
// run, no warm-up) so that the whole benchmark finishes in minutes. --automerge-all lifts it.
export const heavy = { traces: ['automerge-paper'], runs: 1, warmup: false };
export const notes = 'A.splice inside A.change per txn; B4 = getLastLocalChange; encoded = save; load = A.load; update = loadIncremental(init(), save)';

export async function init() {}

export function applyTrace(trace, { b4 = false } = {}) {
  let doc = A.change(A.init(), (d) => { d.text = ''; });
  const r = { doc, updates: 0, updateBytes: 0 };
  for (const txn of trace.txns) {
    doc = A.change(doc, (d) => {
      for (const [pos, del, ins] of txn) A.splice(d, ['text'], pos, del, ins);
    });
    if (b4) { const c = A.getLastLocalChange(doc); r.updates++; r.updateBytes += c.length; }
  }
  r.doc = doc;
  return r;
}

export function text(doc) { return doc.text; }
export function encode(doc) { return A.save(doc); }
export function encodeUpdate(doc) { return A.save(doc); }

export function loadReadEdit(bytes, edit = true) {
  let doc = A.load(bytes);
  const s = doc.text;
  if (edit) doc = A.change(doc, (d) => A.splice(d, ['text'], s.length >> 1, 0, 'x'));
  return { doc, text: s };
}

export function applyRemote(bytes) {
  const doc = A.loadIncremental(A.init(), bytes);
  return { doc, text: doc.text };
}

export function destroy(doc) { A.free(doc); }

// Creates and drops an empty document so the library is fully initialised before a baseline.
export function warm() { destroy(applyTrace({ txns: [] }).doc); }
