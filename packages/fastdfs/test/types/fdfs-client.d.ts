// Minimal types for the untyped `fdfs-client` 0.5.4, used only as a third-party witness in tests and the bench.
declare module 'fdfs-client' {
  import type { EventEmitter } from 'node:events';
  import type { Readable, Writable } from 'node:stream';

  type Callback<T> = (error: Error | null | undefined, result: T) => void;

  interface FdfsClientConfig {
    trackers: Array<{ host: string; port: number }>;
    timeout?: number;
    defaultExt?: string;
    charset?: string;
    logger?: { log: (...args: unknown[]) => void };
  }

  interface FdfsFileInfo {
    size: string;
    timestamp: number;
    crc32: number;
    addr: string;
  }

  class FdfsClient extends EventEmitter {
    constructor(config: FdfsClientConfig);
    upload(file: Buffer | Readable | string, options: { ext?: string; group?: string; size?: number }, callback: Callback<string>): void;
    download(fileId: string, options: Writable | { target: Writable; offset?: number; bytes?: number }, callback: (error?: Error | null) => void): void;
    del(fileId: string, callback: (error?: Error | null) => void): void;
    getFileInfo(fileId: string, callback: Callback<FdfsFileInfo>): void;
    setMetaData(fileId: string, metaData: Record<string, string>, flag: 'O' | 'M', callback: (error?: Error | null) => void): void;
    getMetaData(fileId: string, callback: Callback<Record<string, string>>): void;
  }

  export = FdfsClient;
}
