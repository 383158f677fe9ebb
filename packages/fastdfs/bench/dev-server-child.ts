import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../src/index.js';

/** The bench's server process: a dev server on free ports, driven over IPC. */
const dataDir = await mkdtemp(join(tmpdir(), 'fastdfs-bench-'));
const server = await startDevServer({ dataDir });

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') {
    process.send?.({ type: 'stats', connections: server.connections(), cpu: process.cpuUsage() });
  } else if (message.type === 'stop') {
    void server
      .close()
      .then(() => rm(dataDir, { recursive: true, force: true }))
      .then(() => process.exit(0));
  }
});
process.send?.({ type: 'ready', trackers: server.trackers });
