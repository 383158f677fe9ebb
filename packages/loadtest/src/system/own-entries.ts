import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's child entries, beside this file's folder: `.ts` from source, `.js` once built. */
export function ownEntry(name: 'storage-process' | 'bare-handler-process' | 'raw-sharp-process'): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'processes', `${name}${path.extname(here)}`);
}
