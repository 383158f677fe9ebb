import type { Db } from '@avatar/shared';
import { storedFileIds } from './fault-system.js';
import { waitFor } from './processes.js';

interface DetailRow {
  user_id: string;
  avatar: string | null;
  avatar_upload_id: string | null;
  avatar_variants: Array<{ fileId: string; url: string; size: number }> | null;
}

export interface AvatarReport {
  users: number;
  /** avatar or variant URLs that did not answer 200 */
  unserved: string[];
  /** users whose avatar is not their newest accepted upload */
  notNewest: number[];
}

/** Every user's avatar and variant URLs are served, and each avatar is the user's newest accepted upload. */
export async function checkAvatars(db: Db): Promise<AvatarReport> {
  const rows: DetailRow[] = await db('user_detail').whereNotNull('avatar');
  const newest: Array<{ user_id: string; id: string }> = (
    await db.raw<{ rows: Array<{ user_id: string; id: string }> }>(
      `select distinct on (user_id) user_id, id from uploads order by user_id, created_at desc, id desc`,
    )
  ).rows;
  const newestByUser = new Map(newest.map((r) => [String(r.user_id), r.id]));
  const unserved: string[] = [];
  const notNewest: number[] = [];
  for (const row of rows) {
    for (const url of [row.avatar as string, ...(row.avatar_variants ?? []).map((v) => v.url)]) {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (response.status !== 200) unserved.push(`${url} → ${response.status}`);
    }
    if (newestByUser.get(String(row.user_id)) !== row.avatar_upload_id) notNewest.push(Number(row.user_id));
  }
  return { users: rows.length, unserved, notNewest };
}

export interface FilesReport {
  onDisk: number;
  referenced: number;
  /** stored files no user's current avatar names */
  orphans: string[];
  /** current avatar files missing from the disk */
  missing: string[];
}

async function compareFiles(db: Db, dataDir: string): Promise<FilesReport> {
  const rows: DetailRow[] = await db('user_detail').whereNotNull('avatar_variants');
  const referenced = new Set(rows.flatMap((r) => (r.avatar_variants ?? []).map((v) => v.fileId)));
  const disk = await storedFileIds(dataDir);
  return {
    onDisk: disk.size,
    referenced: referenced.size,
    orphans: [...disk].filter((id) => !referenced.has(id)),
    missing: [...referenced].filter((id) => !disk.has(id)),
  };
}

/**
 * Waits (up to `timeoutMs`) for the cleanup jobs and sweepers to leave exactly the current
 * avatars' files on disk, and returns what it found last either way.
 */
export async function settleFiles(db: Db, dataDir: string, timeoutMs: number): Promise<FilesReport> {
  let last: FilesReport | undefined;
  await waitFor('stored files to match the current avatars', timeoutMs, async () => {
    last = await compareFiles(db, dataDir);
    return last.orphans.length === 0 && last.missing.length === 0;
  }, 500).catch(() => undefined);
  return last ?? compareFiles(db, dataDir);
}

export interface AvatarRuleBreak {
  userId: number;
  avatarUploadId: string | null;
  newestDone: string | null;
}

/**
 * Users whose avatar is not what commit-avatar leaves once everything is terminal: their
 * newest upload, by (created_at, id), that ended `done` (none when none did). Every upload row
 * counts, also one whose client never heard the answer: commit-avatar sees all of them.
 */
export async function avatarRuleBreaks(db: Db): Promise<AvatarRuleBreak[]> {
  const result = await db.raw<{ rows: Array<{ user_id: string; avatar_upload_id: string | null; newest_done: string | null }> }>(
    // from users: a user_detail row only appears with a first avatar, and a missing one is a break too
    `select us.id as user_id, d.avatar_upload_id, n.id as newest_done
       from users us
       left join user_detail d on d.user_id = us.id
       left join lateral (select u.id from uploads u where u.user_id = us.id and u.status = 'done' order by u.created_at desc, u.id desc limit 1) n on true
      where d.avatar_upload_id is distinct from n.id
      order by us.id`,
  );
  return result.rows.map((r) => ({ userId: Number(r.user_id), avatarUploadId: r.avatar_upload_id, newestDone: r.newest_done }));
}
