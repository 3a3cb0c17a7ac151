// Presence tracker for one room, Phoenix-shaped:
//   state = { <key>: { metas: [ { phx_ref, ...fields }, ... ] }, ... }
// The key is the user id; each meta is one joined connection (one peer) of that user, so a user
// with several tabs/devices has several metas. Every meta carries its `peer_id`.
// Entries may be local (this process) or remote (another process, via the bus); `node` says which.

import { randomBytes } from 'node:crypto';

export function newRef() {
  return randomBytes(12).toString('base64url');
}

export class PresenceTracker {
  constructor() {
    this.byKey = new Map(); // key -> Map(phx_ref -> meta)
    this.byPeer = new Map(); // peer_id -> { key, ref, node, meta }
  }

  get size() {
    return this.byPeer.size;
  }

  has(peerId) {
    return this.byPeer.has(peerId);
  }

  get(peerId) {
    return this.byPeer.get(peerId);
  }

  /** Adds a meta (must contain phx_ref and peer_id). Returns a diff, or null if already known. */
  add(key, meta, node) {
    if (this.byPeer.has(meta.peer_id)) return null;
    let metas = this.byKey.get(key);
    if (!metas) this.byKey.set(key, (metas = new Map()));
    if (metas.has(meta.phx_ref)) return null;
    metas.set(meta.phx_ref, meta);
    this.byPeer.set(meta.peer_id, { key, ref: meta.phx_ref, node, meta });
    return { joins: { [key]: { metas: [meta] } }, leaves: {} };
  }

  /** Removes the meta of a peer. Returns a diff, or null if unknown. */
  remove(peerId) {
    const entry = this.byPeer.get(peerId);
    if (!entry) return null;
    this.byPeer.delete(peerId);
    const metas = this.byKey.get(entry.key);
    if (metas) {
      metas.delete(entry.ref);
      if (metas.size === 0) this.byKey.delete(entry.key);
    }
    return { joins: {}, leaves: { [entry.key]: { metas: [entry.meta] } } };
  }

  /** Removes every meta owned by `node`; returns one merged diff (or null). */
  removeNode(node) {
    const leaves = {};
    let any = false;
    for (const [peerId, entry] of this.byPeer) {
      if (entry.node !== node) continue;
      this.remove(peerId);
      (leaves[entry.key] ||= { metas: [] }).metas.push(entry.meta);
      any = true;
    }
    return any ? { joins: {}, leaves } : null;
  }

  nodes() {
    const s = new Set();
    for (const e of this.byPeer.values()) s.add(e.node);
    return s;
  }

  state() {
    const out = {};
    for (const [key, metas] of this.byKey) out[key] = { metas: [...metas.values()] };
    return out;
  }

  peerIds() {
    return [...this.byPeer.keys()];
  }
}
