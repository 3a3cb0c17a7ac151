// json-joy adapter: Model with a `str` node edited through model.api.str([...]).ins/del, one
// patch per txn (api.flush()); toBinary / Model.load; the whole history as one combined patch.
import { Model } from 'json-joy/lib/json-crdt/index.js';
import { Patch, NopOp, Timestamp } from 'json-joy/lib/json-crdt-patch/index.js';
import { pkgVersion } from '../traces.js';

export const name = 'jsonjoy';
export const version = pkgVersion('json-joy');
export const notes = 'api.str ins/del, api.flush() per txn; B4 = patch.toBinary(); encoded = toBinary; load = Model.load; update = all patches combined';

export async function init() {}

export function applyTrace(trace, { b4 = false, keep = false } = {}) {
  const model = Model.create();
  model.api.root({ text: '' });
  const first = model.api.flush();
  const patches = keep ? [first] : null;
  const str = model.api.str(['text']);
  const r = { doc: { model, patches }, updates: 0, updateBytes: 0 };
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn) {
      if (del > 0) str.del(pos, del);
      if (ins.length > 0) str.ins(pos, ins);
    }
    const p = model.api.flush();
    if (b4) { r.updates++; r.updateBytes += p.toBinary().length; }
    if (keep) patches.push(p);
  }
  return r;
}

export function text(doc) { return doc.model.api.str(['text']).view(); }
export function encode(doc) { return doc.model.toBinary(); }

export function encodeUpdate(doc) {
  if (!doc.patches) throw new Error('jsonjoy: build the doc with keep: true');
  // One patch holding every op of the session, in order (the library's `combine` concatenates
  // arrays per patch, which is quadratic on 260k patches, so do the same thing linearly).
  const out = new Patch();
  let next = -1;
  for (const p of doc.patches) {
    const id = p.getId();
    if (!id) continue;
    if (next >= 0 && id.time > next) out.ops.push(new NopOp(new Timestamp(id.sid, next), id.time - next));
    for (const op of p.ops) out.ops.push(op);
    next = p.nextTime();
  }
  return out.toBinary();
}

export function loadReadEdit(bytes, edit = true) {
  const model = Model.load(bytes, Model.sid());
  const str = model.api.str(['text']);
  const s = str.view();
  if (edit) {
    str.ins(s.length >> 1, 'x');
    model.api.flush();
  }
  return { doc: { model }, text: s };
}

export function applyRemote(bytes) {
  const model = Model.create();
  model.applyPatch(Patch.fromBinary(bytes));
  return { doc: { model }, text: model.api.str(['text']).view() };
}

export function destroy() {}

// Creates and drops an empty document so the library is fully initialised before a baseline.
export function warm() { destroy(applyTrace({ txns: [] }).doc); }
