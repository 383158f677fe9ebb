import { describe, expect, it } from 'vitest';
import { parseTrackers } from '../../src/client/endpoint.js';
import { TrackerSelector } from '../../src/client/tracker-selector.js';

describe('TrackerSelector', () => {
  const trackers = parseTrackers('10.0.0.1:22122,10.0.0.2:22122,10.0.0.3:22122');
  const hosts = (list: Array<{ host: string }>): string[] => list.map((t) => t.host.slice(-1));

  it('rotates the first choice round robin and keeps the rest as failover', () => {
    const selector = new TrackerSelector(trackers, 5_000, () => 0);
    expect(hosts(selector.candidates())).toEqual(['1', '2', '3']);
    expect(hosts(selector.candidates())).toEqual(['2', '3', '1']);
    expect(hosts(selector.candidates())).toEqual(['3', '1', '2']);
    expect(hosts(selector.candidates())).toEqual(['1', '2', '3']);
  });

  it('skips a failed tracker during its cool-down and takes it back afterwards', () => {
    let now = 1_000;
    const selector = new TrackerSelector(trackers, 5_000, () => now);
    const [first] = selector.candidates();
    if (!first) throw new Error('no candidate');
    selector.markFailed(first);
    expect(selector.isCoolingDown(first)).toBe(true);
    // Cooling trackers go last, still tried if the healthy ones fail.
    expect(hosts(selector.candidates())).toEqual(['2', '3', '1']);
    expect(hosts(selector.candidates())).toEqual(['3', '2', '1']);
    now += 5_001;
    expect(selector.isCoolingDown(first)).toBe(false);
    expect(hosts(selector.candidates())).toEqual(['1', '2', '3']);
  });

  it('still offers every tracker when all are cooling down, soonest to recover first', () => {
    let now = 0;
    const selector = new TrackerSelector(trackers, 5_000, () => now);
    for (const tracker of [trackers[2], trackers[0], trackers[1]]) {
      if (tracker) selector.markFailed(tracker);
      now += 10;
    }
    expect(hosts(selector.candidates())).toEqual(['3', '1', '2']);
  });

  it('parses tracker lists and refuses bad ones', () => {
    expect(parseTrackers(' a:1 , [::1]:22122 ')).toEqual([
      { host: 'a', port: 1 },
      { host: '::1', port: 22122 },
    ]);
    expect(() => parseTrackers('')).toThrow(/at least one/);
    expect(() => parseTrackers('host')).toThrow(/host:port/);
    expect(() => parseTrackers('host:70000')).toThrow(/port/);
    expect(() => parseTrackers([{ host: 'a', port: 0 }])).toThrow(/port/);
  });
});
