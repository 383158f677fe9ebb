import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { parseRemoteName } from '../file-id.js';
import { hex2 } from './file-name.js';

/** Files per sub-folder before the round robin moves on, as the real storage's default. */
const FILES_PER_FOLDER = 100;

/** An open temporary file that content is written into before it gets its final name. */
export interface PendingFile {
  readonly folder: { high: number; low: number };
  readonly path: string;
  readonly handle: FileHandle;
  written: number;
  crc32: number;
}

/**
 * One store path laid out as the real storage lays it out: `<root>/data/XX/YY/<name>`,
 * metadata beside the file as `<name>-m`. Sub-folders are used round robin, moving every
 * 100 files; unlike the real server they are created when first used rather than all
 * 65,536 at start, which keeps start-up instant.
 */
export class DiskStore {
  private readonly dataDir: string;
  private readonly readyFolders = new Set<string>();
  private writes = 0;
  private high = 0;
  private low = 0;
  private tempCounter = 0;

  constructor(readonly rootDir: string) {
    this.dataDir = join(rootDir, 'data');
  }

  async init(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
  }

  /** The file behind a remote name of store path 0, or undefined when the name is not acceptable. */
  pathOf(remoteName: string): string | undefined {
    const parsed = parseRemoteName(remoteName);
    if (!parsed || parsed.storePathIndex !== 0) return undefined;
    // parseRemoteName guarantees `Mhh/XX/YY/<safe name>`, so this stays inside dataDir.
    return join(this.dataDir, remoteName.slice(4, 6), remoteName.slice(7, 9), parsed.fileName);
  }

  metadataPathOf(remoteName: string): string | undefined {
    const path = this.pathOf(remoteName);
    return path === undefined ? undefined : `${path}-m`;
  }

  /** Starts a temporary file in the next sub-folder of the round robin. */
  async begin(): Promise<PendingFile> {
    const folder = this.nextFolder();
    return this.beginIn(folder);
  }

  /** Starts a temporary file in a given sub-folder (slave files live beside their master). */
  async beginIn(folder: { high: number; low: number }): Promise<PendingFile> {
    const dir = await this.ensureFolder(folder.high, folder.low);
    const path = join(dir, `.tmp-${process.pid}-${++this.tempCounter}`);
    const handle = await open(path, 'wx');
    return { folder, path, handle, written: 0, crc32: 0 };
  }

  async write(file: PendingFile, chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await file.handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
    file.crc32 = crc32(chunk, file.crc32);
    file.written += chunk.length;
  }

  /**
   * Renames the temporary file into place under the name `nameFor` gives (called again
   * if that name is taken). Returns the remote name.
   */
  async commit(file: PendingFile, nameFor: () => string): Promise<string> {
    await file.handle.close();
    for (let attempt = 0; attempt < 10; attempt++) {
      const remoteName = nameFor();
      const path = this.pathOf(remoteName);
      if (path === undefined) throw Object.assign(new Error(`bad generated name ${remoteName}`), { code: 'EINVAL' });
      if (await this.exists(path)) continue;
      await rename(file.path, path);
      return remoteName;
    }
    await this.discard(file);
    throw Object.assign(new Error('could not find a free file name'), { code: 'EEXIST' });
  }

  /** Drops a temporary file after a failed or abandoned upload. */
  async discard(file: PendingFile): Promise<void> {
    await file.handle.close().catch(() => undefined);
    await rm(file.path, { force: true });
  }

  async exists(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  }

  async remove(remoteName: string): Promise<void> {
    const path = this.pathOf(remoteName);
    if (path === undefined) throw Object.assign(new Error('bad name'), { code: 'ENOENT' });
    await unlink(path);
    await rm(`${path}-m`, { force: true });
  }

  async readMetadata(remoteName: string): Promise<Buffer | undefined> {
    const path = this.metadataPathOf(remoteName);
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch {
      return undefined;
    }
  }

  async writeMetadata(remoteName: string, packed: Buffer): Promise<void> {
    const path = this.metadataPathOf(remoteName);
    if (path === undefined) return;
    if (packed.length === 0) {
      await rm(path, { force: true });
      return;
    }
    const temp = `${path}.tmp-${process.pid}-${++this.tempCounter}`;
    await writeFile(temp, packed);
    await rename(temp, path);
  }

  private nextFolder(): { high: number; low: number } {
    const folder = { high: this.high, low: this.low };
    if (++this.writes >= FILES_PER_FOLDER) {
      this.writes = 0;
      this.low = (this.low + 1) % 256;
      if (this.low === 0) this.high = (this.high + 1) % 256;
    }
    return folder;
  }

  private async ensureFolder(high: number, low: number): Promise<string> {
    const dir = join(this.dataDir, hex2(high), hex2(low));
    if (!this.readyFolders.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.readyFolders.add(dir);
    }
    return dir;
  }
}

