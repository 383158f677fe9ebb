import sharp from 'sharp';
import type { Db } from '@avatar/shared';
import { waitFor } from './processes.js';

export type SendResult =
  | { kind: 'accepted'; uploadId: string; ms: number }
  | { kind: 'refused'; status: number; code: string; ms: number }
  /** the connection failed or was reset before an answer: nothing was promised */
  | { kind: 'no_answer'; message: string; ms: number }
  /** no answer within the client's timeout: the "hanging request" the issue forbids */
  | { kind: 'hung'; ms: number };

/** Small distinct JPEGs (200×200): the pipeline's cost stays low so the faults dominate. */
export async function smallJpegs(count: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      sharp({ create: { width: 200, height: 200, channels: 3, background: { r: (i * 47) % 256, g: (i * 89) % 256, b: (i * 131) % 256 } } })
        .jpeg({ quality: 80 })
        .toBuffer(),
    ),
  );
}

/** POSTs one upload over real HTTP; never throws. */
export async function sendUpload(apiUrl: string, userId: number, token: string, file: Buffer, timeoutMs = 15_000): Promise<SendResult> {
  const started = Date.now();
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file)], { type: 'image/jpeg' }), 'avatar.jpg');
  try {
    const response = await fetch(`${apiUrl}/v1/users/${userId}/avatar`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const body = text ? (JSON.parse(text) as { uploadId?: string; code?: string }) : {};
    const ms = Date.now() - started;
    if (response.status === 202 && body.uploadId) return { kind: 'accepted', uploadId: body.uploadId, ms };
    return { kind: 'refused', status: response.status, code: body.code ?? '', ms };
  } catch (error) {
    const ms = Date.now() - started;
    if ((error as Error).name === 'TimeoutError') return { kind: 'hung', ms };
    return { kind: 'no_answer', message: String((error as Error).cause ?? error), ms };
  }
}

/** What a fault test sent and what came back, and the figures the issue asks for. */
export class UploadLedger {
  readonly results: Array<SendResult & { userId: number }> = [];

  record(userId: number, result: SendResult): SendResult {
    this.results.push({ ...result, userId });
    return result;
  }

  get accepted(): Array<{ uploadId: string; userId: number }> {
    return this.results.flatMap((r) => (r.kind === 'accepted' ? [{ uploadId: r.uploadId, userId: r.userId }] : []));
  }

  get refused(): Array<{ status: number; code: string; ms: number }> {
    return this.results.flatMap((r) => (r.kind === 'refused' ? [r] : []));
  }

  count(kind: SendResult['kind']): number {
    return this.results.filter((r) => r.kind === kind).length;
  }

  /** Status of every accepted upload, read from `uploads` (a missing row counts as `missing`). */
  async statuses(db: Db): Promise<Map<string, string>> {
    const ids = this.accepted.map((a) => a.uploadId);
    const rows: Array<{ id: string; status: string }> = ids.length ? await db('uploads').whereIn('id', ids).select('id', 'status') : [];
    const byId = new Map(rows.map((r) => [r.id, r.status]));
    return new Map(ids.map((id) => [id, byId.get(id) ?? 'missing']));
  }

  /** Waits until every accepted upload is terminal (or the time is up) and returns the figures. */
  async settle(db: Db, timeoutMs: number): Promise<Figures> {
    await waitFor('every accepted upload to be terminal', timeoutMs, async () => {
      const statuses = await this.statuses(db);
      return [...statuses.values()].every(isTerminal);
    }, 500).catch(() => undefined);
    return this.figures(db);
  }

  async figures(db: Db): Promise<Figures> {
    const statuses = [...(await this.statuses(db)).values()];
    const by = (s: string): number => statuses.filter((x) => x === s).length;
    const finished = statuses.filter(isTerminal).length;
    return {
      sent: this.results.length,
      accepted: statuses.length,
      refused: this.count('refused'),
      noAnswer: this.count('no_answer'),
      hung: this.count('hung'),
      finished,
      done: by('done'),
      superseded: by('superseded'),
      failed: by('failed'),
      lost: statuses.length - finished,
    };
  }
}

export interface Figures {
  sent: number;
  accepted: number;
  refused: number;
  noAnswer: number;
  hung: number;
  finished: number;
  done: number;
  superseded: number;
  failed: number;
  lost: number;
}

function isTerminal(status: string): boolean {
  return status === 'done' || status === 'failed' || status === 'superseded';
}

/** The compact line the issue's closing note asks for, printed by each fault test. */
export function printFigures(fault: string, f: Figures, extra = ''): void {
  process.stdout.write(
    `[fault] ${fault}: sent ${f.sent}, accepted ${f.accepted}, refused ${f.refused}, no answer ${f.noAnswer}, hung ${f.hung}; ` +
      `finished ${f.finished} (done ${f.done}, superseded ${f.superseded}, failed ${f.failed}), lost ${f.lost}${extra ? `; ${extra}` : ''}\n`,
  );
}

export interface BatchOptions {
  total: number;
  /** parallel clients */
  clients?: number;
  /** pause each client takes between uploads, so the batch spans the fault */
  pauseMs?: number;
  userOf: (index: number) => number;
}

/** Sends `total` uploads from a few parallel clients into `ledger`; resolves when all have an answer. */
export async function sendBatch(apiUrl: () => string, token: (userId: number) => string, ledger: UploadLedger, images: Buffer[], options: BatchOptions): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: options.clients ?? 3 }, async () => {
      while (next < options.total) {
        const i = next++;
        const userId = options.userOf(i);
        ledger.record(userId, await sendUpload(apiUrl(), userId, token(userId), images[i % images.length] as Buffer));
        if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    }),
  );
}

/** How many `retrying` events the uploads have, and the failure codes they carry. */
export async function retryingEvents(db: Db): Promise<{ count: number; codes: Set<string> }> {
  const rows: Array<{ code: string | null }> = await db('upload_events').where({ type: 'retrying' }).select(db.raw("data->>'code' as code"));
  return { count: rows.length, codes: new Set(rows.map((r) => r.code ?? '')) };
}
