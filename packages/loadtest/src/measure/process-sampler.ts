import os from 'node:os';
import pidusage from 'pidusage';
import { MACHINE, type ProcessFigures } from '../report/report-types.js';
import { thin } from '../stats.js';

export interface ProcessSample {
  /** ms from the sampler's time 0 (performance.now of the run's start) */
  t: number;
  rssBytes: number;
  /** user + system CPU time since the process started */
  cpuMs: number;
}

const MB = 1024 * 1024;

/** Busy CPU time of all cores together since boot, ms (idle and steal left out). */
function machineCpuMs(): number {
  return os.cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0);
}
/** Chart points kept per process in report.json. */
const RSS_POINTS = 300;

/**
 * Samples the RSS and CPU time of named processes (from /proc, through pidusage) every
 * `intervalMs`, from `start()` to `stop()`. A process that has exited simply stops having samples.
 */
export class ProcessSampler {
  private readonly samples = new Map<string, { pid: number; samples: ProcessSample[] }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly t0: number,
    private readonly intervalMs = 250,
  ) {}

  add(name: string, pid: number | undefined): void {
    if (pid !== undefined) this.samples.set(name, { pid, samples: [] });
  }

  /**
   * Also samples the whole machine as the process `machine` (pid 0): the CPU time of every core
   * and the memory in use, so that what the processes above leave out (PostgreSQL, Redis, the
   * kernel, a FastDFS the tool did not start, other tenants) shows as the difference.
   */
  addMachine(): void {
    this.samples.set(MACHINE, { pid: 0, samples: [] });
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => {
      if (!this.ticking) void this.tick();
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    await this.tick();
    // pidusage keeps a history per pid for its cpu%; the figures here use CPU time instead
    pidusage.clear();
  }

  samplesOf(name: string): ProcessSample[] {
    return this.samples.get(name)?.samples ?? [];
  }

  /** Each process's figures over its samples, or only those taken from `sinceMs` (the sampler's time base) on. */
  figures(sinceMs = -Infinity): ProcessFigures[] {
    // the machine last: it sums up the rows above it
    const entries = [...this.samples.entries()].sort(([a], [b]) => Number(a === MACHINE) - Number(b === MACHINE));
    return entries.map(([name, { pid, samples }]) => figuresOf(name, pid, samples.filter((s) => s.t >= sinceMs)));
  }

  private tick(): Promise<void> {
    this.ticking = (async () => {
      const t = performance.now() - this.t0;
      await Promise.all(
        [...this.samples.values()].map(async (entry) => {
          if (entry.pid === 0) return void entry.samples.push({ t, rssBytes: os.totalmem() - os.freemem(), cpuMs: machineCpuMs() });
          const stat = await pidusage(entry.pid).catch(() => undefined);
          if (stat) entry.samples.push({ t, rssBytes: stat.memory, cpuMs: stat.ctime });
        }),
      );
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }
}

export function figuresOf(name: string, pid: number, samples: readonly ProcessSample[]): ProcessFigures {
  const first = samples[0];
  const last = samples.at(-1);
  const cpuMs = first && last ? last.cpuMs - first.cpuMs : 0;
  const wallMs = first && last ? last.t - first.t : 0;
  return {
    name,
    pid,
    peakRssMb: samples.reduce((peak, s) => Math.max(peak, s.rssBytes), 0) / MB,
    cpuSeconds: cpuMs / 1000,
    cpuPercent: wallMs > 0 ? (cpuMs / wallMs) * 100 : 0,
    rss: thin(samples, RSS_POINTS).map((s) => [round(s.t / 1000, 2), round(s.rssBytes / MB, 1)]),
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
