import { describe, expect, it } from 'vitest';
import { readFixedString, writeFixedString } from '../../src/codec/fixed-string.js';
import { readInt64, writeInt64, writeSignExtended32 } from '../../src/codec/int64.js';
import { decodeMetadata, encodeMetadata } from '../../src/codec/metadata.js';
import { encodeDownload, encodeQueryStore, encodeUpload, encodeUploadSlave } from '../../src/codec/requests.js';
import { decodeFileInfo, decodeFileLocation, decodeStoreAnswer, decodeUploadedName } from '../../src/codec/responses.js';
import { FastdfsError } from '../../src/errors/fastdfs-error.js';
import { decodeHeader, encodeHeader } from '../../src/protocol/header.js';

/** A tracker's storage address; a store answer (`pathIndex` given) ends with the path index byte. */
function storageAnswer(answer: { ipSize: number; pathIndex?: number; ip?: string; port?: number }): Buffer {
  const { ipSize, pathIndex, ip = '10.0.0.7', port = 23000 } = answer;
  const body = Buffer.alloc(16 + ipSize + 8 + (pathIndex === undefined ? 0 : 1));
  writeFixedString(body, 0, 16, 'group1');
  writeFixedString(body, 16, ipSize, ip);
  writeInt64(body, 16 + ipSize, port);
  if (pathIndex !== undefined) body[body.length - 1] = pathIndex;
  return body;
}

describe('header', () => {
  it('encodes body length big-endian in 8 bytes, then command and status', () => {
    const header = encodeHeader({ bodyLength: 0x1_0000_0005, command: 11, status: 0 });
    expect(header.toString('hex')).toBe('00000001000000050b00');
    expect(decodeHeader(header)).toEqual({ bodyLength: 0x1_0000_0005, command: 11, status: 0 });
  });

  it('marks a negative or oversized body length as -1', () => {
    expect(decodeHeader(Buffer.from('ffffffffffffffff6400', 'hex')).bodyLength).toBe(-1);
    expect(decodeHeader(Buffer.from('7fffffff000000006400', 'hex')).bodyLength).toBe(-1);
  });
});

describe('int64 and fixed strings', () => {
  it('round-trips large sizes', () => {
    const buffer = Buffer.alloc(8);
    writeInt64(buffer, 0, 5 * 2 ** 32 + 7);
    expect(readInt64(buffer, 0)).toBe(5 * 2 ** 32 + 7);
  });

  it('sign-extends a crc32 with the top bit set, as the storage server does', () => {
    const buffer = Buffer.alloc(8);
    writeSignExtended32(buffer, 0, 0xdeadbeef);
    expect(buffer.toString('hex')).toBe('ffffffffdeadbeef');
    writeSignExtended32(buffer, 0, 0x12345678);
    expect(buffer.toString('hex')).toBe('0000000012345678');
  });

  it('reads NUL-padded fields and full fields without a NUL', () => {
    const buffer = Buffer.alloc(6);
    writeFixedString(buffer, 0, 6, 'jpg');
    expect(buffer.toString('hex')).toBe('6a7067000000');
    expect(readFixedString(buffer, 0, 6)).toBe('jpg');
    writeFixedString(buffer, 0, 6, 'abcdef');
    expect(readFixedString(buffer, 0, 6)).toBe('abcdef');
  });
});

describe('request encoders', () => {
  it('builds an upload header whose body length counts the content', () => {
    const packet = encodeUpload(0xff, 51_200, 'webp');
    expect(packet.length).toBe(25);
    expect(decodeHeader(packet)).toEqual({ bodyLength: 15 + 51_200, command: 11, status: 0 });
    expect(packet[10]).toBe(0xff);
    expect(readInt64(packet, 11)).toBe(51_200);
    expect(readFixedString(packet, 19, 6)).toBe('webp');
  });

  it('builds query store with and without a group', () => {
    expect(encodeQueryStore().toString('hex')).toBe('00000000000000006500');
    const withGroup = encodeQueryStore('group2');
    expect(decodeHeader(withGroup)).toEqual({ bodyLength: 16, command: 104, status: 0 });
    expect(readFixedString(withGroup, 10, 16)).toBe('group2');
  });

  it('lays out a slave upload as name length, size, prefix, ext, master name', () => {
    const master = 'M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg';
    const packet = encodeUploadSlave({ masterRemoteName: master, size: 10, prefix: '_256', ext: 'webp' });
    expect(decodeHeader(packet).bodyLength).toBe(8 + 8 + 16 + 6 + master.length + 10);
    expect(readInt64(packet, 10)).toBe(master.length);
    expect(readInt64(packet, 18)).toBe(10);
    expect(readFixedString(packet, 26, 16)).toBe('_256');
    expect(readFixedString(packet, 42, 6)).toBe('webp');
    expect(packet.toString('latin1', 48)).toBe(master);
  });

  it('lays out a download as offset, count, group, name', () => {
    const packet = encodeDownload({ group: 'group1', remoteName: 'M00/00/00/x' }, { offset: 5, length: 10 });
    expect(readInt64(packet, 10)).toBe(5);
    expect(readInt64(packet, 18)).toBe(10);
    expect(readFixedString(packet, 26, 16)).toBe('group1');
    expect(packet.toString('latin1', 42)).toBe('M00/00/00/x');
  });
});

