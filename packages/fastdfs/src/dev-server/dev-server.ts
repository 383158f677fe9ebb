import { lookup } from 'node:dns/promises';
import { isIP, isIPv4 } from 'node:net';
import { join, resolve } from 'node:path';
import { isValidGroup } from '../codec/field-rules.js';
import { invalidArgument } from '../errors/fastdfs-error.js';
import type { IpFieldSize } from '../protocol/sizes.js';
import { DiskStore } from './disk-store.js';
import { HttpServer } from './http-server.js';
import { type StorageControl, StorageNode } from './storage-node.js';
import { StorageServer } from './storage-server.js';
import { StorageRoster } from './storage-roster.js';
import { StorageStatus } from './storage-status.js';
import { TrackerServer } from './tracker-server.js';

/** What `startDevServer` uses for the options it is not given (ports: 0, any free one). */
export const DEV_SERVER_DEFAULTS = {
  host: '127.0.0.1',
  group: 'group1',
  ipFieldSize: 15,
  heartbeatIntervalMs: 5_000,
  checkActiveIntervalMs: 120_000,
} as const;

export interface DevServerOptions {
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Ports; 0 or omitted picks a free one. */
  trackerPort?: number;
  storagePort?: number;
  httpPort?: number;
  /** The store path: files go to `<dataDir>/data/XX/YY/…`. */
  dataDir: string;
  /** Default `group1`. */
  group?: string;
  /**
   * Several storage servers, e.g. `[{ group: 'group1' }, { group: 'group1' }, { group: 'group2' }]`;
   * default one in `group`. The first stores under `dataDir` (on `storagePort` unless it names a
   * port), each other under `<dataDir>/storage-<n>` (n from 2). See `StorageRoster` for how the
   * tracker chooses among them.
   */
  storages?: DevStorageOptions[];
  /** Size of IP fields in tracker answers: 15 (default) or 45, as an IPv6-configured tracker sends. */
  ipFieldSize?: 15 | 45;
  /** How often the storage server beats to the tracker; default 5,000 (the real test config's `heart_beat_interval`). */
  heartbeatIntervalMs?: number;
  /**
   * The tracker's heartbeat check: a storage silent this long is marked OFFLINE; default
   * 120,000, the real tracker's `check_active_interval`. Only a frozen storage is found this way.
   */
  checkActiveIntervalMs?: number;
}

export interface DevStorageOptions {
  /** Default: the server's `group`. */
  group?: string;
  /** 0 or omitted picks a free one. */
  port?: number;
}

/** One storage server of a dev server. */
export interface DevStorage {
  group: string;
  port: number;
  /** Its store path: files go to `<dataDir>/data/XX/YY/…`. */
  dataDir: string;
  control: StorageControl;
}

export interface DevServerConnections {
  tracker: number;
  storage: number;
  http: number;
}

export interface DevServer {
  host: string;
  trackerPort: number;
  storagePort: number;
  httpPort: number;
  group: string;
  /** `"127.0.0.1:port"`, ready for `FastdfsClientOptions.trackers`. */
  trackers: string;
  /** `"http://127.0.0.1:port/"`: prefix a file id to get its URL. */
  publicUrl: string;
  dataDir: string;
  /** Stop, kill, freeze or restart the (first) storage server alone; the tracker sees it as the real one would. */
  storage: StorageControl;
  /** Every storage server, in the order configured; the first is `storage`. */
  storages: DevStorage[];
  /** Connections accepted so far by each server, storages summed (pooling is visible here). */
  connections(): DevServerConnections;
  close(): Promise<void>;
}

function checkPort(name: string, port: number | undefined): number {
  const value = port ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw invalidArgument(`${name} must be an integer from 0 to 65535, got ${String(port)}`);
  return value;
}

function checkInterval(name: string, value: number | undefined, fallback: number): number {
  const interval = value ?? fallback;
  if (!Number.isInteger(interval) || interval <= 0) throw invalidArgument(`${name} must be a positive integer of milliseconds, got ${String(value)}`);
  return interval;
}

