import { html, type SafeHtml } from './html.js';

export interface ChartPoint {
  label: string;
  value: number | null;
}

const WIDTH = 600;
const HEIGHT = 140;
const PAD = 24;

/**
 * Plain server-rendered SVG: bars for counts, a polyline for a rate. Colours and sizes are
 * presentation attributes and classes, never `style`, which the console's CSP refuses.
 */
export function barChart(title: string, points: readonly ChartPoint[], options: { highlight?: readonly number[] } = {}): SafeHtml {
  const max = Math.max(1, ...points.map((p) => p.value ?? 0));
  const slot = (WIDTH - 2 * PAD) / Math.max(1, points.length);
  const bars = points.map((p, i) => {
    const h = ((p.value ?? 0) / max) * (HEIGHT - 2 * PAD);
    const x = PAD + i * slot;
    const failed = options.highlight?.[i] ?? 0;
    const fh = (failed / max) * (HEIGHT - 2 * PAD);
    return html`<g><title>${p.label}: ${p.value ?? 0}${failed ? ` (${failed} failed)` : ''}</title><rect class="bar" x="${x.toFixed(1)}" y="${(HEIGHT - PAD - h).toFixed(1)}" width="${Math.max(1, slot - 1).toFixed(1)}" height="${h.toFixed(1)}"></rect>${
      failed ? html`<rect class="bar-failed" x="${x.toFixed(1)}" y="${(HEIGHT - PAD - fh).toFixed(1)}" width="${Math.max(1, slot - 1).toFixed(1)}" height="${fh.toFixed(1)}"></rect>` : ''
    }</g>`;
  });
  return frame(title, String(max), bars, points);
}

/** A rate between 0 and 1 as a polyline; a point with no value breaks the line. */
export function rateChart(title: string, points: readonly ChartPoint[]): SafeHtml {
  const slot = (WIDTH - 2 * PAD) / Math.max(1, points.length);
  const segments: string[][] = [[]];
  points.forEach((p, i) => {
    if (p.value === null) {
      segments.push([]);
      return;
    }
    const x = PAD + i * slot + slot / 2;
    const y = HEIGHT - PAD - p.value * (HEIGHT - 2 * PAD);
    segments.at(-1)?.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  });
  const lines = segments.filter((s) => s.length > 0).map((s) => (s.length === 1 ? html`<circle class="rate" cx="${s[0]?.split(',')[0]}" cy="${s[0]?.split(',')[1]}" r="2"></circle>` : html`<polyline class="rate" points="${s.join(' ')}"></polyline>`));
  return frame(title, '100%', lines, points);
}

function frame(title: string, top: string, body: readonly SafeHtml[], points: readonly ChartPoint[]): SafeHtml {
  return html`<figure class="chart"><figcaption>${title}</figcaption><svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${title}">
<line class="axis" x1="${PAD}" y1="${HEIGHT - PAD}" x2="${WIDTH - PAD}" y2="${HEIGHT - PAD}"></line>
<text class="tick" x="2" y="${PAD}">${top}</text><text class="tick" x="2" y="${HEIGHT - PAD}">0</text>
<text class="tick" x="${PAD}" y="${HEIGHT - 6}">${points[0]?.label ?? ''}</text><text class="tick" x="${WIDTH - PAD}" y="${HEIGHT - 6}" text-anchor="end">${points.at(-1)?.label ?? ''}</text>
${body}</svg></figure>`;
}
