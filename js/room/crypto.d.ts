// Type declarations for js/room/crypto.js: the room password's end-to-end encryption.

export const PBKDF2_ITERATIONS: number;
export const IV_BYTES: number;
export const TAG_BYTES: number;
/** Bytes a sealed message adds to its plaintext (IV + GCM tag). */
export const SEAL_OVERHEAD: number;

export class RoomCryptoError extends Error {
  readonly name: 'RoomCryptoError';
  readonly code: 'wrong_password' | (string & {});
  readonly peerId?: string;
  constructor(code: string, message: string, peerId?: string);
}

/** PBKDF2-HMAC-SHA-256(password, "roomsync/v1/" + roomName) -> AES-GCM-256 key. */
export function deriveRoomKey(password: string, roomName: string, iterations?: number): Promise<CryptoKey>;
/** Encrypts from `from` to `to`; `kind` names the purpose ('signal', 'relay'). Returns iv || ciphertext || tag. */
export function seal(key: CryptoKey, kind: string, from: string, to: string, plain: Uint8Array): Promise<Uint8Array>;
/** Decrypts seal()'s output; rejects with RoomCryptoError('wrong_password') if it does not authenticate. */
export function open(key: CryptoKey, kind: string, from: string, to: string, sealed: Uint8Array): Promise<Uint8Array>;
export function toBase64(bytes: Uint8Array): string;
export function fromBase64(text: string): Uint8Array;
