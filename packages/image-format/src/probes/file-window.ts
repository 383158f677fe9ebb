import { open, type FileHandle } from 'node:fs/promises';

const WINDOW_BYTES = 64 * 1024;

/**
 * Random access to a file through one cached window, for header parsers that hop between
 * offsets (JPEG segments, TIFF directories, GIF blocks) without reading the whole upload.
 */
export class FileWindow {
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

  /** Up to `length` bytes at `position`; shorter only where the file ends. */
  async read(position: number, length: number): Promise<Buffer> {
    const cacheEnd = this.cacheStart + this.cache.length;
    const inCache = position >= this.cacheStart && (position + length <= cacheEnd || cacheEnd === this.size);
    if (!inCache) {
      const size = Math.max(0, Math.min(Math.max(length, WINDOW_BYTES), this.size - position));
      const buffer = Buffer.alloc(size);
      const { bytesRead } = size === 0 ? { bytesRead: 0 } : await this.handle.read(buffer, 0, size, position);
      this.cache = buffer.subarray(0, bytesRead);
      this.cacheStart = position;
    }
    const offset = position - this.cacheStart;
    return this.cache.subarray(offset, offset + length);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
