import type { Summary } from '../stats.js';
import { MACHINE, type LoadTestReport, type ProcessFigures, type RunReport, type TargetResult } from './report-types.js';

const ms = (s: Summary): string => (s.count === 0 ? 'n/a' : `p50 ${fmt(s.p50, 0)} · p95 ${fmt(s.p95, 0)} · p99 ${fmt(s.p99, 0)} ms`);
const ratio = (r: number | undefined, of: string): string => (r === undefined ? '' : ` (${r.toFixed(2)}× ${of})`);

export function fmt(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

export function describeLoad(run: Pick<RunReport, 'load'>): string {
  const l = run.load;
  return l.kind === 'open'
    ? `open loop ${l.ratePerSecond}/s for ${l.durationSeconds} s`
    : `closed loop ${l.waitForFinish ? `${l.concurrency} at a time to done` : `${l.concurrency} in flight`}, ${l.durationSeconds === undefined ? `${l.uploads} uploads` : `up to ${l.uploads} uploads for ${l.durationSeconds} s`}`;
}

/** What a scenario's figures are of, where that is not obvious from its name. */
export function describeScenario(run: Pick<RunReport, 'scenario'>): string | undefined {
  if (run.scenario === 'throughput') return 'whole system under load: the workers render while the uploads arrive, on the same cores as the API and the load generator';
  if (run.scenario === 'drain') return 'the pool alone: every upload accepted with no worker running, then the workers drain the queue';
  return undefined;
}

export function describeProcesses(processes: readonly ProcessFigures[]): string {
  return processes
    .map((p) =>
      p.name === MACHINE
        ? `whole machine ${p.cpuSeconds.toFixed(1)} s CPU (${p.cpuPercent.toFixed(0)}%), ${p.peakRssMb.toFixed(0)} MB in use at most`
        : `${p.name} ${p.peakRssMb.toFixed(0)} MB peak, ${p.cpuSeconds.toFixed(1)} s CPU (${p.cpuPercent.toFixed(0)}%)`,
    )
    .join(' · ');
}

/** A target's measured value in its own unit. */
export function formatMeasured(t: TargetResult): string {
  if (t.measured === undefined) return 'n/a';
  if (t.id === 'zero-errors') return String(t.measured);
  if (t.id === 'soak-worker-rss-growth') return `${(t.measured * 100).toFixed(1)}%`;
  if (t.id === 'big-files-api-rss') return `${t.measured.toFixed(0)} MB`;
  return fmt(t.measured);
}

export function describeTarget(t: TargetResult): string {
  const value = t.ratio !== undefined ? `${t.ratio.toFixed(2)}× (${fmt(t.measured)} / ${fmt(t.limit)})` : formatMeasured(t);
  return `${t.status.padEnd(4)}  ${t.target.padEnd(52)} ${t.run.padEnd(24)} ${value}${t.note ? `  [${t.note}]` : ''}`;
}

/** The terminal's report: every figure, each ratio to its limit, PASS/MISS per target. */
export function formatReport(report: LoadTestReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(`machine       ${m.cpuModel} · ${m.cores} cores · ${m.ramGiB} GiB · node ${m.node}`);
  const b = report.baselines;
  if (b) {
    lines.push('baselines');
    lines.push(`  raw sharp     nice ${b.rawSharp.niceness}: ${b.rawSharp.levels.map((l) => `${l.inFlight} in flight ${l.setsPerSecond.toFixed(1)} sets/s`).join(' · ')}; best ${b.rawSharp.best.setsPerSecond.toFixed(1)}; one set ${ms(b.rawSharp.singleSetMs)}`);
    for (const bare of b.bareHandler) {
      lines.push(`  bare handler  ${bare.figures.accepted}/${bare.figures.sent} accepted, ${bare.figures.acceptedPerSecond.toFixed(1)}/s; accept ${ms(bare.figures.acceptMs)}; ${bare.figures.errors.total} errors`);
    }
  }
  for (const run of report.runs) {
    const f = run.figures;
    const about = describeScenario(run);
    const d = run.drain;
    lines.push(`${run.label} — ${describeLoad(run)}, ${run.file.width}x${run.file.height} (${(run.file.averageBytes / 1024).toFixed(0)} KB)`);
    if (about) lines.push(`  (${about})`);
    lines.push(`  accepted    ${f.accepted}/${f.sent}, ${f.acceptedPerSecond.toFixed(1)}/s${ratio(run.ratios.acceptedPerSecond, 'bare handler')}${d ? ', no worker running' : ''}`);
    lines.push(`  accept      ${ms(f.acceptMs)}${ratio(run.ratios.acceptP99, 'bare p99')}`);
    const window = d ? ` over ${d.seconds.toFixed(1)} s, first processing → last terminal, workers alone` : '';
    lines.push(`  completed   ${f.completed}, ${f.completedPerSecond.toFixed(1)}/s${ratio(run.ratios.completedPerSecond, 'raw sharp')}${window}; finished ${Object.entries(f.finished).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; unfinished ${f.unfinished}`);
    lines.push(`  end to end  ${d ? 'n/a (the uploads waited for the workers to start)' : `${ms(f.endToEndMs)}${ratio(run.ratios.endToEndP50, 'raw set p50')}`}`);
    lines.push(`  errors      ${f.errors.total === 0 ? 'none' : f.errors.byStatusAndCode.map((e) => `${e.status} ${e.code} ×${e.count}`).join(', ')}`);
    lines.push(`  processes   ${describeProcesses(run.processes)}`);
    if (d) lines.push(`  drain only  ${describeProcesses(d.processes)}`);
    for (const g of run.rssGrowth ?? []) {
      lines.push(`  rss growth  ${g.process}: ${fmt(g.firstMedianRssMb, 0)} → ${fmt(g.lastMedianRssMb, 0)} MB (${g.growth === undefined ? 'n/a' : `${(g.growth * 100).toFixed(1)}%`}) over the first and last ${g.windowJobs} jobs`);
    }
  }
  if (report.sweep.length > 1) {
    lines.push(`worker sweep  (${report.sweep[0]?.scenario} completed/s) ${report.sweep.map((s) => `${s.workers} → ${s.completedPerSecond.toFixed(1)}/s${s.ratioToRawSharp === undefined ? '' : ` (${s.ratioToRawSharp.toFixed(2)}×)`}`).join(' · ')}`);
  }
  lines.push('targets');
  for (const t of report.targets) lines.push(`  ${describeTarget(t)}`);
  return lines.join('\n');
}
