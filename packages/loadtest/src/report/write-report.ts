import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderReportHtml } from './report-html.js';
import type { LoadTestReport } from './report-types.js';

/** `--out DIR`: report.json (every figure, baseline, ratio and target) and report.html beside it. */
export async function writeReport(dir: string, report: LoadTestReport): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, 'report.json');
  const html = path.join(dir, 'report.html');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(html, renderReportHtml(report));
  return { json, html };
}
