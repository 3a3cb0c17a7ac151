// End-to-end encryption of what a room sends through the signaling server (SDP, ICE candidates,
// relayed frames) when the room has a password. WebCrypto only (browsers and Node >= 20).
//
// Key: PBKDF2-HMAC-SHA-256 over the password, salt = "roomsync/v1/" + room name, 600,000 iterations
// (OWASP's 2023 figure for this hash), giving an AES-GCM-256 key. Each message gets a fresh random
// 96-bit IV; the additional data binds a ciphertext to its purpose, sender and recipient, so the
// server cannot replay a signal as a relay frame or re-address A->B traffic as C->B.
// Wire form of a sealed message: iv (12 bytes) || ciphertext || GCM tag (16 bytes).

export const PBKDF2_ITERATIONS = 600_000;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
/** Bytes a sealed message adds to its plaintext. */
export const SEAL_OVERHEAD = IV_BYTES + TAG_BYTES;

const enc = new TextEncoder();

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) throw new Error('room password needs WebCrypto (crypto.subtle): a secure context (https or localhost) or Node >= 20');
  return s;
}

/** An error about the room password: code 'wrong_password', naming the peer when known. */
export class RoomCryptoError extends Error {
  constructor(code, message, peerId) {
    super(message);
    this.name = 'RoomCryptoError';
    this.code = code;
    if (peerId !== undefined) this.peerId = peerId;
  }
}

/**
 * Derives the room key. Slow on purpose (a guessed password costs an attacker the same work).
 * @param {string} password non-empty
 * @param {string} roomName the salt: the same password gives another key in another room
 */
export async function deriveRoomKey(password, roomName, iterations = PBKDF2_ITERATIONS) {
  if (typeof password !== 'string' || password.length === 0) throw new TypeError('password must be a non-empty string');
  if (typeof roomName !== 'string' || roomName.length === 0) throw new TypeError('roomName is needed as the key salt');
  const s = subtle();
  const base = await s.importKey('raw', enc.encode(password), 'PBKDF2', false, ['deriveKey']);
  return s.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: enc.encode(`roomsync/v1/${roomName}`), iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Additional authenticated data: purpose, sender, recipient. */
function aad(kind, from, to) {
  return enc.encode(`roomsync/v1|${kind}|${from}|${to}`);
}

/** Encrypts `plain` (Uint8Array) from `from` to `to`; returns iv || ciphertext+tag. */
export async function seal(key, kind, from, to, plain) {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: aad(kind, from, to) }, key, plain));
  const out = new Uint8Array(IV_BYTES + ct.length);
  out.set(iv);
  out.set(ct, IV_BYTES);
  return out;
}

/**
 * Decrypts what seal() made. Throws RoomCryptoError('wrong_password') when it does not
 * authenticate: another password (or room), or bytes altered on the way.
 */
export async function open(key, kind, from, to, sealed) {
  if (!(sealed instanceof Uint8Array) || sealed.length < SEAL_OVERHEAD) {
    throw new RoomCryptoError('wrong_password', `peer ${from}: encrypted message too short`, from);
  }
  try {
    const plain = await subtle().decrypt(
      { name: 'AES-GCM', iv: sealed.subarray(0, IV_BYTES), additionalData: aad(kind, from, to) },
      key,
      sealed.subarray(IV_BYTES),
    );
    return new Uint8Array(plain);
  } catch {
    throw new RoomCryptoError('wrong_password', `peer ${from} uses another room password (its message does not decrypt)`, from);
  }
}

// Base64 for sealed signal payloads (signals travel as JSON). Works without Buffer (browsers).
export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
