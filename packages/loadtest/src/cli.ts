import { ConfigError, isSameRequest } from '@avatar/shared';
import { parseCommand, USAGE } from './options.js';
import { startProgressBar, type ProgressBar } from './progress.js';
import { formatReport } from './report/format-text.js';
import { writeReport } from './report/write-report.js';
import { executePlan, InterruptedError } from './run-plan.js';
import { buildWorkspace } from './system/build-workspace.js';

/** `pnpm loadtest`: parse, run, print, write; Ctrl-C stops the run and still cleans up. */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const command = parseCommand(argv);
  if (command.kind === 'help') {
    console.log(USAGE);
    return;
  }
  const abort = new AbortController();
  let bar: ProgressBar | undefined;
  let interrupts = 0;
  let lastSignalAt: number | undefined;
  const onSignal = (): void => {
    // one Ctrl-C arrives twice under pnpm (the terminal's and pnpm's copy): that is one request
    const at = Date.now();
    if (isSameRequest(lastSignalAt, at)) return;
    lastSignalAt = at;
    // the first stops the run and cleans up (database, Redis keys, processes); a second gives up on that
    if (++interrupts > 1) process.exit(130);
    bar?.stop();
    console.error('stopping: cleaning up (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (command.plan.compiled && !command.plan.url) {
    // the roles run as the image runs them, from dist/: built from these sources first
    console.log('pnpm build (the API and workers run compiled, as in the image; --source runs them under tsx)');
    await buildWorkspace(undefined, abort.signal).catch((error: unknown) => {
      throw abort.signal.aborted ? new InterruptedError() : error;
    });
  }
  const report = await executePlan(command.plan, {
    log: (line) => console.log(line),
    progress: (...args) => (bar = startProgressBar(...args)),
    signal: abort.signal,
    command: ['pnpm loadtest', ...argv].join(' '),
  });
  console.log(formatReport(report));
  if (command.plan.out) {
    const written = await writeReport(command.plan.out, report);
    console.log(`wrote ${written.json} and ${written.html}`);
  }
  // a MISS is a finding, not a failure of the tool; an accepted upload that never finished is,
  // and so is a run in which nothing was accepted at all
  if (report.runs.some((r) => r.figures.unfinished > 0 || r.figures.accepted === 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(error instanceof InterruptedError ? 130 : 1);
});
