// The bus connects the rooms of several server processes.
//
// LocalBus: one process, nothing to share (the embedded default).
// RedisBus: Redis pub/sub + a presence hash per room + a liveness key per process.
//   <prefix>room:<room>       pub/sub channel: presence joins/leaves and broadcasts of that room
//   <prefix>to:<node>         pub/sub channel: messages for peers hosted by one process (signal, relay)
//   <prefix>presence:<room>   hash phx_ref -> {key, meta, node}: the room's presence, for late subscribers
//   <prefix>node:<node>       liveness key, refreshed every heartbeatMs with a TTL of nodeTtlMs
// A process that dies stops refreshing its key; the others notice the key is gone within
// nodeTtlMs + heartbeatMs, drop its peers from their presence and clean its hash entries.

import { randomBytes } from 'node:crypto';

// ioredis is an optional peer dependency: apps that never configure Redis need not install it,
// so it is imported only when a RedisBus starts.
export const IOREDIS_MISSING = 'Redis scale-out needs the ioredis package: npm install ioredis';

/** Resolves to ioredis's Redis class; `load` is the import (injectable for tests). */
export async function loadRedisClass(load = () => import('ioredis')) {
  let mod;
  try {
    mod = await load();
  } catch (err) {
    // Only "ioredis itself is not installed" gets the install hint; anything else (a broken
    // install, a missing dependency of ioredis) keeps its own message.
    const missing = (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') &&
      /['"]ioredis['"]/.test(err.message);
    throw new Error(missing ? IOREDIS_MISSING : `cannot load ioredis: ${err?.message ?? err}`, { cause: err });
  }
  const Redis = mod.Redis ?? mod.default;
  if (typeof Redis !== 'function') throw new Error('cannot load ioredis: it exports no Redis class');
  return Redis;
}

export class LocalBus {
  constructor() {
    this.nodeId = 'local';
    this.distributed = false;
    this.onMessage = () => {};
    this.onNodeDown = () => {};
    this.remoteNodes = () => new Set();
  }
  async start() {}
  async subscribeRoom() {
    return { entries: [], flush() {} };
  }
  async unsubscribeRoom() {}
  announceJoin() {}
  announceLeave() {}
  forgetDead() {}
  publishRoom() {}
  sendToNode() {}
  stats() {
    return { kind: 'local' };
  }
  async close() {}
}

export class RedisBus {
  constructor({ url, keyPrefix = 'roomsync:', heartbeatMs = 1000, nodeTtlMs = 5000, logger }) {
    this.url = url;
    this.prefix = keyPrefix;
    this.heartbeatMs = heartbeatMs;
    this.nodeTtlMs = nodeTtlMs;
    this.log = logger;
    this.nodeId = randomBytes(8).toString('hex');
    this.distributed = true;
    this.rooms = new Map(); // room -> { buffer: [] | null }
    this.onMessage = () => {};
    this.onNodeDown = () => {};
    this.remoteNodes = () => new Set();
    this.published = 0;
    this.received = 0;
    this.started = false;
  }

  key(kind, name) {
    return `${this.prefix}${kind}:${name}`;
  }

  async start() {
    const Redis = await loadRedisClass();
    const opts = { lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: true };
    this.pub = new Redis(this.url, opts);
    this.sub = new Redis(this.url, { ...opts, enableAutoPipelining: false });
    let lastError = null;
    for (const [name, c] of [['pub', this.pub], ['sub', this.sub]]) {
      c.on('error', (err) => {
        lastError = err;
        this.log.warn('redis error', { conn: name, err: err.message });
      });
    }
    try {
      await Promise.all([this.pub.connect(), this.sub.connect()]);
    } catch (err) {
      this.pub.disconnect();
      this.sub.disconnect();
      let where = 'redis';
      try {
        const u = new URL(this.url);
        where = `${u.hostname}:${u.port || 6379}`; // no credentials in messages
      } catch {
        /* keep generic */
      }
      throw new Error(`cannot connect to Redis at ${where}: ${(lastError || err).message}`);
    }
    this.sub.on('message', (channel, text) => this.#onRedisMessage(channel, text));
    await this.sub.subscribe(this.key('to', this.nodeId));
    await this.#beat();
    this.started = true;
    this.timer = setInterval(() => {
      this.#beat().catch((err) => this.log.warn('redis heartbeat failed', { err: err.message }));
      this.#checkNodes().catch((err) => this.log.warn('redis node check failed', { err: err.message }));
    }, this.heartbeatMs);
    this.timer.unref();
  }

  async #beat() {
    const prev = await this.pub.set(this.key('node', this.nodeId), String(Date.now()), 'PX', this.nodeTtlMs, 'GET');
    if (prev === null && this.started) {
      // Our key expired (we were stalled or Redis lost it): others may have dropped our peers.
      this.log.warn('node liveness key had expired; re-announcing local presence', { node: this.nodeId });
      this.onReannounce?.();
    }
  }

  async #checkNodes() {
    const nodes = [...this.remoteNodes()].filter((n) => n !== this.nodeId);
    if (nodes.length === 0) return;
    const alive = await this.#aliveNodes(nodes);
    for (const n of nodes) if (!alive.has(n)) this.onNodeDown(n);
  }

  async #aliveNodes(nodes) {
    const vals = await this.pub.mget(nodes.map((n) => this.key('node', n)));
    const alive = new Set();
    nodes.forEach((n, i) => vals[i] !== null && alive.add(n));
    alive.add(this.nodeId);
    return alive;
  }

  #onRedisMessage(channel, text) {
    this.received++;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return this.log.warn('bad bus message', { channel });
    }
    if (channel === this.key('to', this.nodeId)) return this.onMessage(msg);
    if (msg.node === this.nodeId) return; // our own publication, already applied locally
    const state = this.rooms.get(msg.room);
    if (!state) return;
    if (state.buffer) state.buffer.push(msg);
    else this.onMessage(msg);
  }

  /**
   * Subscribes to a room and returns the presence entries of other live processes
   * ([{key, meta, node}]). Messages arriving meanwhile are buffered and delivered (via
   * onMessage) right after the returned snapshot has been applied by the caller (`flush`).
   */
  async subscribeRoom(room) {
    const state = { buffer: [] };
    this.rooms.set(room, state);
    await this.sub.subscribe(this.key('room', room));
    const hash = await this.pub.hgetall(this.key('presence', room));
    const entries = [];
    for (const [ref, text] of Object.entries(hash)) {
      try {
        const e = JSON.parse(text);
        if (e.node !== this.nodeId) entries.push({ ...e, ref });
      } catch {
        /* ignore garbage */
      }
    }
    const nodes = [...new Set(entries.map((e) => e.node))];
    const alive = nodes.length ? await this.#aliveNodes(nodes) : new Set();
    const dead = entries.filter((e) => !alive.has(e.node));
    if (dead.length) this.pub.hdel(this.key('presence', room), ...dead.map((e) => e.ref)).catch(() => {});
    const live = entries.filter((e) => alive.has(e.node));
    return {
      entries: live,
      flush: () => {
        if (this.rooms.get(room) !== state) return;
        const buffered = state.buffer;
        state.buffer = null;
        for (const m of buffered) this.onMessage(m);
      },
    };
  }

  async unsubscribeRoom(room) {
    this.rooms.delete(room);
    await this.sub.unsubscribe(this.key('room', room));
  }

  announceJoin(room, key, meta) {
    const msg = JSON.stringify({ t: 'join', room, key, meta, node: this.nodeId });
    this.published++;
    return this.pub
      .multi()
      .hset(this.key('presence', room), meta.phx_ref, JSON.stringify({ key, meta, node: this.nodeId }))
      .publish(this.key('room', room), msg)
      .exec()
      .catch((err) => this.log.warn('redis announce join failed', { room, err: err.message }));
  }

  announceLeave(room, key, meta) {
    const msg = JSON.stringify({ t: 'leave', room, peer: meta.peer_id, node: this.nodeId });
    this.published++;
    return this.pub
      .multi()
      .hdel(this.key('presence', room), meta.phx_ref)
      .publish(this.key('room', room), msg)
      .exec()
      .catch((err) => this.log.warn('redis announce leave failed', { room, err: err.message }));
  }

  forgetDead(room, refs) {
    if (refs.length) this.pub.hdel(this.key('presence', room), ...refs).catch(() => {});
  }

  publishRoom(room, msg) {
    this.published++;
    this.pub.publish(this.key('room', room), JSON.stringify({ ...msg, room, node: this.nodeId })).catch((err) =>
      this.log.warn('redis publish failed', { room, err: err.message }),
    );
  }

  sendToNode(node, msg) {
    this.published++;
    this.pub.publish(this.key('to', node), JSON.stringify({ ...msg, node: this.nodeId })).catch((err) =>
      this.log.warn('redis publish failed', { node, err: err.message }),
    );
  }

  stats() {
    return { kind: 'redis', node: this.nodeId, published: this.published, received: this.received, rooms: this.rooms.size };
  }

  async close() {
    clearInterval(this.timer);
    try {
      await this.pub.del(this.key('node', this.nodeId));
    } catch {
      /* best effort */
    }
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }
}
