import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader } from '../src/protocol/header.js';
import { Command } from '../src/protocol/commands.js';
import { FastdfsClient, FastdfsError, startDevServer } from '../src/index.js';
import { startRealFastdfs } from '../src/testing/index.js';
import { RawSocket } from './helpers/raw-socket.js';
import { describeRealMissing, realFastdfsMissing } from './helpers/real-server.js';

/** One server under test, with its storage server's faults. */
interface Target {
  trackers: string;
  storagePort: number;
  stopStorage(): Promise<void>;
  killStorage(): Promise<void>;
  freezeStorage(): Promise<void>;
  /** Starts a stopped or killed storage server, or thaws a frozen one; ACTIVE again. */
  startStorage(): Promise<void>;
  close(): Promise<void>;
}

async function devTarget(): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fastdfs-parity-'));
  const dev = await startDevServer({ dataDir });
  return {
    trackers: dev.trackers,
    storagePort: dev.storagePort,
    stopStorage: () => dev.storage.stop(),
    killStorage: () => dev.storage.kill(),
    freezeStorage: async () => dev.storage.freeze(),
    startStorage: () => dev.storage.start(),
    close: async () => {
      await dev.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function realTarget(): Promise<Target> {
  const real = await startRealFastdfs();
  let frozen = false;
  return {
    trackers: real.trackers,
    storagePort: real.storagePort,
    stopStorage: () => real.stopStorage(),
    killStorage: () => real.killStorage(),
    freezeStorage: async () => {
      await real.freezeStorage();
      frozen = true;
    },
    startStorage: async () => {
      if (frozen) await real.thawStorage();
      else await real.startStorage();
      frozen = false;
    },
    close: () => real.close(),
  };
}

/** What one step got: `ok …` with a summary of the answer, the status and its command, or the error kind. */
async function outcome(action: () => Promise<string | undefined | void>): Promise<string> {
  try {
    const summary = await action();
    return summary === undefined ? 'ok' : `ok ${summary}`;
  } catch (error) {
    if (!(error instanceof FastdfsError)) throw error;
    return error.kind === 'status' ? `status ${String(error.status)} to command ${error.command}` : error.kind;
  }
}

/** Polls until `probe` stops succeeding (at most `ms`): a tracker notices a dead connection a moment after the kill. */
async function untilFails(probe: () => Promise<unknown>, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await outcome(async () => void (await probe()))) !== 'ok') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A raw upload frame to the storage server: path index 0, size, a 6-byte extension field, content. */
function rawUpload(ext: string, content: Buffer): { command: number; body: Buffer } {
  const head = Buffer.alloc(15);
  head.writeBigInt64BE(BigInt(content.length), 1);
  head.write(ext, 9, 'latin1');
  return { command: Command.STORAGE_UPLOAD_FILE, body: Buffer.concat([head, content]) };
}

async function rawStatus(port: number, frame: { command: number; body: Buffer }): Promise<string> {
  const socket = await RawSocket.open(port);
  try {
    socket.send(Buffer.concat([encodeHeader({ bodyLength: frame.body.length, command: frame.command }), frame.body]));
    const reply = await socket.reply();
    // Whether the server then closes: wait for it (a loaded machine may take longer than reply's grace).
    const closed = reply.closed || (await socket.reply(1_000).then((next) => next.closed, () => false));
    return `status ${String(reply.status)}${closed ? ', closed' : ''}`;
  } finally {
    socket.close();
  }
}

type Step = [name: string, run: (target: Target, client: FastdfsClient, ids: Map<string, string>) => Promise<string>];

const id = (ids: Map<string, string>, name: string): string => {
  const value = ids.get(name);
  if (value === undefined) throw new Error(`no file ${name} yet`);
  return value;
};

const content = Buffer.from('parity content, the same bytes to both servers');

/** The same requests and faults, in order, for both servers. */
const STEPS: Step[] = [
  ['upload', (_t, c, ids) => outcome(async () => void ids.set('master', await c.upload(content, { ext: 'jpg' })))],
  ['upload into an unknown group', (_t, c) => outcome(() => c.upload(content, { ext: 'jpg', group: 'nosuchgroup' }))],
  ['slave upload', (_t, c, ids) => outcome(async () => void ids.set('slave', await c.uploadSlave(id(ids, 'master'), '_256', Buffer.from('slave'), { ext: 'webp' })))],
  ['same slave again', (_t, c, ids) => outcome(() => c.uploadSlave(id(ids, 'master'), '_256', Buffer.from('slave'), { ext: 'webp' }))],
  ['download', (_t, c, ids) => outcome(async () => (await c.download(id(ids, 'master'))).toString())],
  ['range download', (_t, c, ids) => outcome(async () => (await c.download(id(ids, 'master'), { offset: 7, length: 7 })).toString())],
  ['range past the end', (_t, c, ids) => outcome(async () => (await c.download(id(ids, 'master'), { offset: content.length })).toString())],
  ['download from an unknown group', (_t, c, ids) => outcome(async () => (await c.download(id(ids, 'master').replace('group1/', 'group9/'))).toString())],
  ['raw upload with a bad extension', (t) => rawStatus(t.storagePort, rawUpload('a/b', Buffer.from('x')))],
  ['raw upload shorter than declared', (t) => rawStatus(t.storagePort, { command: Command.STORAGE_UPLOAD_FILE, body: rawUpload('jpg', Buffer.from('xy')).body.subarray(0, 15) })],
  ['file info', (_t, c, ids) => outcome(async () => `size ${(await c.fileInfo(id(ids, 'master'))).size}`)],
  ['metadata set', (_t, c, ids) => outcome(() => c.setMetadata(id(ids, 'master'), { width: '512', height: '512' }))],
  ['metadata merge and get', (_t, c, ids) => outcome(async () => {
    await c.setMetadata(id(ids, 'master'), { width: '256', format: 'webp' }, { mode: 'merge' });
    return JSON.stringify(await c.getMetadata(id(ids, 'master')));
  })],
  ['metadata of a file without any', (_t, c, ids) => outcome(async () => JSON.stringify(await c.getMetadata(id(ids, 'slave'))))],
  ['upload a file to lose', (_t, c, ids) => outcome(async () => void ids.set('gone', await c.upload(Buffer.from('short-lived'), { ext: 'txt' })))],
  ['delete', (_t, c, ids) => outcome(() => c.delete(id(ids, 'gone')))],
  ['delete of a deleted file', (_t, c, ids) => outcome(() => c.delete(id(ids, 'gone')))],
  ['download of a missing file', (_t, c, ids) => outcome(async () => (await c.download(id(ids, 'gone'))).toString())],
  ['file info of a missing file', (_t, c, ids) => outcome(async () => `size ${(await c.fileInfo(id(ids, 'gone'))).size}`)],
  ['slave of a missing master', (_t, c, ids) => outcome(() => c.uploadSlave(id(ids, 'gone'), '_256', Buffer.alloc(1000), { ext: 'jpg' }))],

  ['storage stopped cleanly', (t) => outcome(() => t.stopStorage())],
  ['store query', (_t, c) => outcome(() => c.checkStorageAvailable())],
  ['store query with group', (_t, c) => outcome(() => c.checkStorageAvailable({ group: 'group1' }))],
  ['upload', (_t, c) => outcome(() => c.upload(content, { ext: 'jpg' }))],
  ['fetch query (download)', (_t, c, ids) => outcome(async () => (await c.download(id(ids, 'master'))).toString())],
  ['fetch query (file info)', (_t, c, ids) => outcome(async () => `size ${(await c.fileInfo(id(ids, 'master'))).size}`)],
  ['update query (delete)', (_t, c, ids) => outcome(() => c.delete(id(ids, 'slave')))],
  ['update query (set metadata)', (_t, c, ids) => outcome(() => c.setMetadata(id(ids, 'master'), { a: 'b' }))],
  ['storage started', (t) => outcome(() => t.startStorage())],
  ['upload after the restart', (_t, c) => outcome(async () => void (await c.upload(content, { ext: 'jpg' })))],
  ['download after the restart', (_t, c, ids) => outcome(async () => (await c.download(id(ids, 'master'))).toString())],

  ['storage killed', (t, c) => outcome(async () => {
    await t.killStorage();
    await untilFails(() => c.checkStorageAvailable());
  })],
  ['store query after the kill', (_t, c) => outcome(() => c.checkStorageAvailable())],
  ['upload after the kill', (_t, c) => outcome(() => c.upload(content, { ext: 'jpg' }))],
  ['storage started after the kill', (t) => outcome(() => t.startStorage())],
  ['upload after the kill and restart', (_t, c) => outcome(async () => void (await c.upload(content, { ext: 'jpg' })))],

  ['storage frozen', (t) => outcome(() => t.freezeStorage())],
  ['store query while frozen', (_t, c) => outcome(() => c.checkStorageAvailable())],
  ['upload while frozen', (_t, c) => outcome(() => c.upload(content, { ext: 'jpg' }))],
  ['download while frozen', (_t, c, ids) => outcome(async () => (await c.download(id(ids, 'master'))).toString())],
  ['storage thawed', (t) => outcome(() => t.startStorage())],
  ['upload after the thaw', (_t, c) => outcome(async () => void (await c.upload(content, { ext: 'jpg' })))],
];

/** Runs every step in order and returns `step: outcome` lines. */
async function runSteps(target: Target): Promise<string[]> {
  // No cached storage assignment: every request asks the tracker, as the steps mean to.
  const client = new FastdfsClient({ trackers: target.trackers, storageAssignmentTtlMs: 0, networkTimeoutMs: 1_000, connectTimeoutMs: 1_000 });
  const ids = new Map<string, string>();
  const lines: string[] = [];
  try {
    for (const [index, [name, run]] of STEPS.entries()) lines.push(`${index + 1}. ${name}: ${await run(target, client, ids)}`);
  } finally {
    await client.close();
  }
  return lines;
}

if (realFastdfsMissing === undefined) {
  describe('the dev server answers as the real FastDFS 6.16 does', () => {
    let targets: { dev: Target; real: Target } | undefined;
    beforeAll(async () => {
      // both start at once; if one fails, the other is closed rather than left running
      const [dev, real] = await Promise.allSettled([devTarget(), realTarget()]);
      if (dev.status === 'rejected' || real.status === 'rejected') {
        await Promise.all([dev, real].map((started) => (started.status === 'fulfilled' ? started.value.close() : undefined)));
        throw dev.status === 'rejected' ? dev.reason : (real as PromiseRejectedResult).reason;
      }
      targets = { dev: dev.value, real: real.value };
    }, 60_000);
    afterAll(async () => {
      await Promise.all([targets?.dev.close(), targets?.real.close()]);
    });

    it('gives the same answer at every step: files, errors, storage stopped, killed, frozen and back', async () => {
      if (!targets) throw new Error('servers did not start');
      const [dev, real] = await Promise.all([runSteps(targets.dev), runSteps(targets.real)]);
      // On a mismatch the diff names the step and shows both answers.
      expect(dev).toEqual(real);
      // And the sequence exercised what it claims to (guards against both sides failing alike).
      expect(real).toEqual(
        expect.arrayContaining([
          '1. upload: ok',
          '22. store query: status 2 to command 101',
          '33. store query after the kill: status 2 to command 101',
          '38. store query while frozen: ok',
          '39. upload while frozen: timeout',
          `${STEPS.length}. upload after the thaw: ok`,
        ]),
      );
    }, 60_000);
  });
}
describeRealMissing('the dev server answers as the real FastDFS 6.16 does');
