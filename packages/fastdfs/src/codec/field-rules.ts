import { invalidArgument } from '../errors/fastdfs-error.js';
import { EXT_NAME_SIZE, GROUP_NAME_SIZE, PREFIX_SIZE } from '../protocol/sizes.js';

/** Characters the storage server accepts in an extension or slave prefix. */
const NAME_CHARS = /^[A-Za-z0-9._-]*$/;
/** Group names as FastDFS validates them (alphanumerics, '-' and '_'). */
const GROUP_CHARS = /^[A-Za-z0-9_-]+$/;

export function isValidGroup(group: string): boolean {
  return group.length > 0 && group.length <= GROUP_NAME_SIZE && GROUP_CHARS.test(group);
}

export function isValidExt(ext: string): boolean {
  return ext.length <= EXT_NAME_SIZE && NAME_CHARS.test(ext);
}

export function isValidPrefix(prefix: string): boolean {
  return prefix.length > 0 && prefix.length <= PREFIX_SIZE && NAME_CHARS.test(prefix);
}

/**
 * Normalises a caller's extension: a leading dot is dropped, the rest must fit the
 * 6-byte field. Refused rather than truncated, so a file never gets a wrong extension.
 */
export function checkExt(ext: string, command = 0): string {
  const bare = ext.startsWith('.') ? ext.slice(1) : ext;
  if (!isValidExt(bare)) {
    throw invalidArgument(`invalid file extension ${JSON.stringify(ext)}: at most ${EXT_NAME_SIZE} of A-Z a-z 0-9 . _ -`, command);
  }
  return bare;
}

export function checkGroup(group: string, command = 0): string {
  if (!isValidGroup(group)) {
    throw invalidArgument(`invalid group name ${JSON.stringify(group)}: 1 to ${GROUP_NAME_SIZE} of A-Z a-z 0-9 _ -`, command);
  }
  return group;
}

export function checkPrefix(prefix: string, command = 0): string {
  if (!isValidPrefix(prefix)) {
    throw invalidArgument(`invalid slave prefix ${JSON.stringify(prefix)}: 1 to ${PREFIX_SIZE} of A-Z a-z 0-9 . _ -`, command);
  }
  return prefix;
}
