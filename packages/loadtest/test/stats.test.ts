import { describe, expect, it } from 'vitest';
import { buildReport, type UploadRecord } from '../src/run-load-test.js';
import { percentile, summarize, tally } from '../src/stats.js';

describe('load test statistics', () => {
  it('computes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
    expect(summarize([3, 1, 2]).max).toBe(3);
    expect(tally([202, 202, 429])).toEqual({ 202: 2, 429: 1 });
  });

  it('reports finished uploads per second over the window from first send to last finish', () => {
    const record = (sentAt: number, finishedAt: number | undefined, status = 202): UploadRecord => ({
      userId: 1,
      httpStatus: status,
      errorCode: status === 202 ? undefined : 'rate_limited',
      acceptMs: 5,
      uploadId: status === 202 ? `u${sentAt}` : undefined,
      sentAt,
      finishedAt,
      finalStatus: finishedAt === undefined ? undefined : 'done',
      finalErrorCode: undefined,
    });
    const report = buildReport([record(0, 1000), record(100, 2000), record(200, undefined), record(300, undefined, 429)], 0.5);
    expect(report.sent).toBe(4);
    expect(report.accepted).toBe(3);
    expect(report.unfinished).toBe(1);
    expect(report.finished).toEqual({ done: 2 });
    expect(report.finishedPerSecond).toBeCloseTo(1, 5);
    expect(report.refusalCodes).toEqual({ rate_limited: 1 });
    expect(report.endToEndMs.max).toBe(1900);
  });
});
