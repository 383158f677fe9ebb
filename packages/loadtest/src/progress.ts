import cliProgress from 'cli-progress';
import { MAX_UPLOADS } from './load/apply-load.js';
import type { LoadProgress } from './run-load-test.js';

export interface ProgressBar {
  update(progress: LoadProgress): void;
  stop(): void;
}

/**
 * One bar per run on stderr while it runs: uploads finished out of those planned, with sent and
 * accepted beside. cli-progress draws nothing when stderr is not a terminal (CI, a pipe).
 */
export function startProgressBar(label: string, total: number, followed: boolean): ProgressBar {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(26)} {bar} {value}/{total} ${followed ? 'finished' : 'answered'} | sent {sent} · 202 {accepted} | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { sent: 0, accepted: 0 });
  let stopped = false;
  return {
    update(p) {
      if (stopped) return;
      // a closed loop bounded by --duration alone has no known count: the bar follows what was sent
      bar.setTotal(Math.max(1, p.planned < MAX_UPLOADS ? p.planned : p.sent));
      bar.update(followed ? p.finished : p.sent, { sent: p.sent, accepted: p.accepted });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
