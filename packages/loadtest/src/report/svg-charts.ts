import { scaleBand, scaleLinear, scaleLog, type ScaleLinear, type ScaleLogarithmic } from 'd3-scale';
import { curveLinear, curveStepAfter, line } from 'd3-shape';

/**
 * Static SVG charts for the HTML report: d3-scale places values and ticks, d3-shape draws the
 * paths, and these small functions only lay out the frame, axes and legend. No script runs
 * when the report is opened.
 */

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface ReferenceLine {
  y: number;
  label: string;
}

const WIDTH = 640;
const HEIGHT = 260;
const MARGIN = { top: 28, right: 16, bottom: 40, left: 56 };
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#edc948', '#9c755f'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const fmtTick = (v: number): string => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`);

/** The chart's frame; `names` are its series, listed in rows under the plot so that any number fits. */
function frame(title: string, body: string, xLabel: string, yLabel: string, names: readonly string[] = []): string {
  const { svg: key, rows } = legend(names);
  const height = HEIGHT + (rows > 0 ? 12 + rows * LEGEND_ROW : 0);
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${escapeXml(title)}">
<text class="title" x="${MARGIN.left}" y="16">${escapeXml(title)}</text>
<text class="axis-label" x="${WIDTH - MARGIN.right}" y="${HEIGHT - 6}" text-anchor="end">${escapeXml(xLabel)}</text>
<text class="axis-label" transform="translate(12 ${MARGIN.top + (HEIGHT - MARGIN.top - MARGIN.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>
${body}${key}</svg>`;
}

function yAxis(y: ScaleLinear<number, number>, ticks = 5): string {
  return y
    .ticks(ticks)
    .map((t) => `<g><line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text class="tick" x="${MARGIN.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${fmtTick(t)}</text></g>`)
    .join('');
}

function xTicks(values: ReadonlyArray<{ x: number; label: string }>): string {
  const base = HEIGHT - MARGIN.bottom;
  return `<line class="axis" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${base}" y2="${base}"/>${values
    .map((v) => `<text class="tick" x="${v.x.toFixed(1)}" y="${base + 16}" text-anchor="middle">${escapeXml(v.label)}</text>`)
    .join('')}`;
}

const LEGEND_ROW = 16;

function legend(names: readonly string[]): { svg: string; rows: number } {
  let x = MARGIN.left;
  let row = 0;
  const items = names.map((name, i) => {
    const width = name.length * 6.5 + 24;
    if (x + width > WIDTH - MARGIN.right && x > MARGIN.left) {
      x = MARGIN.left;
      row++;
    }
    const y = HEIGHT + 8 + row * LEGEND_ROW;
    const item = `<g><rect x="${x.toFixed(0)}" y="${y - 9}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/><text class="legend" x="${(x + 14).toFixed(0)}" y="${y}">${escapeXml(name)}</text></g>`;
    x += width;
    return item;
  });
  return { svg: items.join(''), rows: names.length > 0 ? row + 1 : 0 };
}

function referenceLines(y: ScaleLinear<number, number>, lines: readonly ReferenceLine[]): string {
  return lines
    .map((r) => `<g><line class="reference" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(r.y).toFixed(1)}" y2="${y(r.y).toFixed(1)}"/><text class="reference-label" x="${WIDTH - MARGIN.right - 4}" y="${(y(r.y) - 4).toFixed(1)}" text-anchor="end">${escapeXml(r.label)}</text></g>`)
    .join('');
}

function paths(series: readonly Series[], x: (v: number) => number, y: ScaleLinear<number, number>, step = false): string {
  const draw = line<readonly [number, number]>()
    .x((p) => x(p[0]))
    .y((p) => y(p[1]))
    .curve(step ? curveStepAfter : curveLinear);
  return series.map((s, i) => `<path class="series" d="${draw([...s.points]) ?? ''}" stroke="${PALETTE[i % PALETTE.length]}"/>`).join('');
}

function yScale(series: readonly Series[], refs: readonly ReferenceLine[]): ScaleLinear<number, number> {
  const max = Math.max(1e-9, ...series.flatMap((s) => s.points.map((p) => p[1])), ...refs.map((r) => r.y));
  return scaleLinear().domain([0, max]).nice().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
}

/** Values over a linear x (seconds of a run); `step` for counts per interval, each held until the next. */
export function lineChart(options: { title: string; xLabel: string; yLabel: string; series: readonly Series[]; references?: readonly ReferenceLine[]; step?: boolean }): string {
  const refs = options.references ?? [];
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const x = scaleLinear()
    .domain([Math.min(0, ...xs), Math.max(1, ...xs)])
    .range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = yScale(options.series, refs);
  const ticks = x.ticks(8).map((t) => ({ x: x(t), label: fmtTick(t) }));
  return frame(options.title, yAxis(y) + xTicks(ticks) + referenceLines(y, refs) + paths(options.series, x, y, options.step), options.xLabel, options.yLabel, options.series.map((s) => s.name));
}

/**
 * A latency distribution: value at each percentile, on an x-axis that spreads the tail
 * (1 / (1 − p), logarithmic), so p99 and p99.9 are as readable as the median.
 */
export function percentileChart(options: { title: string; yLabel: string; series: readonly Series[] }): string {
  const odds = (p: number): number => 100 / (100 - Math.min(p, 99.9));
  const x: ScaleLogarithmic<number, number> = scaleLog().domain([1, 1000]).range([MARGIN.left, WIDTH - MARGIN.right]);
  const series = options.series.map((s) => ({ name: s.name, points: s.points.filter((p) => p[0] < 100).map((p) => [odds(p[0]), p[1]] as const) }));
  const y = yScale(series, []);
  const ticks = [0, 50, 90, 99, 99.9].map((p) => ({ x: x(odds(p)), label: `p${p}` }));
  return frame(options.title, yAxis(y) + xTicks(ticks) + paths(series, (v) => x(v), y), 'percentile', options.yLabel, series.map((s) => s.name));
}

/** One bar per category (the worker sweep), with reference lines (the limits). */
export function barChart(options: { title: string; xLabel: string; yLabel: string; bars: ReadonlyArray<{ label: string; value: number }>; references?: readonly ReferenceLine[] }): string {
  const refs = options.references ?? [];
  const x = scaleBand<string>()
    .domain(options.bars.map((b) => b.label))
    .range([MARGIN.left, WIDTH - MARGIN.right])
    .padding(0.3);
  const y = yScale([{ name: '', points: options.bars.map((b, i) => [i, b.value] as const) }], refs);
  const bars = options.bars
    .map((b) => {
      const top = y(b.value);
      return `<g><title>${escapeXml(`${b.label}: ${b.value.toFixed(2)}`)}</title><rect class="bar" x="${(x(b.label) ?? 0).toFixed(1)}" y="${top.toFixed(1)}" width="${x.bandwidth().toFixed(1)}" height="${(HEIGHT - MARGIN.bottom - top).toFixed(1)}" fill="${PALETTE[0]}"/><text class="bar-value" x="${((x(b.label) ?? 0) + x.bandwidth() / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle">${b.value.toFixed(1)}</text></g>`;
    })
    .join('');
  const ticks = options.bars.map((b) => ({ x: (x(b.label) ?? 0) + x.bandwidth() / 2, label: b.label }));
  return frame(options.title, yAxis(y) + xTicks(ticks) + bars + referenceLines(y, refs), options.xLabel, options.yLabel);
}
