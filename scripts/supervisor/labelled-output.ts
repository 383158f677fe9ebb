import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { DestinationStream } from '@avatar/shared';

/** Wide enough for every process name, so the columns line up. */
const LABEL_WIDTH = 'supervisor'.length;

/** `api        | `: what goes before each line a process writes. */
export function labelFor(name: string): string {
  return `${name.padEnd(LABEL_WIDTH)} | `;
}

/** Copies `source` to `sink` line by line behind `label`; a pino JSON line stays intact after it. */
export function relayLines(source: Readable, sink: Writable, label: string): void {
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  lines.on('line', (line) => sink.write(`${label}${line}\n`));
}

/** A pino destination that labels the supervisor's own lines like its children's. */
export function labelledDestination(label: string, sink: Writable): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) sink.write(`${label}${line}\n`);
    },
  };
}
