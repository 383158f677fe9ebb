import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestRedisCluster {
  /** `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`, the form REDIS_CLUSTER_NODES takes */
  nodes: string;
  ports: number[];
  /** Runs `redis-cli -p <port> <args>` against one node and returns its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Stops every node and removes its folder. */
  close(): Promise<void>;
}

/**
 * Three real `redis-server` masters in cluster mode on free loopback ports, joined with
 * `redis-cli --cluster create` (no replicas), in a temporary folder of their own.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'avatar-redis-cluster-'));
  const servers: ChildProcess[] = [];
  const cli = async (port: number, ...args: string[]): Promise<string> =>
    (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 30_000 })).stdout;
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((server) => stop(server)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i += 1) ports.push(await freeClusterPort(ports));
    for (const port of ports) servers.push(startNode(dir, port));
    for (const port of ports) await waitFor(async () => (await cli(port, 'ping').catch(() => '')).trim() === 'PONG', `redis-server on ${port}`);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const port of ports) await waitFor(async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'), `cluster_state:ok on ${port}`);
    return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), ports, cli, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function startNode(dir: string, port: number): ChildProcess {
  const log = openSync(path.join(dir, `redis-${port}.log`), 'a');
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const child = spawn('redis-server', args, { stdio: ['ignore', log, log] });
  closeSync(log);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: number[]): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    if (port + 10_000 > 65_535 || taken.includes(port)) continue;
    if (await listenOnce(port + 10_000).then(() => true, () => false)) return port;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
