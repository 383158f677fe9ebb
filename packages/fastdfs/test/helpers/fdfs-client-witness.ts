import { Writable } from 'node:stream';
import FdfsClient from 'fdfs-client';

/** Promise wrappers around the callback API of `fdfs-client`, silenced (it logs to console by default). */
export class FdfsWitness {
  private readonly client: FdfsClient;

  constructor(trackers: string) {
    const list = trackers.split(',').map((entry) => {
      const [host = '', port = ''] = entry.split(':');
      return { host, port: Number(port) };
    });
    this.client = new FdfsClient({ trackers: list, timeout: 5_000, logger: { log: () => undefined } });
  }

  upload(content: Buffer, ext: string): Promise<string> {
    return new Promise((resolve, reject) => this.client.upload(content, { ext }, (error, fileId) => (error ? reject(error) : resolve(fileId))));
  }

  download(fileId: string, range?: { offset: number; bytes: number }): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const target = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    return new Promise((resolve, reject) =>
      this.client.download(fileId, range ? { target, ...range } : target, (error) => (error ? reject(error) : resolve(Buffer.concat(chunks)))),
    );
  }

  delete(fileId: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.del(fileId, (error) => (error ? reject(error) : resolve())));
  }

  getMetadata(fileId: string): Promise<Record<string, string>> {
    return new Promise((resolve, reject) => this.client.getMetaData(fileId, (error, metadata) => (error ? reject(error) : resolve(metadata))));
  }

  setMetadata(fileId: string, metadata: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => this.client.setMetaData(fileId, metadata, 'O', (error) => (error ? reject(error) : resolve())));
  }

  fileInfo(fileId: string): Promise<{ size: string; timestamp: number; crc32: number; addr: string }> {
    return new Promise((resolve, reject) => this.client.getFileInfo(fileId, (error, info) => (error ? reject(error) : resolve(info))));
  }
}
