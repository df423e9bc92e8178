/** Largest gRPC message either way (containerd's default): a Write or Read chunk fits well below it. */
export const MAX_MESSAGE = 16 << 20;
