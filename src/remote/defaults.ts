/** Blobs a copy moves at once unless told otherwise (light module: the CLI reads it at start-up). */
export const DEFAULT_CONCURRENCY = 3;

/**
 * Blobs a pull downloads at once unless told otherwise. One stream is bound by its own
 * chain (receive, write, hash, flush), not by the link or a core: with 3, the 256 MiB test
 * image's fourth 64 MiB layer started only when the first finished and then ran alone
 * (bench/pull.ts; issue 14). Six, as skopeo: every layer of a typical image at once, with
 * memory bounded per stream (about 1 MiB of received data awaiting its write).
 */
export const DEFAULT_PULL_CONCURRENCY = 6;

/**
 * Blobs a push uploads at once unless told otherwise. One more than a pull: the registry's
 * writes are the limit, and a fourth stream kept the 4-layer test image's last layer from
 * uploading alone (bench/push.ts, measured in pairs on the 2-core dev box: -j 4 ≤ -j 3).
 */
export const DEFAULT_PUSH_CONCURRENCY = 4;
