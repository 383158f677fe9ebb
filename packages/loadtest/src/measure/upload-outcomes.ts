import { createDb, terminalStatusList, type Db } from '@avatar/shared';

/** One upload of the run as its database tells it; times are wall-clock ms since the epoch. */
export interface UploadOutcome {
  id: string;
  status: string;
  errorCode: string | undefined;
  firstProcessingAtWallMs: number | undefined;
  terminalAtWallMs: number | undefined;
}

interface OutcomeRow {
  id: string;
  status: string;
  error_code: string | null;
  first_processing_ms: number | string | null;
  terminal_ms: number | string | null;
}

/** ids per query: one statement stays small whatever the run's size */
const BATCH = 1000;

/**
 * Reads the run's uploads from its own database: the drain scenario waits on it for every
 * accepted upload to be terminal and takes the workers' window from its events
 * (`upload_events.created_at`, `clock_timestamp()`, the same clock as this process on one machine).
 */
export class UploadOutcomes {
  private readonly db: Db;

  constructor(databaseUrl: string) {
    this.db = createDb({ databaseUrl, poolMax: 1 });
  }

  async read(ids: readonly string[]): Promise<UploadOutcome[]> {
    const out: UploadOutcome[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const { rows } = (await this.db.raw(
        `select u.id, u.status, u.error_code,
           (select extract(epoch from min(e.created_at)) * 1000 from upload_events e where e.upload_id = u.id and e.type = 'processing') as first_processing_ms,
           (select extract(epoch from max(e.created_at)) * 1000 from upload_events e where e.upload_id = u.id and e.type = any(?)) as terminal_ms
         from uploads u where u.id = any(?::uuid[])`,
        [[...terminalStatusList], ids.slice(i, i + BATCH)],
      )) as { rows: OutcomeRow[] };
      for (const r of rows) {
        out.push({
          id: r.id,
          status: r.status,
          errorCode: r.error_code ?? undefined,
          firstProcessingAtWallMs: r.first_processing_ms === null ? undefined : Number(r.first_processing_ms),
          terminalAtWallMs: r.terminal_ms === null ? undefined : Number(r.terminal_ms),
        });
      }
    }
    return out;
  }

  /** Polls until every one of `ids` has a terminal event, or `deadline` (performance.now) passes, or `signal` aborts. */
  async waitUntilTerminal(ids: readonly string[], deadline: number, signal: AbortSignal, onProgress: (terminal: number) => void, pollMs = 500): Promise<UploadOutcome[]> {
    for (;;) {
      const outcomes = await this.read(ids);
      const terminal = outcomes.filter((o) => o.terminalAtWallMs !== undefined).length;
      onProgress(terminal);
      if (terminal >= ids.length || performance.now() >= deadline || signal.aborted) return outcomes;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}
