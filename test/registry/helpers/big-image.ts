/**
 * The 256 MiB test image: four 64 MiB uncompressed tar layers of pseudo-random data (a
 * repeated 1 MiB block per layer, distinct per layer, so four distinct digests). Shared by
 * test/registry/large.test.ts and bench/pull.ts.
 */
import { image, layer, type Image } from './image.js';

export const BIG_LAYERS = 4;
export const BIG_LAYER_SIZE = 64 << 20;

export async function bigImage(tag = 'big'): Promise<Image> {
  const layers = [];
  for (let i = 0; i < BIG_LAYERS; i++) layers.push(await layer([{ name: `data/${tag}-${i}.bin`, size: BIG_LAYER_SIZE, seed: `${tag}-${i}` }]));
  return image(layers, { label: tag });
}
