import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { AVATAR_QUEUE } from '@avatar/shared';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { UploadLedger, printFigures, sendUpload, smallJpegs } from './support/uploads.js';

let system: FaultSystem | undefined;
afterEach(async () => {
  await system?.cleanup();
  system = undefined;
});

it('uploads whose job was lost between insert and enqueue are enqueued again by the outbox and finish, once each', async () => {
  system = await createFaultSystem({ users: 5 });
  const s = system;
  await s.startStorage();
  await s.startApi();
  const images = await smallJpegs(4);
  const ledger = new UploadLedger();
  for (let i = 0; i < 20; i++) {
    const userId = 1 + (i % 5);
    ledger.record(userId, await sendUpload(s.apiUrl, userId, s.token(userId), images[i % 4] as Buffer));
  }
  // the API "died" after inserting half of them: their jobs never reached Redis
  const connection = new Redis(s.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(AVATAR_QUEUE, { connection, prefix: s.redisPrefix });
  try {
    const lost = ledger.accepted.filter((_, i) => i % 2 === 0);
    for (const { uploadId } of lost) expect(await queue.remove(uploadId)).toBe(1);
    expect((await s.jobCounts()).waiting).toBe(ledger.accepted.length - lost.length);

    await s.startWorker();
    const figures = await ledger.settle(s.db, 90_000);
    printFigures('outbox (10 of 20 jobs dropped)', figures);
    expect(figures.accepted).toBe(20);
    expect(figures.lost).toBe(0);
    expect(figures.failed).toBe(0);
    // jobId = upload id: one completed job per upload, never two
    const counts = await s.jobCounts();
    expect(counts.completed).toBe(20);
    expect(counts.active + counts.waiting + counts.delayed).toBe(0);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}, 180_000);
