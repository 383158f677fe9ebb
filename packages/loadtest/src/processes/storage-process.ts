import { startDevServer } from '@avatar/fastdfs';
import { readChildOptions, sendToParent, stopWhenParentSays } from './child-channel.js';

/**
 * The embedded FastDFS dev server in a process of its own (as `pnpm fastdfs:dev`), on ports
 * the OS picks, so its CPU and memory are measured apart from the load generator's.
 */
async function main(): Promise<void> {
  const { dataDir } = readChildOptions<{ dataDir: string }>();
  const server = await startDevServer({ trackerPort: 0, storagePort: 0, httpPort: 0, dataDir });
  stopWhenParentSays(() => server.close());
  sendToParent({ type: 'storage', trackers: server.trackers, publicUrl: server.publicUrl });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
