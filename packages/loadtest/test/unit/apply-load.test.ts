import { describe, expect, it } from 'vitest';
import { applyLoad, MAX_UPLOADS, plannedUploads } from '../../src/load/apply-load.js';

describe('applying load', () => {
  it('runs a closed loop with at most N in flight and exactly M uploads', async () => {
    let inFlight = 0;
    let most = 0;
    const sent: number[] = [];
    await applyLoad(
      { kind: 'closed', concurrency: 3, uploads: 10, durationSeconds: undefined, waitForFinish: false },
      async (index) => {
        sent.push(index);
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
      },
      new AbortController().signal,
      () => undefined,
    );
    expect(sent.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
  });

  it('skips, and reports, open-loop arrivals that find the in-flight cap full', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const sent: number[] = [];
    const skipped: number[] = [];
    await applyLoad(
      { kind: 'open', ratePerSecond: 200, durationSeconds: 0.05, maxInFlight: 2 },
      async (index) => {
        sent.push(index);
        await gate;
      },
      new AbortController().signal,
      (index) => {
        skipped.push(index);
        if (index === 9) open(); // the last arrival: let the two in flight finish
      },
    );
    expect(sent).toEqual([0, 1]);
    expect(skipped).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('stops when asked and never plans more than MAX_UPLOADS', async () => {
    const abort = new AbortController();
    let sends = 0;
    await applyLoad(
      { kind: 'closed', concurrency: 2, uploads: 1000, durationSeconds: undefined, waitForFinish: false },
      async () => {
        if (++sends === 5) abort.abort();
        await new Promise((resolve) => setImmediate(resolve));
      },
      abort.signal,
      () => undefined,
    );
    expect(sends).toBeLessThanOrEqual(6);
    expect(plannedUploads({ kind: 'open', ratePerSecond: 500, durationSeconds: 3600, maxInFlight: 1 })).toBe(MAX_UPLOADS);
  });
});
