import sharp from 'sharp';
import { it } from 'vitest';
import { FastdfsClient } from '@avatar/fastdfs';
import { findRealFastdfs } from '@avatar/fastdfs/testing';
import type { Db } from '@avatar/shared';

/**
 * `it` for tests that need the real FastDFS. Without its launcher they are skipped, saying
 * why, except under CI, where they run and fail: CI must not pass by leaving them out.
 */
export function itWithRealFastdfs(): ReturnType<typeof it.skipIf> {
  const skip = !findRealFastdfs() && !process.env.CI;
  if (skip) process.stdout.write('[fault] skipped: the real FastDFS launcher was not found (set FDFS_REAL or put shared/fastdfs beside the checkout)\n');
  return it.skipIf(skip);
}

export interface StoredAvatarsReport {
  /** users with an avatar */
  users: number;
  /** variant files read back from the storage */
  files: number;
  /** variants missing from the storage, or not the image their size says */
  bad: string[];
}

/**
 * Reads back every variant of every user's current avatar from the storage: each must exist
 * and be a square image of its recorded size.
 */
export async function checkStoredAvatars(db: Db, trackers: string): Promise<StoredAvatarsReport> {
  const rows: Array<{ user_id: string; avatar_file_id: string | null; avatar_variants: Array<{ fileId: string; size: number }> }> = await db('user_detail')
    .whereNotNull('avatar_file_id')
    .select('user_id', 'avatar_file_id', 'avatar_variants');
  const client = new FastdfsClient({ trackers });
  const bad: string[] = [];
  let files = 0;
  try {
    for (const row of rows) {
      if (!row.avatar_variants.some((v) => v.fileId === row.avatar_file_id)) bad.push(`user ${row.user_id}: ${row.avatar_file_id} is not among its variants`);
      for (const variant of row.avatar_variants) {
        try {
          const { width, height } = await sharp(await client.download(variant.fileId)).metadata();
          files++;
          if (width !== variant.size || height !== variant.size) bad.push(`${variant.fileId}: ${width}×${height}, recorded ${variant.size}`);
        } catch (error) {
          bad.push(`${variant.fileId}: ${String(error)}`);
        }
      }
    }
  } finally {
    await client.close();
  }
  return { users: rows.length, files, bad };
}
