/**
 * The images and introspection services of a server, for the CLI (`dist --address … images`,
 * `dist --address … plugins`): the same records the local commands read from the root.
 */
import type { ImageRecord } from '../oci/images.js';
import { fromTimestamp } from '../services/convert.js';
import type { WireImage, WirePlugin } from '../services/messages.js';
import type { RemoteStore } from './store.js';

export async function listRemoteImages(store: RemoteStore, filters: string[] = []): Promise<Array<ImageRecord & { labels: Record<string, string>; createdAt: Date }>> {
  const r = await store.connection.unary<{ images?: WireImage[] }>('images', 'List', { filters });
  return (r.images ?? [])
    .map((i) => ({
      name: i.name ?? '',
      mediaType: i.target?.mediaType ?? '',
      digest: i.target?.digest ?? '',
      size: i.target?.size ?? 0,
      labels: i.labels ?? {},
      createdAt: fromTimestamp(i.createdAt),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function removeRemoteImage(store: RemoteStore, name: string): Promise<void> {
  await store.connection.unary('images', 'Delete', { name });
}

export async function remotePlugins(store: RemoteStore): Promise<WirePlugin[]> {
  const r = await store.connection.unary<{ plugins?: WirePlugin[] }>('introspection', 'Plugins', { filters: [] });
  return r.plugins ?? [];
}
