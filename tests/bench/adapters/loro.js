// Loro adapter: LoroText insert/delete + commit per transaction; export({mode:'snapshot'}) /
// LoroDoc.fromSnapshot (lazy load); export({mode:'update'}) / import for the remote update.
import { LoroDoc } from 'loro-crdt';
import { pkgVersion } from '../traces.js';

export const name = 'loro';
export const version = pkgVersion('loro-crdt');
export const notes = 'commit() per txn; encoded = export snapshot; load = LoroDoc.fromSnapshot (lazy: the first edit is timed too)';

export async function init() {}

export function applyTrace(trace, { b4 = false } = {}) {
  const doc = new LoroDoc();
  const text = doc.getText('text');
  const r = { doc, updates: 0, updateBytes: 0 };
  if (b4) r.unsub = doc.subscribeLocalUpdates((u) => { r.updates++; r.updateBytes += u.length; });
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn) {
      if (del > 0) text.delete(pos, del);
      if (ins.length > 0) text.insert(pos, ins);
    }
    doc.commit();
  }
  if (r.unsub) r.unsub();
  return r;
}

export function text(doc) { return doc.getText('text').toString(); }
export function encode(doc) { return doc.export({ mode: 'snapshot' }); }
export function extraSizes(doc) { return { update: doc.export({ mode: 'update' }).length }; }
export function encodeUpdate(doc) { return doc.export({ mode: 'update' }); }

export function loadReadEdit(bytes, edit = true) {
  const doc = LoroDoc.fromSnapshot(bytes);
  const t = doc.getText('text');
  const s = t.toString();
  if (edit) {
    t.insert(s.length >> 1, 'x');
    doc.commit();
  }
  return { doc, text: s };
}

export function applyRemote(bytes) {
  const doc = new LoroDoc();
  doc.import(bytes);
  return { doc, text: doc.getText('text').toString() };
}

export function destroy(doc) { doc.free(); }

// Creates and drops an empty document so the library is fully initialised before a baseline.
export function warm() { destroy(applyTrace({ txns: [] }).doc); }
