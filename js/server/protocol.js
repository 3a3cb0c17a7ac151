// Phoenix Channels V2 serializer: decode and validate client frames, encode server frames.
// See docs/signaling.md and the V2 wire format: [join_ref, ref, topic, event, payload].

export const EVENTS = Object.freeze({
  join: 'phx_join',
  leave: 'phx_leave',
  reply: 'phx_reply',
  close: 'phx_close',
  error: 'phx_error',
  heartbeat: 'heartbeat',
});

const BINARY_KIND = { push: 0, reply: 1, broadcast: 2 };

/** A frame we cannot make sense of. `ref`/`topic`/`joinRef` are set when they could be read. */
export class ProtocolError extends Error {
  constructor(reason, fields = {}) {
    super(reason);
    this.reason = reason;
    Object.assign(this, fields);
  }
}

const isRef = (v) => v === null || v === undefined || typeof v === 'string' || typeof v === 'number';
const normRef = (v) => (v === null || v === undefined ? null : String(v));

/**
 * Decodes one client text frame. Returns {joinRef, ref, topic, event, payload, binary:false}.
 * Throws ProtocolError('malformed_json' | 'invalid_message' | 'invalid_payload').
 */
export function decodeText(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new ProtocolError('malformed_json');
  }
  if (!Array.isArray(msg) || msg.length < 5) throw new ProtocolError('invalid_message');
  const [joinRef, ref, topic, event, payload] = msg;
  if (!isRef(joinRef) || !isRef(ref) || typeof topic !== 'string' || typeof event !== 'string') {
    throw new ProtocolError('invalid_message', { ref: isRef(ref) ? normRef(ref) : null });
  }
  const out = { joinRef: normRef(joinRef), ref: normRef(ref), topic, event, payload, binary: false };
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new ProtocolError('invalid_payload', { ref: out.ref, joinRef: out.joinRef, topic, event });
  }
  return out;
}

/**
 * Decodes one client binary frame (V2 kind 0 "push": 5-byte header, then join_ref, ref, topic,
 * event, then raw bytes). Returns the same shape as decodeText with `payload` a Buffer.
 */
export function decodeBinary(buf) {
  if (buf.length < 5 || buf[0] !== BINARY_KIND.push) throw new ProtocolError('invalid_binary');
  const sizes = [buf[1], buf[2], buf[3], buf[4]];
  let offset = 5;
  const fields = [];
  for (const size of sizes) {
    if (offset + size > buf.length) throw new ProtocolError('invalid_binary');
    fields.push(buf.toString('utf8', offset, offset + size));
    offset += size;
  }
  const [joinRef, ref, topic, event] = fields;
  if (!topic || !event) throw new ProtocolError('invalid_binary', { ref: ref || null });
  return { joinRef: joinRef || null, ref: ref || null, topic, event, payload: buf.subarray(offset), binary: true };
}

/** Encodes a server message as a V2 JSON text frame. */
export function encode(joinRef, ref, topic, event, payload) {
  return JSON.stringify([joinRef ?? null, ref ?? null, topic, event, payload]);
}

export function encodeReply(joinRef, ref, topic, status, response = {}) {
  return encode(joinRef, ref, topic, EVENTS.reply, { status, response });
}

function byteLen(s) {
  const n = Buffer.byteLength(s);
  if (n > 255) throw new RangeError('binary header field longer than 255 bytes');
  return n;
}

/** Encodes a server push as a V2 binary frame (kind 0: join_ref, topic, event — no ref). */
export function encodeBinaryPush(joinRef, topic, event, data) {
  const jr = joinRef || '';
  const header = Buffer.allocUnsafe(4);
  header[0] = BINARY_KIND.push;
  header[1] = byteLen(jr);
  header[2] = byteLen(topic);
  header[3] = byteLen(event);
  return Buffer.concat([header, Buffer.from(jr), Buffer.from(topic), Buffer.from(event), data]);
}

/** Encodes a broadcast as a V2 binary frame (kind 2: topic, event). */
export function encodeBinaryBroadcast(topic, event, data) {
  const header = Buffer.allocUnsafe(3);
  header[0] = BINARY_KIND.broadcast;
  header[1] = byteLen(topic);
  header[2] = byteLen(event);
  return Buffer.concat([header, Buffer.from(topic), Buffer.from(event), data]);
}

/**
 * roomsync relay framing inside a binary payload: [1 byte n][n bytes peer id (UTF-8)][data].
 * The sender names the target; the server rewrites it to name the sender.
 */
export function decodeRelayEnvelope(buf) {
  if (buf.length < 1) return null;
  const n = buf[0];
  if (n === 0 || 1 + n > buf.length) return null;
  return { peer: buf.toString('utf8', 1, 1 + n), data: buf.subarray(1 + n) };
}

export function encodeRelayEnvelope(peer, data) {
  const id = Buffer.from(peer);
  if (id.length === 0 || id.length > 255) throw new RangeError('peer id must be 1..255 bytes');
  return Buffer.concat([Buffer.from([id.length]), id, data]);
}
