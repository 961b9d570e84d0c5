// Debian's redis-server for tests and benchmarks, on loopback ports in a temp dir: one server, or a
// Redis Cluster of 3 masters + 3 replicas formed with `redis-cli --cluster create`. stop() ends
// every process it started (SIGKILL after a grace) and removes the directory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisNode {
  port: number;
  proc: ChildProcess;
  dir: string;
}

export interface RedisSetup {
  nodes: RedisNode[];
  /** The `registry` setting that reaches it: redis://... or redis-cluster://... */
  url: string;
  /** Runs redis-cli against one node (port) and returns its stdout. */
  cli(port: number, ...args: string[]): string;
  /** SIGKILLs / SIGSTOPs one node (a master dying / hanging). */
  kill(port: number, signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Ports p and p + 10000 (the cluster bus) both free, below 55536. */
async function clusterPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + Math.floor(Math.random() * 30_000);
    const ok = await Promise.all([p, p + 10_000].map((q) => new Promise<boolean>((r) => {
      const s = net.createServer();
      s.once('error', () => r(false));
      s.listen(q, '127.0.0.1', () => s.close(() => r(true)));
    })));
    if (ok.every(Boolean)) return p;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw new Error(`redis-cli could not run (${r.error.message}); Debian package redis-tools`);
  return `${r.stdout}${r.stderr}`;
}

async function ping(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cli(port, 'PING').trim() === 'PONG') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function startServer(root: string, port: number, extra: string[]): RedisNode {
  const dir = join(root, String(port));
  mkdirSync(dir, { recursive: true });
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extra], { stdio: 'ignore' });
  proc.on('error', (e) => {
    throw new Error(`redis-server could not start (${e.message}); Debian package redis-server`);
  });
  return { port, proc, dir };
}

function setup(root: string, nodes: RedisNode[], url: string): RedisSetup {
  return {
    nodes,
    url,
    cli,
    kill(port, signal = 'SIGKILL') {
      nodes.find((n) => n.port === port)?.proc.kill(signal);
    },
    async stop() {
      await Promise.all(nodes.map((n) => new Promise<void>((resolve) => {
        if (n.proc.exitCode !== null || n.proc.signalCode !== null) return resolve();
        n.proc.once('exit', () => resolve());
        n.proc.kill('SIGCONT');
        n.proc.kill('SIGKILL');
      })));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** One redis-server on a free loopback port. */
export async function startRedis(): Promise<RedisSetup> {
  const root = mkdtempSync(join(tmpdir(), 'sd-redis-'));
  const node = startServer(root, await freePort(), []);
  await ping(node.port, 10_000);
  return setup(root, [node], `redis://127.0.0.1:${node.port}`);
}

/** 3 masters + 3 replicas, formed and with every slot covered; nodeTimeoutMs drives failover. */
export async function startRedisCluster(nodeTimeoutMs = 2000): Promise<RedisSetup> {
  const root = mkdtempSync(join(tmpdir(), 'sd-redis-cluster-'));
  const nodes: RedisNode[] = [];
  const s = setup(root, nodes, '');
  try {
    for (let i = 0; i < 6; i++) {
      nodes.push(startServer(root, await clusterPort(), ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeoutMs)]));
    }
    for (const n of nodes) await ping(n.port, 10_000);
    const out = cli(nodes[0]!.port, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes');
    if (!/All 16384 slots covered/.test(out)) throw new Error(`redis-cli --cluster create failed:\n${out}`);
    const until = Date.now() + 20_000;
    while (!nodes.every((n) => /cluster_state:ok/.test(cli(n.port, 'CLUSTER', 'INFO')))) {
      if (Date.now() > until) throw new Error('Redis Cluster did not reach cluster_state:ok within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Replicas that have not finished their first sync cannot take over: wait for every link.
    const linked = (n: RedisNode): boolean => {
      const info = cli(n.port, 'INFO', 'replication');
      return /role:master/.test(info) || /master_link_status:up/.test(info);
    };
    while (!nodes.every(linked)) {
      if (Date.now() > until) throw new Error('Redis Cluster replicas did not finish their first sync within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await s.stop();
    throw err;
  }
  return { ...s, url: `redis-cluster://${nodes.slice(0, 3).map((n) => `127.0.0.1:${n.port}`).join(',')}` };
}

/** Ports of the cluster's current masters. */
export function clusterMasters(s: RedisSetup): number[] {
  const out = s.cli(s.nodes[0]!.port, 'CLUSTER', 'NODES');
  return out.split('\n').filter((l) => /\bmaster\b/.test(l) && !/\bfail\b/.test(l)).map((l) => Number(/:(\d+)@/.exec(l)?.[1])).filter((p) => p > 0);
}
