// The Redis registry against Debian's redis-server, single and as a Redis Cluster (3 masters + 3
// replicas on loopback): joins see each other's registrations, one script call (one round trip)
// per join, a content's keys in one hash slot, expiry trimmed lazily, and an unreachable Redis is a
// clear error that clears once Redis is back, never a crash or an empty answer.
import { afterAll, describe, expect, it } from 'vitest';
import { RedisRegistry, contentKeys } from '../../src/tracker/redis-registry.js';
import { parseRegistryUrl, type RedisTarget } from '../../src/tracker/registry-url.js';
import type { JoinQuery } from '../../src/tracker/registry-port.js';
import { createLogger } from '../../src/platform/logger.js';
import { startRedis, startRedisCluster, type RedisSetup } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const log = createLogger('silent');
const setups: RedisSetup[] = [];
const registries: RedisRegistry[] = [];
afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  await Promise.all(setups.map((s) => s.stop()));
});

function q(contentId: string, peerId: string, now: number, over: Partial<JoinQuery> = {}): JoinQuery {
  return { contentId, peerId, contact: { host: '10.1.2.3', port: 7000 + (peerId.length % 100) }, now, ttlMs: 60_000, sample: 31, redirectThreshold: 0, maxPartners: 8, ...over };
}

async function open(url: string): Promise<RedisRegistry> {
  const r = new RedisRegistry(parseRegistryUrl(url) as RedisTarget, log);
  registries.push(r);
  await r.start();
  return r;
}

async function exercise(url: string, s: RedisSetup): Promise<void> {
  const a = await open(url);
  const b = await open(url);
  const now = Date.now();
  for (let i = 0; i < 40; i++) await (i % 2 ? a : b).join(q('chan{1}', `p${i}`, now));
  const before = a.stats().commands ?? 0;
  const r = await a.join(q('chan{1}', 'me', now));
  expect((a.stats().commands ?? 0) - before).toBe(1);
  expect(r.others).toBe(40);
  expect(r.members.length).toBe(40);
  expect(new Set(r.members.map((m) => m.peerId)).size).toBe(40);
  expect(r.members.map((m) => m.peerId)).not.toContain('me');
  // A Membership through the other front end updates what the first one hands out.
  await b.announce({ peerId: 'p3', contact: { host: '10.9.9.9', port: 1 }, seq: 5, partnerCount: 3, reachability: 'public', contents: ['chan{1}'], now, ttlMs: 60_000 });
  const r2 = await a.join(q('chan{1}', 'me2', now, { redirectThreshold: 8 }));
  expect(r2.members.find((m) => m.peerId === 'p3')).toMatchObject({ partnerCount: 3, reachability: 'public', contact: { host: '10.9.9.9', port: 1 } });
  expect(r2.deputy?.peerId).toBe('p3'); // the only member with partners and room
  // A re-join keeps what the Membership told, and takes the new contact.
  await a.join(q('chan{1}', 'p3', now, { contact: { host: '10.9.9.8', port: 2 } }));
  expect((await b.members('chan{1}', now, 100)).find((m) => m.peerId === 'p3')).toMatchObject({ partnerCount: 3, contact: { host: '10.9.9.8', port: 2 } });
  await b.leave('chan{1}', 'p0');
  expect((await a.members('chan{1}', now, 100)).map((m) => m.peerId)).not.toContain('p0');
  // Expired members are neither handed out nor kept: the next write trims them.
  await a.join(q('old', 'gone', now - 120_000));
  const fresh = await a.join(q('old', 'new', now));
  expect(fresh.members).toEqual([]);
  const [z] = contentKeys('old');
  const port = s.nodes[0]!.port;
  const card = s.url.startsWith('redis-cluster') ? s.cli(port, '-c', 'ZCARD', z) : s.cli(port, 'ZCARD', z);
  expect(card.trim()).toBe('1');
  // The sampling is random and server-side: a big channel answers 62 of its members.
  for (let i = 0; i < 300; i++) void b.join(q('big', `b${i}`, now));
  await b.join(q('big', 'last', now));
  const big = await a.join(q('big', 'x', now));
  expect(big.members.length).toBe(62);
}

describe('tracker registry on Redis', () => {
  it('single server: shared by two front ends, one round trip per join, expiry trimmed lazily', async () => {
    const s = await startRedis();
    setups.push(s);
    await exercise(s.url, s);
  }, 60_000);

  it('Redis Cluster: the same, with every content\'s two keys in one hash slot', async () => {
    const s = await startRedisCluster();
    setups.push(s);
    const [z, h] = contentKeys('news{x}%');
    expect(z).toBe('sd:{news%7Bx%7D%25}:z');
    expect(s.cli(s.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', z)).toBe(s.cli(s.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', h));
    await exercise(s.url, s);
  }, 90_000);

  it('unreachable at start: a clear error per join, then answers once Redis is up', async () => {
    const s = await startRedis();
    setups.push(s);
    const port = s.nodes[0]!.port;
    await s.stop();
    const r = await open(`redis://127.0.0.1:${port}`);
    expect(r.stats().reachable).toBe(false);
    expect(r.stats().lastError).toMatch(/ECONNREFUSED|connect/i);
    await expect(r.join(q('c', 'a', Date.now()))).rejects.toThrow(new RegExp(`Redis registry at redis://127.0.0.1:${port}: .+`));
    const again = await startRedisOn(port);
    setups.push(again);
    await waitFor('the registry to reconnect', 20_000, () => r.stats().reachable);
    expect((await r.join(q('c', 'a', Date.now()))).others).toBe(0);
  }, 60_000);
});

async function startRedisOn(port: number): Promise<RedisSetup> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'sd-redis-again-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''], { stdio: 'ignore' });
  return {
    nodes: [{ port, proc, dir }],
    url: `redis://127.0.0.1:${port}`,
    cli: () => '',
    kill: () => proc.kill('SIGKILL'),
    stop: async () => {
      if (proc.exitCode === null) await new Promise((r) => { proc.once('exit', r); proc.kill('SIGKILL'); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
