import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type TestRedisCluster } from '@avatar/shared/testing';
import { postAvatarText, waitForTerminal, type TextResponse } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { expectProblem } from './support/problem.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

// The whole product on three real redis-server masters in cluster mode (REDIS_CLUSTER_NODES).
let cluster: TestRedisCluster;
let system: TestSystem;
let jpeg: Buffer;

beforeAll(async () => {
  cluster = await startRedisCluster();
  system = await startTestSystem({ env: { REDIS_CLUSTER_NODES: cluster.nodes, RATE_LIMIT_UPLOADS_PER_USER: '3' } });
  jpeg = await solidJpeg(48, 48, { r: 30, g: 160, b: 90 });
}, 60_000);
afterAll(async () => {
  await system?.close();
  await cluster?.close();
});

async function accepted(response: TextResponse): Promise<string> {
  expect(response.status, response.text).toBe(202);
  return (JSON.parse(response.text) as { uploadId: string }).uploadId;
}

/** Every key on every node whose name starts with `prefix`, by node port. */
async function keysByNode(prefix: string): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  for (const port of cluster.ports) {
    const out = await cluster.cli(port, '--scan', '--pattern', `${prefix}*`);
    found.set(port, out.split('\n').filter(Boolean));
  }
  return found;
}

describe('on a Redis Cluster', () => {
  it('takes an upload end to end to done', async () => {
    const id = await accepted(await postAvatarText(system.url, 1, system.token(1), jpeg));
    const final = await waitForTerminal(system.url, id, system.token(1));
    expect(final.status).toBe('done');
    expect(final.variants.length).toBeGreaterThan(0);
  });

  it('keeps BullMQ keys under the hash-tagged prefix, all in one slot on one node, and none on the single server', async () => {
    const prefix = system.config.redis.prefix;
    expect(prefix).toMatch(/^\{avatar-test-[^{}]+\}$/);
    const byNode = await keysByNode(prefix);
    const keys = [...byNode.values()].flat();
    expect(keys.some((key) => key.startsWith(`${prefix}:avatar-process:`))).toBe(true);
    expect([...byNode.values()].filter((onNode) => onNode.length > 0)).toHaveLength(1);
    const slot = (await cluster.cli(cluster.ports[0]!, 'cluster', 'keyslot', prefix.slice(1, -1))).trim();
    for (const key of keys) expect((await cluster.cli(cluster.ports[0]!, 'cluster', 'keyslot', key)).trim()).toBe(slot);

    const single = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    try {
      const [, onSingle] = await single.scan('0', 'MATCH', `*${prefix.slice(1, -1)}*`, 'COUNT', 10_000);
      expect(onSingle).toEqual([]);
    } finally {
      single.disconnect();
    }
  });

  it('replays an idempotent upload: same id, replayed', async () => {
    const key = `k-${randomUUID()}`;
    const first = await postAvatarText(system.url, 2, system.token(2), jpeg, { headers: { 'idempotency-key': key } });
    const id = await accepted(first);
    expect(first.headers.get('idempotent-replayed')).toBe('false');
    const again = await postAvatarText(system.url, 2, system.token(2), jpeg, { headers: { 'idempotency-key': key } });
    expect(await accepted(again)).toBe(id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it("answers a user's 4th upload in a minute with 429, counting in the cluster", async () => {
    for (let i = 0; i < 3; i++) await accepted(await postAvatarText(system.url, 3, system.token(3), jpeg));
    const refused = await postAvatarText(system.url, 3, system.token(3), jpeg);
    expectProblem({ status: refused.status, contentType: refused.contentType, text: refused.text }, 429, 'rate_limited');
    const counters = [...(await keysByNode(`${system.config.redis.prefix}:rate-limit:`)).values()].flat();
    expect(counters.some((key) => key.includes('user:3'))).toBe(true);
  });
});
