import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DevServer, type DevServerOptions, startDevServer } from '../../src/index.js';

export interface TestServer extends DevServer {
  /** Closes the server and removes its data folder. */
  dispose(): Promise<void>;
}

/** A dev server on free ports with a fresh temporary data folder. */
export async function startTestServer(options: Partial<DevServerOptions> = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'fastdfs-test-')));
  const server = await startDevServer({ ...options, dataDir });
  return Object.assign(server, {
    dispose: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}

/** A loopback port with nothing listening on it. */
export async function deadPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
