import { startDevServer } from '../dev-server/dev-server.js';
import { ConfigError } from '../config/config-error.js';
import { USAGE, parseDevServerArgs } from './dev-server-config.js';

/** Entry point: read settings, start the dev server, stop cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  // A closed stdout (a pipe whose reader left) must not take the server down.
  process.stdout.on('error', () => undefined);
  let command;
  try {
    command = parseDevServerArgs(process.argv.slice(2), process.env, process.cwd());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${error.problems.map((problem) => `fastdfs dev server: ${problem}`).join('\n')}\n\n${USAGE}`);
    process.exit(2);
  }
  if (command.kind === 'help') {
    console.log(USAGE);
    return;
  }

  const server = await startDevServer(command.options);
  console.log(
    [
      `FastDFS dev server (${server.group}) listening on ${server.host}`,
      `  tracker  ${server.trackers}`,
      `  storage  ${server.host}:${server.storagePort}`,
      `  http     ${server.publicUrl}`,
      `  data     ${server.dataDir}`,
      `  use: FDFS_TRACKERS=${server.trackers} FDFS_PUBLIC_URL=${server.publicUrl}`,
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    // Open connections are closed by server.close(); the timer only guards against a stuck close.
    const force = setTimeout(() => process.exit(0), 2_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('error while stopping:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = code === 'EADDRINUSE' ? `a port is already in use (${(error as Error).message})` : error instanceof Error ? error.message : String(error);
  console.error(`fastdfs dev server: ${message}`);
  process.exit(1);
});
