import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFixedString } from '../src/codec/fixed-string.js';
import { writeInt64 } from '../src/codec/int64.js';
import { FastdfsClient } from '../src/index.js';
import { type TestServer, startTestServer } from './helpers/dev-server.js';
import { RawSocket } from './helpers/raw-socket.js';

function groupAndName(group: string, name: string): Buffer {
  const body = Buffer.alloc(16 + name.length);
  writeFixedString(body, 0, 16, group);
  body.write(name, 16, 'latin1');
  return body;
}

function uploadHead(pathIndex: number, declaredSize: number, ext: string): Buffer {
  const head = Buffer.alloc(15);
  head[0] = pathIndex;
  writeInt64(head, 1, declaredSize);
  writeFixedString(head, 9, 6, ext);
  return head;
}

const MISSING = 'M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg';

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe('dev server facing broken or hostile frames', () => {
  let server: TestServer;
  let sockets: RawSocket[];

  const open = async (port: number): Promise<RawSocket> => {
    const socket = await RawSocket.open(port);
    sockets.push(socket);
    return socket;
  };

  beforeEach(async () => {
    server = await startTestServer();
    sockets = [];
  });
  afterEach(async () => {
    for (const socket of sockets) socket.close();
    // Whatever happened, the server still serves a well-behaved client.
    const client = new FastdfsClient({ trackers: server.trackers });
    const fileId = await client.upload(Buffer.from('still alive'), { ext: 'txt' });
    expect((await client.download(fileId)).toString()).toBe('still alive');
    await client.close();
    await server.dispose();
  });

  it('storage: closes on a header whose body length is negative or absurd', async () => {
    const socket = await open(server.storagePort);
    socket.send(Buffer.from('ffffffffffffffff0b00', 'hex'));
    expect(await socket.reply()).toMatchObject({ status: undefined, closed: true });
  });

  it('storage: answers an unknown command with EINVAL and closes', async () => {
    const socket = await open(server.storagePort);
    socket.frame(99);
    expect(await socket.reply()).toMatchObject({ status: 22, closed: true });
  });

  it('storage: refuses an upload whose declared size differs from the body, with EINVAL, and keeps nothing', async () => {
    const socket = await open(server.storagePort);
    const content = Buffer.alloc(100, 1);
    socket.frame(11, Buffer.concat([uploadHead(0xff, 50, 'jpg'), content]));
    expect(await socket.reply()).toMatchObject({ status: 22, closed: true });
    expect(await allFiles(server.dataDir)).toEqual([]);
  });

  it('storage: refuses bad extensions and store path indexes with EINVAL', async () => {
    const badExt = await open(server.storagePort);
    badExt.frame(11, Buffer.concat([uploadHead(0xff, 1, 'a/b'), Buffer.from('x')]));
    expect(await badExt.reply()).toMatchObject({ status: 22, closed: true });
    const badIndex = await open(server.storagePort);
    badIndex.frame(11, Buffer.concat([uploadHead(3, 1, 'jpg'), Buffer.from('x')]));
    expect(await badIndex.reply()).toMatchObject({ status: 22, closed: true });
  });

  it('storage: refuses traversal names and foreign groups with EINVAL', async () => {
    const traversal = await open(server.storagePort);
    traversal.frame(22, groupAndName('group1', 'M00/00/00/../../../../etc/passwd'));
    expect(await traversal.reply()).toMatchObject({ status: 22, closed: true });
    const foreign = await open(server.storagePort);
    foreign.frame(22, groupAndName('group2', MISSING));
    expect(await foreign.reply()).toMatchObject({ status: 22, closed: true });
  });

  it('storage: answers ENOENT for a missing file and keeps the connection', async () => {
    const socket = await open(server.storagePort);
    socket.frame(12, groupAndName('group1', MISSING));
    expect(await socket.reply()).toMatchObject({ status: 2, closed: false });
    socket.frame(111);
    expect(await socket.reply()).toMatchObject({ status: 0, closed: false, body: Buffer.alloc(0) });
  });

  it('storage: active test with a body is EINVAL; quit closes without an answer', async () => {
    const withBody = await open(server.storagePort);
    withBody.frame(111, Buffer.from('x'));
    expect(await withBody.reply()).toMatchObject({ status: 22, closed: true });
    const quit = await open(server.storagePort);
    quit.frame(82);
    expect(await quit.reply()).toMatchObject({ status: undefined, closed: true });
  });

  it('storage: a client vanishing mid-upload leaves no temporary file behind', async () => {
    const socket = await open(server.storagePort);
    socket.frame(11, Buffer.concat([uploadHead(0xff, 1_000_000, 'bin'), Buffer.alloc(300_000)]), 15 + 1_000_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await allFiles(server.dataDir)).toEqual([]);
  });

  it('storage: a download frame shorter than its fixed fields is EINVAL', async () => {
    const socket = await open(server.storagePort);
    socket.frame(14, Buffer.alloc(10));
    expect(await socket.reply()).toMatchObject({ status: 22, closed: true });
  });

  it('tracker: answers unknown commands and wrong bodies with EINVAL and keeps serving the connection', async () => {
    const socket = await open(server.trackerPort);
    socket.frame(42, Buffer.from('whatever'));
    expect(await socket.reply()).toMatchObject({ status: 22, closed: false });
    socket.frame(101, Buffer.from('unexpected body'));
    expect(await socket.reply()).toMatchObject({ status: 22, closed: false });
    socket.frame(102, Buffer.alloc(5));
    expect(await socket.reply()).toMatchObject({ status: 22, closed: false });
    socket.frame(104, groupAndName('nogroup', '').subarray(0, 16));
    expect(await socket.reply()).toMatchObject({ status: 2, closed: false });
    socket.frame(101);
    const store = await socket.reply();
    expect(store.status).toBe(0);
    expect(store.body.length).toBe(40);
  });

  it('tracker: answers all query forms the C tools send (101/104/106/107, 102/103/105)', async () => {
    const socket = await open(server.trackerPort);
    for (const [command, body, length] of [
      [101, Buffer.alloc(0), 40],
      [104, groupAndName('group1', '').subarray(0, 16), 40],
      [106, Buffer.alloc(0), 40],
      [107, groupAndName('group1', '').subarray(0, 16), 40],
      [102, groupAndName('group1', MISSING), 39],
      [103, groupAndName('group1', MISSING), 39],
      [105, groupAndName('group1', MISSING), 39],
    ] as const) {
      socket.frame(command, body);
      const reply = await socket.reply();
      expect({ command, status: reply.status, length: reply.body.length }).toEqual({ command, status: 0, length });
    }
  });

  it('tracker: closes on an oversized body and on random garbage', async () => {
    const huge = await open(server.trackerPort);
    huge.send(Buffer.from('00000000100000006500', 'hex'));
    expect(await huge.reply()).toMatchObject({ closed: true });
    const garbage = await open(server.trackerPort);
    garbage.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect((await garbage.reply()).closed).toBe(true);
  });
});
