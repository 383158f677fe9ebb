import { openAsBlob } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { loadConfig } from '@avatar/shared';
import { runBareHandlerBaseline, runRawSharpBaseline } from './baselines/run-baselines.js';
import { plannedUploads } from './load/apply-load.js';
import type { SampleFile } from './load/upload-client.js';
import { describeMachine } from './machine.js';
import { ProcessSampler } from './measure/process-sampler.js';
import { UploadOutcomes } from './measure/upload-outcomes.js';
import { rssGrowthByJobs } from './measure/rss-growth.js';
import type { Plan, ScenarioPlan } from './options.js';
import type { ProgressBar } from './progress.js';
import { computeDrainFigures, computeFigures } from './report/figures.js';
import { REPORT_SCHEMA, type BareHandlerBaseline, type Baselines, type LoadTestReport, type RunReport, type ScenarioName } from './report/report-types.js';
import { evaluateTargets, ratiosFor } from './report/targets.js';
import { runLoadTest } from './run-load-test.js';
import { LARGE_IMAGE, makeLargeJpegs, makeSampleJpegs } from './sample-images.js';
import { readRootScripts } from './system/node-command.js';
import { createWorkspace, prepareRunEnvironment, type RunEnvironment, type Workspace } from './system/run-environment.js';
import { startSystem, type SystemUnderTest } from './system/system-under-test.js';

export interface PlanIo {
  log(line: string): void;
  progress(label: string, total: number, followed: boolean): ProgressBar;
  signal: AbortSignal;
  command: string;
}

/** The most users the tool's own system is given: one per upload up to here, then round robin. */
const MAX_USERS = 10_000;

/** Scenarios measured against the bare handler: the same closed loop of sample photos. */
const ACCEPT_SCENARIOS: readonly ScenarioName[] = ['throughput', 'drain'];

/** The big-files run's upload limit and body timeout: ~10 MB files, 64 at once, on a busy machine. */
const LARGE_FILE_ENV = { MAX_UPLOAD_BYTES: String(16 * 1024 * 1024), UPLOAD_BODY_TIMEOUT_MS: '120000' };

interface Inputs {
  photos: SampleFile[];
  large: SampleFile[];
  photoFiles: string[];
}

/**
 * Runs the plan: the baselines first (each alone on the machine), then every scenario run,
 * each against a freshly started API and workers, and evaluates the targets.
 */
