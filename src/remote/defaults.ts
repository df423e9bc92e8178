/** Blobs a pull downloads at once unless told otherwise (light module: the CLI reads it at start-up). */
export const DEFAULT_CONCURRENCY = 3;
