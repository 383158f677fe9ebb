import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import FdfsClient from 'fdfs-client';
import { FastdfsClient } from '../src/index.js';

/**
 * Compares this client with fdfs-client against the dev server running in its own
 * process: uploads/s of 50 KB buffers (sequential and 16 in flight), this process's CPU
 * time per upload, TCP connections opened per 1,000 uploads, then peak RSS while
 * streaming 100 MB up and down.
 */

const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 2000);
const WARMUP = 200;
const IN_FLIGHT = 16;
const FILE_SIZE = 50 * 1024;
const STREAM_SIZE = 100 * 1024 * 1024;

interface Connections {
  tracker: number;
  storage: number;
}
type Message = { type: 'ready'; trackers: string } | { type: 'stats'; connections: Connections & { http: number } };

class ServerProcess {
  private pending: ((message: Message) => void) | undefined;
  private constructor(
    private readonly child: ChildProcess,
    readonly trackers: string,
  ) {
    child.on('message', (message: Message) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.(message);
    });
  }

  static start(): Promise<ServerProcess> {
    const child = fork(fileURLToPath(new URL('./dev-server-child.ts', import.meta.url)), [], { execArgv: ['--conditions=source', '--import', 'tsx'] });
    return new Promise((resolve, reject) => {
      child.once('message', (message: Message) => {
        if (message.type === 'ready') resolve(new ServerProcess(child, message.trackers));
      });
      child.once('exit', (code) => reject(new Error(`bench server exited with ${String(code)}`)));
    });
  }

  async connections(): Promise<number> {
    const reply = await new Promise<Message>((resolve) => {
      this.pending = resolve;
      this.child.send({ type: 'stats' });
    });
    if (reply.type !== 'stats') throw new Error('unexpected reply');
    return reply.connections.tracker + reply.connections.storage;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'stop' });
    });
  }
}

type Upload = (content: Buffer) => Promise<string>;

interface PhaseResult {
  perSecond: number;
  cpuMicrosPerUpload: number;
  connectionsPer1000: number;
}

async function phase(server: ServerProcess, upload: Upload, content: Buffer, inFlight: number): Promise<PhaseResult> {
  const connectionsBefore = await server.connections();
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < UPLOADS) {
      next++;
      await upload(content);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const connections = (await server.connections()) - connectionsBefore;
  return {
    perSecond: UPLOADS / seconds,
    cpuMicrosPerUpload: (cpu.user + cpu.system) / UPLOADS,
    connectionsPer1000: (connections / UPLOADS) * 1000,
  };
}

async function measureClient(name: string, server: ServerProcess, upload: Upload): Promise<{ sequential: PhaseResult; parallel: PhaseResult }> {
  const content = randomBytes(FILE_SIZE);
  for (let i = 0; i < WARMUP; i++) await upload(content);
  const sequential = await phase(server, upload, content, 1);
  const parallel = await phase(server, upload, content, IN_FLIGHT);
  console.log(
    `${name.padEnd(14)} sequential ${sequential.perSecond.toFixed(0).padStart(6)}/s  ` +
      `${IN_FLIGHT} in flight ${parallel.perSecond.toFixed(0).padStart(6)}/s  ` +
      `CPU/upload ${sequential.cpuMicrosPerUpload.toFixed(0).padStart(5)} µs seq, ${parallel.cpuMicrosPerUpload.toFixed(0).padStart(5)} µs ${IN_FLIGHT}x  ` +
      `connections/1000 uploads ${sequential.connectionsPer1000.toFixed(1)} seq, ${parallel.connectionsPer1000.toFixed(1)} ${IN_FLIGHT}x`,
  );
  return { sequential, parallel };
}

function fdfsUpload(trackers: string): Upload {
  const [host = '127.0.0.1', port = '22122'] = trackers.split(':');
  const client = new FdfsClient({ trackers: [{ host, port: Number(port) }], logger: { log: () => undefined } });
  return (content) => new Promise((resolve, reject) => client.upload(content, { ext: 'jpg' }, (error, fileId) => (error ? reject(error) : resolve(fileId))));
}

async function streamingRss(client: FastdfsClient, streamSize: number): Promise<{ baseline: number; peak: number; seconds: number; matches: boolean }> {
  const piece = randomBytes(64 * 1024);
  const source = (): Readable => {
    let sent = 0;
    return new Readable({
      read() {
        if (sent >= streamSize) {
          this.push(null);
          return;
        }
        sent += piece.length;
        this.push(piece);
      },
    });
  };
  const expected = createHash('sha256');
  for await (const chunk of source()) expected.update(chunk as Buffer);

  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const started = process.hrtime.bigint();
  const fileId = await client.upload({ stream: source(), size: streamSize }, { ext: 'bin' });
  const actual = createHash('sha256');
  await pipeline(
    await client.downloadStream(fileId),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        actual.update(chunk);
        callback();
      },
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  await client.delete(fileId);
  return { baseline, peak, seconds, matches: actual.digest('hex') === expected.digest('hex') };
}

async function main(): Promise<void> {
  const started = Date.now();
  const server = await ServerProcess.start();
  console.log(`FastDFS bench: ${UPLOADS} uploads of ${FILE_SIZE / 1024} KB per phase (after ${WARMUP} warm-up), dev server in its own process, Node ${process.version}\n`);
  try {
    const theirs = await measureClient('fdfs-client', server, fdfsUpload(server.trackers));
    const ours = new FastdfsClient({ trackers: server.trackers });
    const mine = await measureClient('@avatar/fastdfs', server, (content) => ours.upload(content, { ext: 'jpg' }));

    const cpuRatio = mine.parallel.cpuMicrosPerUpload / theirs.parallel.cpuMicrosPerUpload;
    const cpuRatioSeq = mine.sequential.cpuMicrosPerUpload / theirs.sequential.cpuMicrosPerUpload;
    console.log('\nratios (@avatar/fastdfs vs fdfs-client)');
    console.log(`  client CPU per upload: ${cpuRatioSeq.toFixed(2)}x sequential, ${cpuRatio.toFixed(2)}x with ${IN_FLIGHT} in flight   (target <= 0.33)`);
    console.log(`  throughput: ${(mine.sequential.perSecond / theirs.sequential.perSecond).toFixed(2)}x sequential, ${(mine.parallel.perSecond / theirs.parallel.perSecond).toFixed(2)}x with ${IN_FLIGHT} in flight   (target >= 1)`);
    console.log(
      `  connections per 1,000 uploads: ${mine.parallel.connectionsPer1000.toFixed(1)} vs ${theirs.parallel.connectionsPer1000.toFixed(0)} (${IN_FLIGHT} in flight; pool size 8 per endpoint; whole run opened ${ours.connectionsOpened})`,
    );

    const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    // the same stream 5x larger: growth that does not follow the size is garbage awaiting
    // collection, not data the client holds
    for (const [size, note] of [[STREAM_SIZE, '(target < 32)'], [STREAM_SIZE * 5, '(5x the size: growth should not follow)']] as const) {
      const rss = await streamingRss(ours, size);
      console.log(
        `${size === STREAM_SIZE ? '\n' : ''}streaming ${mb(size)} MB up then down: ${rss.seconds.toFixed(1)} s, content ${rss.matches ? 'identical' : 'DIFFERENT'}, ` +
          `RSS ${mb(rss.baseline)} -> peak ${mb(rss.peak)} MB, growth ${mb(rss.peak - rss.baseline)} MB   ${note}`,
      );
    }
    await ours.close();
  } finally {
    await server.stop();
  }
  console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await main();