export async function executePlan(plan: Plan, io: PlanIo): Promise<LoadTestReport> {
  const machine = describeMachine();
  const generatedAt = new Date().toISOString();
  const workspace = await createWorkspace();
  let env: RunEnvironment | undefined;
  let ok = false;
  try {
    io.log(`sample images: ${plan.distinct} × ${plan.image.width}x${plan.image.height} JPEG${plan.scenarios.some((s) => s.large) ? `, 2 × ${LARGE_IMAGE.width}x${LARGE_IMAGE.height} (~10 MB)` : ''}`);
    const inputs = await prepareInputs(plan, workspace);
    const scripts = await readRootScripts();

    let baselines: Baselines | undefined;
    if (plan.baseline) {
      io.log(`raw sharp: 1/2/4/8 sets in flight, ${plan.baselineSeconds} s each, at the workers' niceness`);
      const rawSharp = await runRawSharpBaseline(scripts, workspace, inputs.photoFiles, plan.baselineSeconds);
      io.log(`  best ${rawSharp.best.setsPerSecond.toFixed(1)} sets/s at ${rawSharp.best.inFlight} in flight; one set p50 ${rawSharp.singleSetMs.p50?.toFixed(0)} ms`);
      const bareHandler: BareHandlerBaseline[] = [];
      for (const scenario of plan.scenarios.filter((s) => ACCEPT_SCENARIOS.includes(s.name))) {
        abortIfAsked(io.signal);
        const bar = io.progress(`bare handler (${scenario.name})`, plannedUploads(scenario.shape), false);
        try {
          bareHandler.push(
            await runBareHandlerBaseline(scripts, workspace, {
              scenario: scenario.name,
              shape: scenario.shape,
              files: scenario.large ? inputs.large : inputs.photos,
              maxFileBytes: Number(LARGE_FILE_ENV.MAX_UPLOAD_BYTES),
              timeoutMs: scenario.timeoutSeconds * 1000,
              signal: io.signal,
              onProgress: (p) => bar.update(p),
            }),
          );
        } finally {
          bar.stop();
        }
      }
      baselines = { rawSharp, bareHandler };
    }

    abortIfAsked(io.signal);
    let tokenFor: (userId: number) => string;
    let userFor: (index: number) => number;
    if (plan.url) {
      const secret = loadConfig().auth.jwtSecret;
      if (!secret) throw new Error('JWT_SECRET is needed to sign tokens for the system at --url');
      tokenFor = tokenSigner(secret);
      userFor = (index) => plan.users[index % plan.users.length] as number;
    } else {
      const userCount = Math.min(MAX_USERS, Math.max(...plan.scenarios.map((s) => plannedUploads(s.shape))));
      io.log(`starting the system's storage, database (${userCount} users) and Redis prefix`);
      env = await prepareRunEnvironment(workspace, userCount, plan.fastdfs);
      io.log(`  storage: ${env.storage.description}`);
      tokenFor = tokenSigner(env.jwtSecret);
      // one user per upload while there are enough: nothing is superseded, every upload is rendered
      userFor = (index) => (index % userCount) + 1;
    }

    const runs: RunReport[] = [];
    for (const scenario of plan.scenarios) {
      for (const workers of plan.url ? [undefined] : scenario.workerCounts) {
        abortIfAsked(io.signal);
        runs.push(await runScenario(plan, scenario, workers, { env, workspace, inputs, tokenFor, userFor, io }));
      }
    }
    for (const run of runs) run.ratios = ratiosFor(run, baselines);
    // the pool's own throughput when the plan measured it, else the mixed figure
    const sweepScenario: ScenarioName = runs.some((r) => r.scenario === 'drain') ? 'drain' : 'throughput';
    const sweep = runs
      .filter((r) => r.scenario === sweepScenario && r.workers !== undefined)
      .map((r) => ({ scenario: sweepScenario, workers: r.workers as number, completedPerSecond: r.figures.completedPerSecond, acceptedPerSecond: r.figures.acceptedPerSecond, ratioToRawSharp: r.ratios.completedPerSecond }));
    ok = true;
    return {
      schema: REPORT_SCHEMA,
      generatedAt,
      command: io.command,
      machine,
      target: plan.url ? plan.url.origin : 'own system (started by the tool)',
      options: {
        scenarios: plan.scenarios.map((s) => s.name),
        workers: plan.url ? undefined : plan.workers,
        workerConcurrency: plan.url ? undefined : plan.workerConcurrency,
        compiled: plan.url ? undefined : plan.compiled,
        storage: env?.storage.description,
        baseline: plan.baseline,
        image: plan.image,
      },
      baselines,
      runs,
      sweep,
      targets: evaluateTargets(runs, baselines),
    };
  } finally {
    await env?.dispose();
    await workspace.remove(!ok);
    if (!ok) io.log(`process logs kept in ${workspace.logs}`);
  }
}

interface RunContext {
  env: RunEnvironment | undefined;
  workspace: Workspace;
  inputs: Inputs;
  tokenFor: (userId: number) => string;
  userFor: (index: number) => number;
  io: PlanIo;
}

