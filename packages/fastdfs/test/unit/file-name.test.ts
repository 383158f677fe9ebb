import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildRemoteFileName, decodeRemoteFileName, encodeFileNameBytes, formatTail } from '../../src/dev-server/file-name.js';
import { parseFileId } from '../../src/index.js';

describe('generated file names', () => {
  it('encodes the 51,200-byte example from the protocol notes as 7f000001 | time | 8043315e 0000c800 | crc32', () => {
    const content = Buffer.alloc(51_200, 0x61);
    const checksum = crc32(content);
    const bytes = encodeFileNameBytes({ sourceIp: '127.0.0.1', timestamp: 0x6543_2100, size: 51_200, crc32: checksum, randomBits: 0x43315e });
    expect(bytes.toString('hex')).toBe(`7f000001654321008043315e0000c800${checksum.toString(16).padStart(8, '0')}`);
    const name = buildRemoteFileName({ storePathIndex: 0, high: 0, low: 0, sourceIp: '127.0.0.1', timestamp: 0x6543_2100, size: 51_200, crc32: checksum, randomBits: 0x43315e, ext: 'jpg', tailDigits: '634' });
    expect(name).toBe(`M00/00/00/${bytes.toString('base64url')}634.jpg`);
    expect(name).toHaveLength(44);
    expect(decodeRemoteFileName(name)).toEqual({
      storePathIndex: 0,
      sourceIp: '127.0.0.1',
      timestamp: 0x6543_2100,
      size: 51_200,
      crc32: checksum,
      slave: false,
      ext: 'jpg',
    });
  });

  it('uses 27 characters of the A-Z a-z 0-9 - _ alphabet for the 20 bytes', () => {
    const name = buildRemoteFileName({ storePathIndex: 0, high: 0xab, low: 0x0c, sourceIp: '255.255.255.255', timestamp: 0xffffffff, size: 0xffffffff, crc32: 0xffffffff, ext: '' });
    expect(name.slice(0, 10)).toBe('M00/AB/0C/');
    expect(name.slice(10, 37)).toMatch(/^[A-Za-z0-9_-]{27}$/);
    expect(name).toHaveLength(44);
    expect(parseFileId(`group1/${name}`).ext).toBe('');
  });

  it('pads the tail with digits to 7 characters: 634.jpg, 25.jpeg, 7 digits with no extension', () => {
    expect(formatTail('jpg')).toMatch(/^\d{3}\.jpg$/);
    expect(formatTail('jpeg')).toMatch(/^\d{2}\.jpeg$/);
    expect(formatTail('abcdef')).toBe('.abcdef');
    expect(formatTail('')).toMatch(/^\d{7}$/);
  });

  it('stores the plain size from 4 GiB', () => {
    const big = encodeFileNameBytes({ sourceIp: '10.1.2.3', timestamp: 1, size: 5 * 2 ** 32 + 1, crc32: 0 });
    expect(big.subarray(8, 16).toString('hex')).toBe('0000000500000001');
    const name = `M00/00/00/${big.toString('base64url')}1234567`;
    expect(decodeRemoteFileName(name)?.size).toBe(5 * 2 ** 32 + 1);
  });

  it('recognises slave names by their length and decodes the master fields', () => {
    const master = buildRemoteFileName({ storePathIndex: 0, high: 1, low: 2, sourceIp: '127.0.0.1', timestamp: 5, size: 10, crc32: 7, ext: 'jpg' });
    const slave = `${master.slice(0, -4)}_256.webp`;
    expect(decodeRemoteFileName(slave)).toMatchObject({ slave: true, size: 10, crc32: 7, ext: 'webp' });
    expect(decodeRemoteFileName('not a name')).toBeUndefined();
  });
});
