import type { Readable } from 'node:stream';

/** A body received into a file of the API's own, measured on the way; not yet visible to a worker. */
export interface StagedFile {
  path: string;
  sizeBytes: number;
  sha256: string;
  /** The first bytes of the file, for type sniffing. */
  head: Buffer;
}

export interface ReceiveOptions {
  maxBytes: number;
  signal: AbortSignal;
}

/**
 * Staging: where accepted originals wait for the worker. A body is first received into a
 * local file (the header probes need random access to it); only once the probes pass is it
 * `publish`ed where workers can read it, under a reference the upload row records.
 * Backends: `LocalStagingStore` (a disk every API and worker shares) and
 * `FastdfsStagingStore` (no shared disk).
 */
export interface StagingStore {
  init(): Promise<void>;
  /** Streams a body to a local file; a partial file is removed on any failure. */
  receive(source: Readable, options: ReceiveOptions): Promise<StagedFile>;
  /** Removes a received file that was refused before publishing. */
  discard(file: StagedFile): Promise<void>;
  /** Makes a received file readable by workers and returns its reference; the local file is consumed either way. */
  publish(file: StagedFile, signal?: AbortSignal): Promise<string>;
  /** An upload row now names `ref`: from here on, the sweepers find it through the row. */
  recorded(ref: string): Promise<void>;
  /** Whether a staged original is still there (an operator's retry needs it). */
  has(ref: string): Promise<boolean>;
  /** Removes a staged original; one already gone is fine (removal is retried by sweepers). */
  remove(ref: string): Promise<void>;
}