async function runScenario(plan: Plan, scenario: ScenarioPlan, workers: number | undefined, ctx: RunContext): Promise<RunReport> {
  if (scenario.name === 'drain') {
    if (!ctx.env || workers === undefined) throw new Error('the drain scenario starts its own workers: it cannot run against --url');
    return runDrainScenario(plan, scenario, workers, ctx.env, ctx);
  }
  const { id, label } = runNames(scenario, workers);
  const files = scenario.large ? ctx.inputs.large : ctx.inputs.photos;
  let system: SystemUnderTest | undefined;
  if (ctx.env && workers !== undefined) {
    system = await startSystem(ctx.env, ctx.workspace, {
      runId: id,
      workers,
      compiled: plan.compiled,
      env: { WORKER_CONCURRENCY: String(plan.workerConcurrency), ...(scenario.large ? LARGE_FILE_ENV : {}) },
    });
  }
  const baseUrl = system?.baseUrl ?? (plan.url as URL).origin;
  const t0 = performance.now();
  const sampler = new ProcessSampler(t0);
  sampler.add('loadtest', process.pid);
  sampler.addMachine();
  if (system && ctx.env) {
    sampler.add('api', system.api.pid);
    for (const worker of system.workers) sampler.add(worker.name, worker.pid);
    for (const storage of ctx.env.storage.processes) sampler.add(storage.name, storage.pid);
  }
  sampler.start();
  const bar = ctx.io.progress(label, plannedUploads(scenario.shape), true);
  let load;
  try {
    load = await runLoadTest({
      baseUrl,
      shape: scenario.shape,
      files,
      userFor: ctx.userFor,
      tokenFor: ctx.tokenFor,
      follow: true,
      followers: plan.followers,
      timeoutMs: scenario.timeoutSeconds * 1000,
      signal: ctx.io.signal,
      onProgress: (p) => bar.update(p),
    });
  } finally {
    bar.stop();
    await sampler.stop();
    await system?.stop();
  }
  abortIfAsked(ctx.io.signal);
  const figures = computeFigures(load.records, true);
  // the load's time 0 in the sampler's time base
  const offset = load.startedAtWallMs - (performance.timeOrigin + t0);
  const doneTimes = load.records.filter((r) => r.finalStatus === 'done' && r.finishedAt !== undefined).map((r) => (r.finishedAt as number) + offset);
  const spec = scenario.large ? LARGE_IMAGE : plan.image;
  const run: RunReport = {
    id,
    scenario: scenario.name,
    label,
    workers,
    load: scenario.shape,
    file: fileFigures(spec, files),
    seconds: (performance.now() - t0) / 1000,
    figures,
    processes: sampler.figures(),
    ratios: {},
    ...(scenario.name === 'soak' && system ? { rssGrowth: system.workers.map((w) => rssGrowthByJobs(w.name, sampler.samplesOf(w.name), doneTimes)) } : {}),
  };
  ctx.io.log(`  ${label}: ${figures.accepted}/${figures.sent} accepted (${figures.acceptedPerSecond.toFixed(1)}/s), ${figures.completed} done (${figures.completedPerSecond.toFixed(1)}/s), ${figures.errors.total} errors`);
  return run;
}

/** A run's id (its log files) and label (its lines), from the scenario and the worker count the tool started. */
function runNames(scenario: ScenarioPlan, workers: number | undefined): { id: string; label: string } {
  if (workers === undefined) return { id: scenario.name, label: scenario.name };
  return { id: `${scenario.name}-w${workers}`, label: `${scenario.name} · ${workers} worker${workers === 1 ? '' : 's'}` };
}

/** The sample files a run sent: their pixel size and average bytes. */
function fileFigures(spec: { width: number; height: number }, files: readonly SampleFile[]): RunReport['file'] {
  return { ...spec, averageBytes: Math.round(files.reduce((sum, f) => sum + f.bytes, 0) / files.length) };
}

/**
 * The worker pool's own throughput, as the issue measures it: every upload is accepted while no
 * worker runs (the accept phase, with the machine to the API and the load generator), then the
 * workers start and drain the queue alone; completed/s runs from the first `processing` event to
 * the last terminal one, read from the run's database.
 */
