import { open, type FileHandle } from 'node:fs/promises';

/**
 * Bytes read at a time. The JPEG scan count reads a whole upload back (about 40 reads for
 * 10 MB, 3 for a 600 KB photo): each read is a trip through libuv's thread pool, so fewer and
 * larger ones cost the API less CPU; one such buffer per upload being probed bounds the memory.
 */
export const WINDOW_BYTES = 256 * 1024;

/**
 * Random access to a file through one cached window, for header parsers that hop between
 * offsets (JPEG segments, TIFF directories, GIF blocks) without reading the whole upload.
 *
 * Every read goes into the same buffer, allocated once per file: a fresh buffer per read
 * made a 10 MB upload leave ~160 dead 64 KiB buffers, which V8 frees only at its next
 * collection (tens of MB of RSS with 64 uploads probed at once). So the bytes a read returns
 * are valid until the next read (one at a time): a caller takes what it needs from them first.
 */
export class FileWindow {
  private buffer: Buffer | undefined;
  private cache: Buffer = Buffer.alloc(0);
  private cacheStart = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(filePath: string): Promise<FileWindow> {
    const handle = await open(filePath, 'r');
    try {
      const { size } = await handle.stat();
      return new FileWindow(handle, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Up to `length` bytes at `position`; shorter only where the file ends. The returned bytes
   * are overwritten by the next read that misses the cached window.
   */
  async read(position: number, length: number): Promise<Buffer> {
    const cacheEnd = this.cacheStart + this.cache.length;
    const inCache = position >= this.cacheStart && (position + length <= cacheEnd || cacheEnd === this.size);
    if (!inCache) {
      const size = Math.max(0, Math.min(Math.max(length, WINDOW_BYTES), this.size - position));
      const buffer = this.bufferOf(size);
      // forgotten first: a read that fails halfway must not leave a half-overwritten window cached
      this.cache = Buffer.alloc(0);
      const { bytesRead } = size === 0 ? { bytesRead: 0 } : await this.handle.read(buffer, 0, size, position);
      this.cache = buffer.subarray(0, bytesRead);
      this.cacheStart = position;
    }
    const offset = position - this.cacheStart;
    return this.cache.subarray(offset, offset + length);
  }

  /**
   * The window's buffer, grown to hold `size` bytes: no larger than the file (a small upload
   * gets a small buffer), not zero-filled (only the bytes read are ever returned).
   */
  private bufferOf(size: number): Buffer {
    if (this.buffer === undefined || this.buffer.length < size) {
      this.buffer = Buffer.allocUnsafeSlow(Math.max(size, Math.min(WINDOW_BYTES, this.size)));
    }
    return this.buffer;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
