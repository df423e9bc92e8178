/** Blobs a pull downloads at once unless told otherwise (light module: the CLI reads it at start-up). */
export const DEFAULT_CONCURRENCY = 3;

/**
 * Blobs a push uploads at once unless told otherwise. One more than a pull: the registry's
 * writes are the limit, and a fourth stream kept the 4-layer test image's last layer from
 * uploading alone (bench/push.ts, measured in pairs on the 2-core dev box: -j 4 ≤ -j 3).
 */
export const DEFAULT_PUSH_CONCURRENCY = 4;
