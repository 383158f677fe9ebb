import { describe, expect, it } from 'vitest';
import { FastdfsError, isValidFileId, parseFileId, slaveFileId } from '../../src/index.js';

const MASTER = 'group1/M00/00/0A/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg';

describe('parseFileId', () => {
  it('splits a file id into group, remote name, store path index and extension', () => {
    expect(parseFileId(MASTER)).toEqual({ group: 'group1', remoteName: 'M00/00/0A/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg', storePathIndex: 0, ext: 'jpg' });
    expect(parseFileId('g/M1F/FF/00/fwAAAWsFqhaAHmj1AADIAGdvOOA7012345').ext).toBe('');
    expect(parseFileId('g/M1F/FF/00/fwAAAWsFqhaAHmj1AADIAGdvOOA7012345').storePathIndex).toBe(0x1f);
    expect(parseFileId('group1/M00/00/0A/fwAAAWsFqhaAHmj1AADIAGdvOOA701_256.webp').ext).toBe('webp');
  });

  it.each([
    ['path traversal', 'group1/M00/00/00/../../../etc/passwd'],
    ['traversal in the name', 'group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701/../x'],
    ['a group longer than 16', 'group1234567890123/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg'],
    ['an empty group', '/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg'],
    ['lower-case folders', 'group1/M00/0a/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg'],
    ['no store path', 'group1/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg'],
    ['a short name', 'group1/M00/00/00/abc.jpg'],
    ['a leading dot', 'group1/M00/00/00/.wAAAWsFqhaAHmj1AADIAGdvOOA701.jpg'],
    ['a space', 'group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701 .jpg'],
    ['an encoded slash', 'group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701%2F.jpg'],
    ['a NUL byte', 'group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701\0.jpg'],
    ['no group at all', 'M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701.jpg'],
    ['a name over 127 bytes', `group1/M00/00/00/fwAAAWsFqhaAHmj1AADIAGdvOOA701${'x'.repeat(100)}.jpg`],
  ])('refuses %s with kind invalid_argument', (_what, fileId) => {
    expect(isValidFileId(fileId)).toBe(false);
    try {
      parseFileId(fileId);
      expect.unreachable('parseFileId accepted an invalid id');
    } catch (error) {
      expect(error).toBeInstanceOf(FastdfsError);
      expect((error as FastdfsError).kind).toBe('invalid_argument');
    }
  });
});

describe('slaveFileId', () => {
  it('replaces the master extension with prefix and extension, as fdfs_gen_slave_filename does', () => {
    expect(slaveFileId(MASTER, '_256', 'webp')).toBe('group1/M00/00/0A/fwAAAWsFqhaAHmj1AADIAGdvOOA701_256.webp');
    expect(slaveFileId(MASTER, '_128', '')).toBe('group1/M00/00/0A/fwAAAWsFqhaAHmj1AADIAGdvOOA701_128');
  });

  it('appends to a master without extension', () => {
    expect(slaveFileId('group1/M00/00/0A/fwAAAWsFqhaAHmj1AADIAGdvOOA7012345', '_256', 'jpg')).toBe('group1/M00/00/0A/fwAAAWsFqhaAHmj1AADIAGdvOOA7012345_256.jpg');
  });

  it('refuses bad prefixes and the "-m" prefix without extension', () => {
    expect(() => slaveFileId(MASTER, '', 'jpg')).toThrow(FastdfsError);
    expect(() => slaveFileId(MASTER, 'a/b', 'jpg')).toThrow(/prefix/);
    expect(() => slaveFileId(MASTER, 'x'.repeat(17), 'jpg')).toThrow(/prefix/);
    expect(() => slaveFileId(MASTER, '-m', '')).toThrow(/-m/);
    expect(() => slaveFileId(MASTER, '_256', 'toolongext')).toThrow(/extension/);
  });
});