/** The address clients are told to use: the listening IP, or loopback when listening on all. */
async function reachableAddress(host: string): Promise<string> {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  if (isIP(host) !== 0) return host;
  return (await lookup(host, { family: 4 })).address;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Everything one storage server is made of, before it listens. */
interface StorageParts {
  group: string;
  requestedPort: number;
  dataDir: string;
  store: DiskStore;
  status: StorageStatus;
  server: StorageServer;
  node: StorageNode;
}

/**
 * Starts a tracker, one or more storage servers and an HTTP reader that speak FastDFS 6.x's
 * protocol on loopback, storing files under `dataDir` as a real storage server would.
 * Meant for development and tests on machines without FastDFS. `storage` (and each of
 * `storages`) stops, kills, freezes and restarts a storage server alone, for fault tests.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const host = options.host ?? DEV_SERVER_DEFAULTS.host;
  const defaultGroup = options.group ?? DEV_SERVER_DEFAULTS.group;
  const ipFieldSize: IpFieldSize = options.ipFieldSize ?? DEV_SERVER_DEFAULTS.ipFieldSize;
  if (ipFieldSize !== 15 && ipFieldSize !== 45) throw invalidArgument(`ipFieldSize must be 15 or 45, got ${String(ipFieldSize)}`);
  if (typeof options.dataDir !== 'string' || options.dataDir === '') throw invalidArgument('dataDir is required');
  const wanted = options.storages ?? [{}];
  if (wanted.length === 0) throw invalidArgument('storages must name at least one storage server');
  const ports = {
    tracker: checkPort('trackerPort', options.trackerPort),
    http: checkPort('httpPort', options.httpPort),
  };
  const heartbeatIntervalMs = checkInterval('heartbeatIntervalMs', options.heartbeatIntervalMs, DEV_SERVER_DEFAULTS.heartbeatIntervalMs);
  const checkActiveIntervalMs = checkInterval('checkActiveIntervalMs', options.checkActiveIntervalMs, DEV_SERVER_DEFAULTS.checkActiveIntervalMs);

  const dataDir = resolve(options.dataDir);
  const address = await reachableAddress(host);
  const sourceIp = isIPv4(address) ? address : '127.0.0.1';
  const parts: StorageParts[] = [];
  for (const [index, entry] of wanted.entries()) {
    const group = entry.group ?? defaultGroup;
    if (!isValidGroup(group)) throw invalidArgument(`invalid group name ${JSON.stringify(group)}`);
    const requestedPort = index === 0 ? checkPort('storagePort', entry.port ?? options.storagePort) : checkPort(`storages[${index}].port`, entry.port);
    const storeDir = index === 0 ? dataDir : join(dataDir, `storage-${index + 1}`);
    const store = new DiskStore(storeDir);
    await store.init();
    const status = new StorageStatus({ checkActiveIntervalMs });
    const server = new StorageServer({ group, sourceIp, ipFieldSize, store });
    const node = new StorageNode({ server, status, host, heartbeatIntervalMs });
    parts.push({ group, requestedPort, dataDir: storeDir, store, status, server, node });
  }
  const [first] = parts;
  if (first === undefined) throw invalidArgument('storages must name at least one storage server');

  const roster = new StorageRoster(parts.map(({ group, node, status, store }) => ({ group, port: () => node.port, status, store })));
  const tracker = new TrackerServer({ storageIp: address, ipFieldSize, roster });
  const http = new HttpServer({ storesOf: (group) => parts.filter((part) => part.group === group).map((part) => part.store) });

  const started: Array<{ close(): Promise<void> }> = parts.map(({ status }) => ({ close: async () => status.close() }));
  try {
    for (const part of parts) {
      await part.node.listen(part.requestedPort);
      started.push(part.node);
    }
    const trackerPort = await tracker.frames.listen(host, ports.tracker);
    started.push(tracker.frames);
    const httpPort = await http.listen(host, ports.http);
    started.push(http);

    let closing: Promise<void> | undefined;
    return {
      host,
      trackerPort,
      storagePort: first.node.port,
      httpPort,
      group: first.group,
      trackers: hostPort(address, trackerPort),
      publicUrl: `http://${hostPort(address, httpPort)}/`,
      dataDir,
      storage: first.node,
      storages: parts.map((part) => ({ group: part.group, port: part.node.port, dataDir: part.dataDir, control: part.node })),
      connections: () => ({
        tracker: tracker.frames.accepted,
        storage: parts.reduce((sum, part) => sum + part.server.frames.accepted, 0),
        http: http.accepted,
      }),
      close: () => {
        closing ??= Promise.all(started.map((server) => server.close())).then(() => undefined);
        return closing;
      },
    };
  } catch (error) {
    await Promise.all(started.map((server) => server.close()));
    throw error;
  }
}