async function runDrainScenario(plan: Plan, scenario: ScenarioPlan, workers: number, env: RunEnvironment, ctx: RunContext): Promise<RunReport> {
  const { id, label } = runNames(scenario, workers);
  const files = ctx.inputs.photos;
  const system = await startSystem(env, ctx.workspace, {
    runId: id,
    workers,
    deferWorkers: true,
    compiled: plan.compiled,
    env: { WORKER_CONCURRENCY: String(plan.workerConcurrency) },
  });
  const outcomesDb = new UploadOutcomes(env.env.DATABASE_URL as string);
  const t0 = performance.now();
  const sampler = new ProcessSampler(t0);
  sampler.add('loadtest', process.pid);
  sampler.addMachine();
  sampler.add('api', system.api.pid);
  for (const storage of env.storage.processes) sampler.add(storage.name, storage.pid);
  sampler.start();
  const deadline = t0 + scenario.timeoutSeconds * 1000;
  let load;
  let outcomes;
  let workersStartedAt: number;
  let bar = ctx.io.progress(`${label} (accept)`, plannedUploads(scenario.shape), false);
  try {
    load = await runLoadTest({
      baseUrl: system.baseUrl,
      shape: scenario.shape,
      files,
      userFor: ctx.userFor,
      tokenFor: ctx.tokenFor,
      follow: false,
      followers: 0,
      timeoutMs: scenario.timeoutSeconds * 1000,
      signal: ctx.io.signal,
      onProgress: (p) => bar.update(p),
    });
    bar.stop();
    abortIfAsked(ctx.io.signal);
    const ids = load.records.flatMap((r) => (r.httpStatus === 202 && r.uploadId ? [r.uploadId] : []));
    const accepted = { planned: ids.length, sent: ids.length, accepted: ids.length };
    bar = ctx.io.progress(`${label} (drain)`, ids.length, true);
    workersStartedAt = performance.now() - t0;
    for (const worker of await system.startWorkers()) sampler.add(worker.name, worker.pid);
    outcomes = await outcomesDb.waitUntilTerminal(ids, deadline, ctx.io.signal, (finished) => bar.update({ ...accepted, finished }));
  } finally {
    bar.stop();
    await sampler.stop();
    await system.stop();
    await outcomesDb.close();
  }
  abortIfAsked(ctx.io.signal);
  // the load's time 0 in the sampler's time base
  const offset = load.startedAtWallMs - (performance.timeOrigin + t0);
  const { figures, drain } = computeDrainFigures(load.records, outcomes, load.startedAtWallMs, workersStartedAt - offset, sampler.figures(workersStartedAt));
  const run: RunReport = {
    id,
    scenario: scenario.name,
    label,
    workers,
    load: scenario.shape,
    file: fileFigures(plan.image, files),
    seconds: (performance.now() - t0) / 1000,
    figures,
    processes: sampler.figures(),
    ratios: {},
    drain,
  };
  ctx.io.log(
    `  ${label}: ${figures.accepted}/${figures.sent} accepted with no worker running (${figures.acceptedPerSecond.toFixed(1)}/s); then ${drain.done} done by the workers alone in ${drain.seconds.toFixed(1)} s (${drain.completedPerSecond.toFixed(1)}/s), ${figures.errors.total} errors`,
  );
  return run;
}

async function prepareInputs(plan: Plan, workspace: Workspace): Promise<Inputs> {
  const dir = path.join(workspace.root, 'images');
  await mkdir(dir, { recursive: true });
  const save = (buffers: readonly Buffer[], name: string): Promise<string[]> =>
    Promise.all(
      buffers.map(async (buffer, i) => {
        const file = path.join(dir, `${name}-${i}.jpg`);
        await writeFile(file, buffer);
        return file;
      }),
    );
  // the raw sharp baseline reads the same photos from these files
  const photoFiles = await save(await makeSampleJpegs(plan.image, plan.distinct), 'photo');
  const largeFiles = plan.scenarios.some((s) => s.large) ? await save(await makeLargeJpegs(2), 'large') : [];
  return { photos: await Promise.all(photoFiles.map(sampleFile)), large: await Promise.all(largeFiles.map(sampleFile)), photoFiles };
}

/**
 * A file-backed Blob: each upload streams it from disk. An in-memory Blob made the client copy
 * every 10 MB body per request (twice the client's CPU and memory with 64 big uploads in flight).
 */
async function sampleFile(file: string): Promise<SampleFile> {
  const blob = await openAsBlob(file, { type: 'image/jpeg' });
  return { blob, bytes: blob.size };
}

/** Bearer tokens as the API expects them (`sub`, `role`), signed once per user. */
function tokenSigner(secret: string): (userId: number) => string {
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 4 * 3600_000 });
  const tokens = new Map<number, string>();
  return (userId) => {
    let token = tokens.get(userId);
    if (!token) {
      token = sign({ sub: String(userId), role: 'user' });
      tokens.set(userId, token);
    }
    return token;
  };
}

export class InterruptedError extends Error {
  constructor() {
    super('interrupted: the run was stopped and cleaned up');
    this.name = 'InterruptedError';
  }
}

function abortIfAsked(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError();
}
