/**
 * Platform selection for an index: `os/arch[/variant]`, Go (OCI) spelling. The default is
 * linux on the host's architecture. Matching follows containerd: os and architecture must
 * be equal; a requested variant must match (a missing variant on arm64 counts as v8);
 * with no requested variant the best-ranked variant wins.
 */
import { invalidArgument } from '../errors.js';
import type { Descriptor, Platform } from './descriptor.js';

const NODE_TO_GO: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips: 'mips', mipsel: 'mipsle', loong64: 'loong64' };

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export function hostPlatform(): PlatformSpec {
  const architecture = NODE_TO_GO[process.arch] ?? process.arch;
  return { os: 'linux', architecture, ...(architecture === 'arm' ? { variant: 'v7' } : {}) };
}

export function parsePlatform(text: string): PlatformSpec {
  const parts = text.split('/');
  const ok = /^[a-z0-9._-]+$/;
  if (parts.length < 2 || parts.length > 3 || !parts.every((p) => ok.test(p))) {
    throw invalidArgument('ERR_INVALID_PLATFORM', `invalid platform ${JSON.stringify(text)} (expected os/arch[/variant], e.g. linux/amd64)`, { actual: text });
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return { os, architecture: NODE_TO_GO[architecture] ?? (architecture === 'x86_64' ? 'amd64' : architecture === 'aarch64' ? 'arm64' : architecture), ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: PlatformSpec | Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function variantOf(p: { architecture: string; variant?: string }): string | undefined {
  if (p.variant) return p.variant;
  if (p.architecture === 'arm64') return 'v8';
  return undefined;
}

/** Picks the index entry for `want`, or undefined. Ties keep index order. */
export function choosePlatform(manifests: readonly Descriptor[], want: PlatformSpec): Descriptor | undefined {
  let best: { d: Descriptor; rank: number } | undefined;
  for (const d of manifests) {
    const p = d.platform;
    if (!p || p.os !== want.os || p.architecture !== want.architecture) continue;
    const wantVariant = variantOf(want);
    const have = variantOf(p);
    let rank: number;
    if (want.variant) {
      if (have !== wantVariant) continue;
      rank = 0;
    } else {
      // No variant asked: prefer the host-default variant, then any.
      rank = have === wantVariant ? 0 : 1;
    }
    if (!best || rank < best.rank) best = { d, rank };
  }
  return best?.d;
}
