import type { Summary } from '../stats.js';
import { describeLoad, describeProcesses, describeScenario, fmt, formatMeasured } from './format-text.js';
import { MACHINE, type LoadTestReport, type ProcessFigures, type RunReport, type TargetResult } from './report-types.js';
import { barChart, escapeXml as esc, lineChart, percentileChart } from './svg-charts.js';

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1340px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0 1rem; } th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.PASS { color: #176a2c; font-weight: 600; } .MISS { color: #b3261e; font-weight: 600; } .n\\/a { color: #777; }
code { background: #f3f3f3; padding: 0 .25rem; } .charts { display: flex; flex-wrap: wrap; gap: 1rem; }
svg.chart { border: 1px solid #eee; background: #fff; }
svg .title { font: 600 13px system-ui, sans-serif; } svg .tick, svg .legend, svg .axis-label, svg .reference-label, svg .bar-value { font: 11px system-ui, sans-serif; fill: #444; }
svg .grid { stroke: #eee; } svg .axis { stroke: #999; } svg .series { fill: none; stroke-width: 1.6; }
svg .reference { stroke: #b3261e; stroke-dasharray: 4 3; } svg .reference-label { fill: #b3261e; }
`;

const ms = (s: Summary, key: 'p50' | 'p95' | 'p99'): string => fmt(s[key], 0);
const ratio = (r: number | undefined): string => (r === undefined ? '' : ` <small>(${r.toFixed(2)}×)</small>`);

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => (/^[\d.,\s×()n/a%-]+$/.test(c) ? `<td class="num">${c}</td>` : `<td>${c}</td>`)).join('')}</tr>`).join('')}</tbody></table>`;
}

function targetsTable(targets: readonly TargetResult[]): string {
  return table(
    ['', 'target', 'run', 'measured', 'limit', 'ratio', 'needed', 'note'],
    targets.map((t) => [`<span class="${t.status}">${t.status}</span>`, esc(t.target), esc(t.run), formatMeasured(t), t.limit === undefined ? '' : fmt(t.limit), t.ratio === undefined ? '' : t.ratio.toFixed(2), esc(t.threshold), esc(t.note ?? '')]),
  );
}

function runsTable(runs: readonly RunReport[]): string {
  return table(
    ['run', 'load', 'accepted', 'accepted/s', 'accept p50 / p95 / p99 ms', 'completed', 'completed/s', 'end to end p50 / p95 / p99 ms', 'errors'],
    runs.map((r) => {
      const f = r.figures;
      const errors = f.errors.total === 0 ? '0' : f.errors.byStatusAndCode.map((e) => `${esc(e.status)} ${esc(e.code)} ×${e.count}`).join('<br>');
      return [
        esc(r.label),
        esc(`${describeLoad(r)}; ${r.file.width}x${r.file.height}, ${(r.file.averageBytes / 1024).toFixed(0)} KB${describeScenario(r) ? ` — ${describeScenario(r)}` : ''}`),
        `${f.accepted}/${f.sent}`,
        `${f.acceptedPerSecond.toFixed(1)}${ratio(r.ratios.acceptedPerSecond)}`,
        `${ms(f.acceptMs, 'p50')} / ${ms(f.acceptMs, 'p95')} / ${ms(f.acceptMs, 'p99')}${ratio(r.ratios.acceptP99)}`,
        `${f.completed}`,
        `${f.completedPerSecond.toFixed(1)}${ratio(r.ratios.completedPerSecond)}`,
        r.drain ? 'n/a' : `${ms(f.endToEndMs, 'p50')} / ${ms(f.endToEndMs, 'p95')} / ${ms(f.endToEndMs, 'p99')}${ratio(r.ratios.endToEndP50)}`,
        errors,
      ];
    }),
  );
}

/** The drain runs' worker phase: when the workers started, the window completed/s is counted over. */
function drainTable(runs: readonly RunReport[]): string {
  const rows = runs.flatMap((r) =>
    r.drain
      ? [[esc(r.label), fmt(r.drain.workersStartedAtSecond), fmt(r.drain.firstProcessingAtSecond), fmt(r.drain.lastTerminalAtSecond), fmt(r.drain.seconds), `${r.drain.done}/${r.figures.accepted}`, `${r.drain.completedPerSecond.toFixed(1)}${ratio(r.ratios.completedPerSecond)}`, esc(describeProcesses(r.drain.processes))]]
      : [],
  );
  if (rows.length === 0) return '';
  return `<h2>Drain: the worker pool alone</h2>
<p>Every upload accepted with no worker running; then the workers start and drain the queue. Completed/s = <code>done</code> ÷ (last terminal event − first <code>processing</code> event), from the run's database.</p>
${table(['run', 'workers started (s)', 'first processing (s)', 'last terminal (s)', 'window s', 'done / accepted', 'completed/s', 'processes from the workers’ start'], rows)}`;
}

function processesTable(runs: readonly RunReport[], extra: ReadonlyArray<{ label: string; processes: readonly ProcessFigures[] }>): string {
  const rows = [...extra, ...runs.flatMap((r) => [{ label: r.label, processes: r.processes }, ...(r.drain ? [{ label: `${r.label} (from the workers’ start)`, processes: r.drain.processes }] : [])])].flatMap((r) =>
    r.processes.map((p) => [esc(r.label), esc(p.name), p.peakRssMb.toFixed(0), p.cpuSeconds.toFixed(1), p.cpuPercent.toFixed(0)]),
  );
  return table(['run', 'process', 'peak RSS MB', 'CPU s', 'CPU % (100 = one core)'], rows);
}

function charts(report: LoadTestReport): string {
  const out: string[] = [];
  for (const run of report.runs) {
    const t = run.figures.timeline;
    out.push(
      lineChart({
        title: `Throughput over time — ${run.label}`,
        xLabel: 'seconds',
        yLabel: 'uploads/s',
        step: true,
        series: [
          { name: 'accepted/s', points: t.accepted.map((v, i) => [i, v] as const) },
          { name: 'completed/s', points: t.completed.map((v, i) => [i, v] as const) },
        ],
        references: report.baselines && (run.scenario === 'throughput' || run.scenario === 'drain') ? [{ y: report.baselines.rawSharp.best.setsPerSecond, label: 'raw sharp limit' }] : [],
      }),
    );
  }
  out.push(percentileChart({ title: 'Accept latency distribution (POST → 202)', yLabel: 'ms', series: report.runs.map((r) => ({ name: r.label, points: r.figures.acceptQuantiles })).concat(report.baselines?.bareHandler.map((b) => ({ name: 'bare handler', points: b.figures.acceptQuantiles })) ?? []) }));
  out.push(percentileChart({ title: 'End-to-end latency distribution (POST → done)', yLabel: 'ms', series: report.runs.map((r) => ({ name: r.label, points: r.figures.endToEndQuantiles })) }));
  if (report.sweep.length > 0) {
    const limit = report.baselines?.rawSharp.best.setsPerSecond;
    const pool = report.sweep[0]?.scenario === 'drain';
    out.push(
      barChart({
        title: pool ? 'Worker sweep — drain completed sets/s (the pool alone)' : 'Worker sweep — completed sets/s (throughput: mixed load)',
        xLabel: 'worker processes',
        yLabel: 'sets/s',
        bars: report.sweep.map((s) => ({ label: String(s.workers), value: s.completedPerSecond })),
        references: limit === undefined ? [] : [{ y: limit, label: `raw sharp ${limit.toFixed(1)}/s` }, { y: limit * 0.85, label: 'target 0.85×' }],
      }),
    );
  }
  for (const run of report.runs.filter((r) => r.scenario === 'big-files' || r.scenario === 'soak')) {
    out.push(
      lineChart({
        title: `RSS over time — ${run.label}`,
        xLabel: 'seconds',
        yLabel: 'MB',
        series: run.processes.filter((p) => p.name !== 'loadtest' && p.name !== MACHINE).map((p) => ({ name: p.name, points: p.rss })),
        references: run.scenario === 'big-files' ? [{ y: 200, label: 'API target 200 MB' }] : [],
      }),
    );
  }
  return `<div class="charts">${out.join('\n')}</div>`;
}

/** report.html: one file, styles and SVG charts inline, nothing fetched when it is opened. */
export function renderReportHtml(report: LoadTestReport): string {
  const m = report.machine;
  const b = report.baselines;
  const baselines = b
    ? `<h2>Limits (baselines, same run)</h2>
${table(
  ['raw sharp: sets in flight', 'sets', 'sets/s', 'set p50 / p95 / p99 ms'],
  b.rawSharp.levels.map((l) => [String(l.inFlight), String(l.sets), l.setsPerSecond.toFixed(1), `${ms(l.setMs, 'p50')} / ${ms(l.setMs, 'p95')} / ${ms(l.setMs, 'p99')}`]),
)}
<p>Raw sharp: one decode, cover-resize to 512 into a raw buffer, four WebP encodes (512/256/128/64, quality 80, effort 4); best ${b.rawSharp.best.setsPerSecond.toFixed(1)} sets/s at ${b.rawSharp.best.inFlight} in flight; UV_THREADPOOL_SIZE ${b.rawSharp.threadpoolSize}; nice ${b.rawSharp.niceness}, as the workers; sharp ${esc(b.rawSharp.sharpVersion)}.</p>
${table(
  ['bare handler (Fastify + multipart → disk + sha256 → 202)', 'load', 'accepted', 'accepted/s', 'accept p50 / p95 / p99 ms', 'errors'],
  b.bareHandler.map((h) => [esc(h.scenario), esc(describeLoad(h)), `${h.figures.accepted}/${h.figures.sent}`, h.figures.acceptedPerSecond.toFixed(1), `${ms(h.figures.acceptMs, 'p50')} / ${ms(h.figures.acceptMs, 'p95')} / ${ms(h.figures.acceptMs, 'p99')}`, String(h.figures.errors.total)]),
)}`
    : '<p>No baselines: run with <code>--baseline</code> to measure the limits and the ratios.</p>';
  const extra = b ? [{ label: `raw sharp baseline (nice ${b.rawSharp.niceness})`, processes: b.rawSharp.processes }, ...b.bareHandler.map((h) => ({ label: `bare handler baseline (${h.scenario})`, processes: h.processes }))] : [];
  const growth = report.runs.flatMap((r) => (r.rssGrowth ?? []).map((g) => [esc(r.label), esc(g.process), String(g.windowJobs), fmt(g.firstMedianRssMb, 0), fmt(g.lastMedianRssMb, 0), g.growth === undefined ? 'n/a' : `${(g.growth * 100).toFixed(1)}%`]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Avatar pipeline load test — ${esc(report.generatedAt)}</title><style>${STYLE}</style></head>
<body>
<h1>Avatar pipeline load test</h1>
<p>${esc(report.generatedAt)} · <code>${esc(report.command)}</code> · against ${esc(report.target)}</p>
<p>Machine: ${esc(m.cpuModel)}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${esc(m.node)}, ${esc(m.platform)}; load average at start ${m.loadAverageAtStart.join(' / ')}.</p>
<h2>Targets</h2>
${targetsTable(report.targets)}
<h2>Runs</h2>
${runsTable(report.runs)}
${drainTable(report.runs)}
${baselines}
<h2>Charts</h2>
${charts(report)}
<h2>Processes</h2>
${processesTable(report.runs, extra)}
${growth.length > 0 ? `<h2>Worker RSS by completed jobs (soak)</h2>${table(['run', 'process', 'window (jobs)', 'first window median MB', 'last window median MB', 'growth'], growth)}` : ''}
<p><small>Figures are explained in packages/loadtest/README.md.</small></p>
</body></html>
`;
}
