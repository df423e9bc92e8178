// Blob sizes of the stress set (shared by children/stress.mjs and stress.test.ts).
export function blobSize(i, seed) {
  // Deterministic per blob: 2% of 1–4 MiB, 8% of 64 KiB–1 MiB, the rest 0–64 KiB (some empty).
  let x = ((seed * 7919 + i * 104729) >>> 0) || 1;
  x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
  const r = x % 1000;
  if (i % 97 === 0) return 0;
  if (r < 20) return (1 << 20) + (x % (3 << 20));
  if (r < 100) return (64 << 10) + (x % (960 << 10));
  return x % (64 << 10);
}
