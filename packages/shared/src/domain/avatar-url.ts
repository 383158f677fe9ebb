import type { AvatarVariant } from './upload-event.js';

export function publicFileUrl(publicBaseUrl: string, fileId: string): string {
  return `${publicBaseUrl.endsWith('/') ? publicBaseUrl : `${publicBaseUrl}/`}${fileId}`;
}

/** The variant to serve for a requested size: the smallest that is at least that big, else the largest. */
export function pickVariant(variants: readonly AvatarVariant[], requested: number | undefined): AvatarVariant | undefined {
  const bySize = [...variants].sort((a, b) => a.size - b.size);
  if (requested === undefined) return bySize.at(-1);
  return bySize.find((v) => v.size >= requested) ?? bySize.at(-1);
}
