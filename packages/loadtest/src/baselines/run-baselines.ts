import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ProcessSampler } from '../measure/process-sampler.js';
import type { LoadShape } from '../load/apply-load.js';
import type { SampleFile } from '../load/upload-client.js';
import type { BareHandlerOptions } from '../processes/bare-handler-process.js';
import type { RawSharpOptions, RawSharpResult } from '../processes/raw-sharp-process.js';
import { computeFigures } from '../report/figures.js';
import type { BareHandlerBaseline, RawSharpBaseline, ScenarioName } from '../report/report-types.js';
import { runLoadTest, type LoadProgress } from '../run-load-test.js';
import type { RootScripts } from '../system/node-command.js';
import { messageOfType, START_TIMEOUT_MS, STOP_TIMEOUT_MS, startOwnProcess, type Workspace } from '../system/run-environment.js';
import { WORKER_NICENESS } from '../system/system-under-test.js';
import { workerThreadpoolSize } from '../system/threadpool.js';

/** Sets in flight tried for the raw sharp limit; the best is the limit. */
export const RAW_SHARP_LEVELS = [1, 2, 4, 8];

/**
 * Raw sharp on the run's sample images, in its own process with the worker's threadpool and
 * niceness: at nice 0 it would outrun the nice-10 workers on a busy machine, and the ratio would
 * measure the neighbours.
 */
export async function runRawSharpBaseline(scripts: RootScripts, workspace: Workspace, imageFiles: string[], secondsPerLevel: number): Promise<RawSharpBaseline> {
  const options: RawSharpOptions = { imageFiles, levels: RAW_SHARP_LEVELS, secondsPerLevel, maxSetsPerLevel: Math.ceil(secondsPerLevel * 500) };
  const child = startOwnProcess(scripts, workspace, 'raw-sharp', 'raw-sharp-process', options, { UV_THREADPOOL_SIZE: String(workerThreadpoolSize()) }, WORKER_NICENESS);
  const sampler = new ProcessSampler(performance.now());
  sampler.add('raw-sharp', child.pid);
  sampler.addMachine();
  sampler.start();
  let raw: RawSharpResult;
  try {
    const { result } = await child.waitForMessage(messageOfType('result'), START_TIMEOUT_MS + RAW_SHARP_LEVELS.length * (secondsPerLevel * 1000 + 30_000));
    raw = result as RawSharpResult;
  } finally {
    await sampler.stop();
    await child.stop(STOP_TIMEOUT_MS);
  }
  const best = raw.levels.reduce((a, b) => (b.setsPerSecond > a.setsPerSecond ? b : a));
  const single = raw.levels.find((l) => l.inFlight === 1) ?? best;
  return { ...raw, best: { inFlight: best.inFlight, setsPerSecond: best.setsPerSecond }, singleSetMs: single.setMs, niceness: WORKER_NICENESS, processes: sampler.figures() };
}

export interface BareHandlerRun {
  scenario: ScenarioName;
  shape: LoadShape;
  files: readonly SampleFile[];
  maxFileBytes: number;
  timeoutMs: number;
  signal: AbortSignal;
  onProgress: (progress: LoadProgress) => void;
}

/** The same load, uploads and client against the bare Fastify + multipart handler, in its own process. */
export async function runBareHandlerBaseline(scripts: RootScripts, workspace: Workspace, run: BareHandlerRun): Promise<BareHandlerBaseline> {
  const dir = path.join(workspace.root, 'bare-handler');
  await mkdir(dir, { recursive: true });
  const options: BareHandlerOptions = { dir, maxFileBytes: run.maxFileBytes };
  const child = startOwnProcess(scripts, workspace, `bare-handler-${run.scenario}`, 'bare-handler-process', options);
  try {
    const { port } = await child.waitForMessage(messageOfType('listening'), START_TIMEOUT_MS);
    const sampler = new ProcessSampler(performance.now());
    sampler.add('bare-handler', child.pid);
    sampler.add('loadtest', process.pid);
    sampler.addMachine();
    sampler.start();
    const load = await runLoadTest({
      baseUrl: `http://127.0.0.1:${port}`,
      shape: run.shape,
      files: run.files,
      userFor: (index) => index + 1,
      tokenFor: () => 'unused',
      follow: false,
      followers: 0,
      timeoutMs: run.timeoutMs,
      signal: run.signal,
      onProgress: run.onProgress,
    }).finally(() => sampler.stop());
    return { scenario: run.scenario, load: run.shape, figures: computeFigures(load.records, false), processes: sampler.figures() };
  } finally {
    await child.stop(STOP_TIMEOUT_MS);
  }
}
