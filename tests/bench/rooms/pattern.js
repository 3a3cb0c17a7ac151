// The bytes of the bulk-transfer payload: xorshift32 output, so nothing in the path can compress
// it and the receiver can check every byte after the timed part.
export function fillPattern(u8) {
  const words = new Uint32Array(u8.buffer, u8.byteOffset, u8.byteLength >>> 2);
  let x = 0x2545f491;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < u8.length; i++) u8[i] = i & 0xff;
}
