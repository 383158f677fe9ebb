import { checkExt, checkPrefix, isValidGroup } from './codec/field-rules.js';
import { invalidArgument } from './errors/fastdfs-error.js';
import { EXT_NAME_SIZE, FILE_NAME_BASE64_LENGTH, REMOTE_NAME_MAX_LENGTH } from './protocol/sizes.js';

/** A file as requests name it: its group and its name inside the group. */
export interface RemoteFile {
  group: string;
  /** The name inside the group, e.g. `M00/00/00/wKgB….webp`; what storage commands carry. */
  remoteName: string;
}

/** How a slave file is named from its master's: `<master stem><prefix>.<ext>`. */
export interface SlaveName {
  /** 1 to 16 of `A-Z a-z 0-9 . _ -`, e.g. `_256`. */
  prefix: string;
  /** Extension without the dot, `''` for none. */
  ext: string;
}

export interface ParsedFileId extends RemoteFile {
  storePathIndex: number;
  /** Extension without the dot; empty when the file has none. */
  ext: string;
}

/**
 * `Mhh/XX/YY/<name>`: upper-case hex as the storage server writes them, and a name of
 * safe characters only, so no id can address anything outside the store's folders.
 */
const REMOTE_NAME = /^M([0-9A-F]{2})\/[0-9A-F]{2}\/[0-9A-F]{2}\/([A-Za-z0-9_-]{27}[A-Za-z0-9._-]*)$/;
/** A master's name must hold at least the 27 base64 characters and a 7-character tail. */
const MASTER_NAME_MIN_LENGTH = FILE_NAME_BASE64_LENGTH + 1 + EXT_NAME_SIZE;

/** Whether `remoteName` (without group) is valid, as {@link parseRemoteName} checks it, without building its parts. */
export function isValidRemoteName(remoteName: string): boolean {
  return remoteName.length <= REMOTE_NAME_MAX_LENGTH && REMOTE_NAME.test(remoteName);
}

/** Validates a remote name (without group) and returns its parts, or undefined. */
export function parseRemoteName(remoteName: string): { storePathIndex: number; fileName: string; ext: string } | undefined {
  if (remoteName.length > REMOTE_NAME_MAX_LENGTH) return undefined;
  const match = REMOTE_NAME.exec(remoteName);
  if (!match) return undefined;
  const fileName = match[2] ?? '';
  const dot = fileName.lastIndexOf('.');
  const ext = dot >= FILE_NAME_BASE64_LENGTH ? fileName.slice(dot + 1) : '';
  return { storePathIndex: Number.parseInt(match[1] ?? '', 16), fileName, ext };
}

/**
 * Splits and validates a file id (`group1/M00/00/00/xxxx.webp`). Anything else, such as
 * a path with `..`, a wrong group length or lower-case folders, is refused here so it
 * never reaches a socket.
 * @throws FastdfsError of kind `invalid_argument`
 */
export function parseFileId(fileId: string): ParsedFileId {
  if (typeof fileId !== 'string') throw invalidArgument('file id must be a string');
  const slash = fileId.indexOf('/');
  const group = slash < 0 ? '' : fileId.slice(0, slash);
  const remoteName = slash < 0 ? '' : fileId.slice(slash + 1);
  if (!isValidGroup(group)) throw invalidArgument(`invalid file id ${JSON.stringify(fileId)}: bad group name`);
  const parts = parseRemoteName(remoteName);
  if (!parts) throw invalidArgument(`invalid file id ${JSON.stringify(fileId)}: expected group/Mhh/XX/YY/name`);
  return { group, remoteName, storePathIndex: parts.storePathIndex, ext: parts.ext };
}

/** Whether `fileId` would be accepted by {@link parseFileId}. */
export function isValidFileId(fileId: string): boolean {
  try {
    parseFileId(fileId);
    return true;
  } catch {
    return false;
  }
}

/**
 * The remote name the storage server gives a slave file, built exactly as FastDFS's
 * `fdfs_gen_slave_filename` does: the master's name without its extension (a dot within
 * its last 7 characters), then the prefix, then `.ext` unless `ext` is empty.
 */
export function slaveRemoteName(masterRemoteName: string, slave: SlaveName): string {
  if (masterRemoteName.length < MASTER_NAME_MIN_LENGTH) {
    throw invalidArgument(`master name ${JSON.stringify(masterRemoteName)} is too short for a slave`);
  }
  const checkedPrefix = checkPrefix(slave.prefix);
  const checkedExt = checkExt(slave.ext);
  // The storage refuses this pair: the name would clash with the master's metadata file.
  if (checkedExt === '' && checkedPrefix === '-m') throw invalidArgument('prefix "-m" needs an extension');
  const dot = masterRemoteName.indexOf('.', masterRemoteName.length - (EXT_NAME_SIZE + 1));
  const stem = dot < 0 ? masterRemoteName : masterRemoteName.slice(0, dot);
  const name = `${stem}${checkedPrefix}${checkedExt === '' ? '' : `.${checkedExt}`}`;
  if (name.length > REMOTE_NAME_MAX_LENGTH) throw invalidArgument(`slave name ${JSON.stringify(name)} is too long`);
  return name;
}

/** The id the storage will give the slave of `masterFileId` with this prefix and extension. */
export function slaveFileId(masterFileId: string, prefix: string, ext: string): string {
  const master = parseFileId(masterFileId);
  return `${master.group}/${slaveRemoteName(master.remoteName, { prefix, ext })}`;
}