describe('response decoders', () => {
  it.each([15, 45])('reads a store answer with %i-byte IP fields', (ipSize) => {
    expect(decodeStoreAnswer(101, storageAnswer({ ipSize, pathIndex: 3 }))).toEqual({ group: 'group1', host: '10.0.0.7', port: 23000, storePathIndex: 3 });
  });

  it.each([15, 45])('reads a fetch answer with %i-byte IP fields', (ipSize) => {
    expect(decodeFileLocation(102, storageAnswer({ ipSize }))).toMatchObject({ host: '10.0.0.7', port: 23000 });
  });

  it('reads a 45-byte field holding a long IPv6 address', () => {
    const ip = 'fd00:1234:5678:9abc:def0:1234:5678:9abc';
    expect(decodeFileLocation(102, storageAnswer({ ipSize: 45, ip })).host).toBe(ip);
  });

  it('rejects any other body length as a protocol error', () => {
    const error = (() => {
      try {
        decodeStoreAnswer(101, Buffer.alloc(41));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(FastdfsError);
    expect((error as FastdfsError).kind).toBe('protocol');
    expect(() => decodeFileLocation(102, storageAnswer({ ipSize: 15, port: 0 }))).toThrow(/storage address/);
  });

  it('takes the low 32 bits of a sign-extended crc32 from file info (40 and 70 bytes)', () => {
    for (const ipSize of [16, 46]) {
      const body = Buffer.alloc(24 + ipSize);
      writeInt64(body, 0, 51_200);
      writeInt64(body, 8, 1_700_000_000);
      writeSignExtended32(body, 16, 0xf00dcafe);
      writeFixedString(body, 24, ipSize, '127.0.0.1');
      const info = decodeFileInfo(22, body);
      expect(info).toEqual({ size: 51_200, createdAt: new Date(1_700_000_000_000), crc32: 0xf00dcafe, sourceIp: '127.0.0.1' });
    }
    expect(() => decodeFileInfo(22, Buffer.alloc(39))).toThrow(FastdfsError);
  });

  it('validates the name in an upload answer', () => {
    const good = Buffer.concat([Buffer.alloc(16), Buffer.from('M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg')]);
    writeFixedString(good, 0, 16, 'group1');
    expect(decodeUploadedName(11, good)).toEqual({ group: 'group1', remoteName: 'M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg' });
    const bad = Buffer.concat([good.subarray(0, 16), Buffer.from('../../etc/passwd')]);
    expect(() => decodeUploadedName(11, bad)).toThrow(/malformed/);
  });
});

describe('metadata', () => {
  it('packs records with 0x01 and 0x02 and reads them back', () => {
    const packed = encodeMetadata({ width: '256', name: 'héllo' });
    expect(packed.toString('latin1')).toBe(Buffer.from('width\x02256\x01name\x02héllo').toString('latin1'));
    expect(decodeMetadata(packed)).toEqual({ width: '256', name: 'héllo' });
    expect(decodeMetadata(Buffer.alloc(0))).toEqual({});
  });

  it('refuses keys or values containing a separator byte and empty keys', () => {
    expect(() => encodeMetadata({ 'a\x01b': 'x' })).toThrow(/separator/);
    expect(() => encodeMetadata({ a: 'x\x02' })).toThrow(/separator/);
    expect(() => encodeMetadata({ '': 'x' })).toThrow(/empty/);
  });
});

describe('FastdfsError', () => {
  it('classifies transient failures', () => {
    expect(FastdfsError.fromStatus(11, 28).transient).toBe(true);
    expect(FastdfsError.fromStatus(11, 5).transient).toBe(true);
    expect(FastdfsError.fromStatus(14, 2).transient).toBe(false);
    expect(FastdfsError.fromStatus(14, 2).notFound).toBe(true);
    expect(FastdfsError.fromStatus(11, 22).transient).toBe(false);
    expect(new FastdfsError('connect', 'x').transient).toBe(true);
    expect(new FastdfsError('aborted', 'x').transient).toBe(false);
    expect(new FastdfsError('invalid_argument', 'x').transient).toBe(false);
    const error = FastdfsError.fromStatus(12, 2);
    expect(error).toMatchObject({ kind: 'status', command: 12, status: 2 });
    expect(error.message).toMatch(/ENOENT/);
  });

  it('reads ENOENT by where it comes from: a tracker has no storage now (retry), a storage server has no such file (final)', () => {
    for (const query of [101, 102, 103, 104, 105, 106, 107]) {
      const fromTracker = FastdfsError.fromStatus(query, 2);
      expect(fromTracker, `command ${query}`).toMatchObject({ transient: true, noStorageAvailable: true, notFound: false, source: 'tracker' });
      expect(fromTracker.message).toMatch(/no storage server available/);
    }
    for (const fileCommand of [11, 12, 13, 14, 15, 21, 22]) {
      const fromStorage = FastdfsError.fromStatus(fileCommand, 2);
      expect(fromStorage, `command ${fileCommand}`).toMatchObject({ transient: false, noStorageAvailable: false, notFound: true, source: 'storage' });
      expect(fromStorage.message).toMatch(/no such file/);
    }
    // EINVAL and EEXIST are final from either server; ENOSPC and EBUSY are worth a retry from either
    for (const command of [101, 11]) {
      expect(FastdfsError.fromStatus(command, 22).transient).toBe(false);
      expect(FastdfsError.fromStatus(command, 17).transient).toBe(false);
      expect(FastdfsError.fromStatus(command, 28).transient).toBe(true);
      expect(FastdfsError.fromStatus(command, 16).transient).toBe(true);
    }
  });
});
