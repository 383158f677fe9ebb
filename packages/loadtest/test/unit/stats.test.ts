import { describe, expect, it } from 'vitest';
import { computeFigures } from '../../src/report/figures.js';
import type { UploadRecord } from '../../src/run-load-test.js';
import { percentile, perSecond, quantileCurve, summarize, tally, thin } from '../../src/stats.js';

const record = (index: number, sentAt: number, answer: { status?: number; code?: string; answeredAt?: number; finishedAt?: number; final?: UploadRecord['finalStatus']; finalCode?: string } = {}): UploadRecord => {
  const status = answer.status ?? 202;
  return {
    index,
    userId: index + 1,
    sentAt,
    answeredAt: answer.answeredAt ?? (status === 0 ? undefined : sentAt + 10),
    httpStatus: status,
    errorCode: answer.code,
    uploadId: status === 202 ? `u${index}` : undefined,
    finishedAt: answer.finishedAt,
    finalStatus: answer.final ?? (answer.finishedAt === undefined ? undefined : 'done'),
    finalErrorCode: answer.finalCode,
  };
};

describe('load test statistics', () => {
  it('computes nearest-rank percentiles and a distribution curve', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
    expect(summarize([3, 1, 2])).toEqual({ count: 3, p50: 2, p95: 3, p99: 3, max: 3 });
    expect(tally([202, 202, 429])).toEqual({ 202: 2, 429: 1 });
    const curve = quantileCurve(values);
    expect(curve[0]).toEqual([0, 1]);
    expect(curve.find(([p]) => p === 50)).toEqual([50, 50]);
    expect(curve.at(-1)).toEqual([100, 100]);
    expect(quantileCurve([])).toEqual([]);
  });

  it('bins events per second and thins long series keeping the last point', () => {
    expect(perSecond([0, 999, 1000, 2500, 9000], 3)).toEqual([2, 1, 1]);
    const thinned = thin(Array.from({ length: 1000 }, (_, i) => i), 10);
    expect(thinned).toHaveLength(10);
    expect(thinned.at(-1)).toBe(999);
    expect(thin([1, 2], 10)).toEqual([1, 2]);
  });

  it('computes rates over their own windows and counts every error by status and code', () => {
    const figures = computeFigures(
      [
        record(0, 0, { answeredAt: 100, finishedAt: 1000 }),
        record(1, 100, { answeredAt: 500, finishedAt: 2000 }),
        record(2, 200, { answeredAt: 300, finishedAt: 1500, final: 'failed', finalCode: 'image_undecodable' }),
        record(3, 300, { answeredAt: 400, finishedAt: 1800, final: 'superseded' }),
        record(4, 300, { answeredAt: 350 }),
        record(5, 400, { status: 503, code: 'service_unavailable', answeredAt: 450 }),
        record(6, 450, { status: 0, code: 'ECONNRESET' }),
      ],
      true,
    );
    expect(figures.sent).toBe(7);
    expect(figures.accepted).toBe(5);
    expect(figures.acceptedPerSecond).toBeCloseTo(5 / 0.5, 5); // first send 0 → last answer 500 ms
    expect(figures.completed).toBe(2);
    expect(figures.completedPerSecond).toBeCloseTo(2 / 2, 5); // first send 0 → last done 2000 ms
    expect(figures.finished).toEqual({ done: 2, failed: 1, superseded: 1 });
    expect(figures.unfinished).toBe(1);
    expect(figures.endToEndMs).toMatchObject({ count: 2, max: 1900 });
    expect(figures.acceptMs.max).toBe(400);
    expect(figures.errors.total).toBe(4);
    expect(figures.errors.byStatusAndCode).toEqual(
      expect.arrayContaining([
        { status: '503', code: 'service_unavailable', count: 1 },
        { status: 'none', code: 'ECONNRESET', count: 1 },
        { status: 'failed', code: 'image_undecodable', count: 1 },
        { status: 'unfinished', code: 'no_terminal_event', count: 1 },
      ]),
    );
    expect(figures.timeline.accepted.reduce((a, b) => a + b, 0)).toBe(5);
    expect(figures.timeline.completed).toEqual([0, 1, 1]); // done at 1000 and 2000 ms
  });

  it('does not count the bare handler’s answered uploads as unfinished: it has no events', () => {
    const figures = computeFigures([record(0, 0), record(1, 5)], false);
    expect(figures.unfinished).toBe(0);
    expect(figures.errors.total).toBe(0);
  });
});
