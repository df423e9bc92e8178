// Deterministic test content: xorshift32 from `seed`. Plain JS so the crash soak, the
// multi-process test children and the TypeScript tests all share this one generator.
export function seededBytes(seed, size) {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 0x9e3779b9;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
