import { lookup } from 'node:dns/promises';
import { isIP, isIPv4 } from 'node:net';
import { resolve } from 'node:path';
import { isValidGroup } from '../codec/field-rules.js';
import { invalidArgument } from '../errors/fastdfs-error.js';
import type { IpFieldSize } from '../protocol/sizes.js';
import { DiskStore } from './disk-store.js';
import { HttpServer } from './http-server.js';
import { type StorageControl, StorageNode } from './storage-node.js';
import { StorageServer } from './storage-server.js';
import { StorageStatus } from './storage-status.js';
import { TrackerServer } from './tracker-server.js';

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
  /** Stop, kill, freeze or restart the storage server alone; the tracker sees it as the real one would. */
  storage: StorageControl;
  /** Connections accepted so far by each server (pooling is visible here). */
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

/**
 * Starts a tracker, a storage server and an HTTP reader that speak FastDFS 6.x's
 * protocol on loopback, storing files under `dataDir` as a real storage server would.
 * Meant for development and tests on machines without FastDFS. `storage` stops, kills,
 * freezes and restarts the storage server alone, for fault tests.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const host = options.host ?? '127.0.0.1';
  const group = options.group ?? 'group1';
  const ipFieldSize: IpFieldSize = options.ipFieldSize ?? 15;
  if (!isValidGroup(group)) throw invalidArgument(`invalid group name ${JSON.stringify(group)}`);
  if (ipFieldSize !== 15 && ipFieldSize !== 45) throw invalidArgument(`ipFieldSize must be 15 or 45, got ${String(ipFieldSize)}`);
  if (typeof options.dataDir !== 'string' || options.dataDir === '') throw invalidArgument('dataDir is required');
  const ports = {
    tracker: checkPort('trackerPort', options.trackerPort),
    storage: checkPort('storagePort', options.storagePort),
    http: checkPort('httpPort', options.httpPort),
  };
  const heartbeatIntervalMs = checkInterval('heartbeatIntervalMs', options.heartbeatIntervalMs, 5_000);
  const checkActiveIntervalMs = checkInterval('checkActiveIntervalMs', options.checkActiveIntervalMs, 120_000);

  const dataDir = resolve(options.dataDir);
  const store = new DiskStore(dataDir);
  await store.init();
  const address = await reachableAddress(host);

  const storageStatus = new StorageStatus({ checkActiveIntervalMs });
  const storage = new StorageServer({ group, sourceIp: isIPv4(address) ? address : '127.0.0.1', ipFieldSize, store });
  const node = new StorageNode({ server: storage, status: storageStatus, host, heartbeatIntervalMs });
  const tracker = new TrackerServer({ group, storageIp: address, storagePort: () => node.port, ipFieldSize, storageStatus });
  const http = new HttpServer({ group, store });

  const started: Array<{ close(): Promise<void> }> = [{ close: async () => storageStatus.close() }];
  try {
    const storagePort = await node.listen(ports.storage);
    started.push(node);
    const trackerPort = await tracker.frames.listen(host, ports.tracker);
    started.push(tracker.frames);
    const httpPort = await http.listen(host, ports.http);
    started.push(http);

    let closing: Promise<void> | undefined;
    return {
      host,
      trackerPort,
      storagePort,
      httpPort,
      group,
      trackers: hostPort(address, trackerPort),
      publicUrl: `http://${hostPort(address, httpPort)}/`,
      dataDir,
      storage: node,
      connections: () => ({ tracker: tracker.frames.accepted, storage: storage.frames.accepted, http: http.accepted }),
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
