// The Redis registry: several tracker front ends share one Redis (a single server or a Redis
// Cluster) and any of them answers any join. Per content a sorted set of member ids scored by expiry
// and a hash of their records, both hash-tagged {content} into one slot (redis-scripts.ts); a join,
// an announce or a leave is one script call, so one round trip (EVALSHA, EVAL once per server when
// the script is not loaded yet). Expired members are trimmed lazily by the scripts; nothing scans
// the keyspace. An unreachable Redis is retried in the background and logged; meanwhile joins fail
// (the tracker answers 'overloaded' and boxes ask again), never a crash or an empty answer.
import { createClient, createCluster } from 'redis';
import { createHash } from 'node:crypto';
import type { Reachability } from '../protocol/messages.js';
import type { Logger } from '../platform/logger.js';
import { candidatesFor, type AnnounceQuery, type JoinQuery, type JoinResult, type RegistryEntry, type RegistryPort, type RegistryStats } from './registry-port.js';
import type { RedisTarget } from './registry-url.js';
import { ANNOUNCE_SCRIPT, JOIN_SCRIPT, LEAVE_SCRIPT, MEMBERS_SCRIPT } from './redis-scripts.js';

/** A command not answered within this long fails (the box asks again). */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;
/** Reconnect delay bounds (ms). */
const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 2000;
/** Socket options of every connection: bounded connect time, reconnects every 0.2-2 s. */
const SOCKET = {
  connectTimeout: REDIS_COMMAND_TIMEOUT_MS,
  reconnectStrategy: (retries: number) => Math.min(RECONNECT_MIN_MS * (retries + 1), RECONNECT_MAX_MS),
};
/** An unreachable Redis is logged at most this often. */
const UNREACHABLE_LOG_MS = 30_000;

/** The key of a content's sorted set and hash: its id escaped so that only our braces form the hash tag. */
export function contentKeys(contentId: string): [string, string] {
  const tag = contentId.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return [`sd:{${tag}}:z`, `sd:{${tag}}:h`];
}

type Send = (firstKey: string, args: string[]) => Promise<unknown>;

interface Script {
  text: string;
  sha: string;
}

const script = (text: string): Script => ({ text, sha: createHash('sha1').update(text).digest('hex') });
const JOIN = script(JOIN_SCRIPT);
const ANNOUNCE = script(ANNOUNCE_SCRIPT);
const LEAVE = script(LEAVE_SCRIPT);
const MEMBERS = script(MEMBERS_SCRIPT);

const REACHABILITIES: readonly Reachability[] = ['public', 'mapped', 'nat'];

export class RedisRegistry implements RegistryPort {
  readonly backend: 'redis' | 'redis-cluster';
  private send: Send | undefined;
  private closeClient: (() => Promise<void>) | undefined;
  private reachable = false;
  private lastError: string | undefined;
  private lastLoggedAt = -Infinity;
  private closed = false;
  private commands = 0;
  /** Last member count seen per content (status, redirect decisions are made by the script). */
  private readonly counts = new Map<string, number>();
  private readonly where: string;

  constructor(private readonly target: RedisTarget, private readonly log: Logger) {
    this.backend = target.kind;
    this.where = target.urls.map((u) => u.replace(/\/\/[^@]*@/, '//')).join(',');
  }

  /** Starts connecting; resolves once connected or after the first failure (retries go on). */
  start(): Promise<void> {
    return new Promise((resolve) => {
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      if (this.target.kind === 'redis') this.startSingle(done);
      else void this.clusterLoop(done);
    });
  }

  join(q: JoinQuery): Promise<JoinResult> {
    const [z, h] = contentKeys(q.contentId);
    const args = [String(q.now), String(q.now + q.ttlMs), q.peerId, String(q.contact.port), q.contact.host, String(candidatesFor(q.sample)), String(q.redirectThreshold), String(q.maxPartners)];
    return this.evalScript(JOIN, z, h, args).then((raw) => {
      const out = raw as Array<string | number>;
      const others = Number(out[0]);
      const deputyIndex = Number(out[1]);
      const members: RegistryEntry[] = [];
      for (let i = 2; i + 2 < out.length; i += 3) {
        const e = parseRecord(String(out[i]), String(out[i + 1]), Number(out[i + 2]));
        if (e) members.push(e);
      }
      this.counts.set(q.contentId, others + 1);
      const deputy = deputyIndex > 0 ? members[deputyIndex - 1] : undefined;
      return { others, members, ...(deputy ? { deputy } : {}) };
    });
  }

  async announce(q: AnnounceQuery): Promise<boolean> {
    if (q.contents.length === 0) return false;
    const pc = Number.isFinite(q.partnerCount) && q.partnerCount >= 0 ? Math.floor(q.partnerCount) : 0;
    const reach = REACHABILITIES.find((r) => r === q.reachability) ?? 'unknown';
    const rec = `${q.seq}|${pc}|${reach}|${q.contact.port}|${q.contact.host}`;
    // One script per content, all sent at once (auto-pipelined; one round trip per Redis node).
    await Promise.all(q.contents.map((c) => {
      const [z, h] = contentKeys(c);
      return this.evalScript(ANNOUNCE, z, h, [String(q.now), String(q.now + q.ttlMs), q.peerId, rec]);
    }));
    return true;
  }

  async leave(contentId: string, peerId: string): Promise<void> {
    const [z, h] = contentKeys(contentId);
    await this.evalScript(LEAVE, z, h, [String(Date.now()), peerId]);
  }

  async members(contentId: string, now: number, limit: number): Promise<RegistryEntry[]> {
    const [z, h] = contentKeys(contentId);
    const out = (await this.evalScript(MEMBERS, z, h, [String(now), String(Math.max(1, Math.min(limit, 100_000)))])) as string[];
    const members: RegistryEntry[] = [];
    for (let i = 0; i + 2 < out.length; i += 3) {
      const e = parseRecord(String(out[i]), String(out[i + 1]), Number(out[i + 2]));
      if (e) members.push(e);
    }
    this.counts.set(contentId, members.length);
    return members;
  }

  memberCount(contentId: string): number {
    return this.counts.get(contentId) ?? 0;
  }

  expire(): void {
    // The scripts trim expired members of the contents they touch; nothing else to do.
  }

  stats(): RegistryStats {
    let peers = 0;
    for (const n of this.counts.values()) peers += n;
    return { backend: this.backend, peers, reachable: this.reachable, commands: this.commands, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.closeClient?.().catch(() => undefined);
  }

  // ---- connection ------------------------------------------------------------------------------

  /** One server: node-redis reconnects by itself; commands fail at once while it is away. */
  private startSingle(firstAttemptDone: () => void): void {
    const client = createClient({ url: this.target.urls[0], disableOfflineQueue: true, socket: SOCKET });
    this.watch(client, firstAttemptDone);
    this.send = (_key, args) => client.sendCommand(args);
    this.closeClient = async () => client.destroy();
    client.connect().catch((err: unknown) => this.failed(err));
  }

  /** A cluster: its topology must be read from a seed node first; retried until it is. */
  private async clusterLoop(firstAttemptDone: () => void): Promise<void> {
    let delay = RECONNECT_MIN_MS;
    while (!this.closed) {
      const cluster = createCluster({
        rootNodes: this.target.urls.map((url) => ({ url })),
        defaults: { disableOfflineQueue: true, socket: SOCKET },
      });
      try {
        await cluster.connect();
        this.watch(cluster, firstAttemptDone);
        this.send = (key, args) => cluster.sendCommand(key, false, args);
        this.closeClient = async () => cluster.destroy();
        this.up();
        firstAttemptDone();
        return;
      } catch (err) {
        cluster.destroy();
        this.failed(err);
        firstAttemptDone();
        await new Promise((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, RECONNECT_MAX_MS * 5);
      }
    }
  }

  private up(): void {
    if (this.reachable) return;
    this.reachable = true;
    this.lastError = undefined;
    this.log.info({ registry: this.backend, at: this.where }, `tracker registry: ${this.backend} at ${this.where} reachable`);
  }

  private watch(emitter: { on(event: string, f: (...a: unknown[]) => void): unknown }, firstAttemptDone: () => void): void {
    emitter.on('error', (err) => {
      this.failed(err);
      firstAttemptDone();
    });
    emitter.on('ready', () => {
      this.up();
      firstAttemptDone();
    });
  }

  private failed(err: unknown): void {
    const text = err instanceof Error ? err.message || err.name : String(err);
    this.reachable = false;
    this.lastError = text;
    const now = Date.now();
    if (now - this.lastLoggedAt < UNREACHABLE_LOG_MS) return;
    this.lastLoggedAt = now;
    this.log.error({ registry: this.backend, at: this.where, err: text }, `tracker registry: Redis at ${this.where} unreachable (${text}); retrying, joins are answered 'overloaded' meanwhile`);
  }

  // ---- commands --------------------------------------------------------------------------------

  private async evalScript(s: Script, z: string, h: string, args: string[]): Promise<unknown> {
    const send = this.send;
    if (!send || this.closed) throw new Error(`Redis registry at ${this.where} not connected${this.lastError ? ` (${this.lastError})` : ''}`);
    try {
      const r = await this.timed(send(z, ['EVALSHA', s.sha, '2', z, h, ...args]));
      this.reachable = true;
      return r;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) {
        this.failedCommand(err);
        throw this.named(err);
      }
    }
    // First use of the script on this server: EVAL loads it.
    try {
      return await this.timed(send(z, ['EVAL', s.text, '2', z, h, ...args]));
    } catch (err) {
      this.failedCommand(err);
      throw this.named(err);
    }
  }

  /** The error with where it happened: "Redis registry at redis://...: Client is offline". */
  private named(err: unknown): Error {
    return new Error(`Redis registry at ${this.where}: ${err instanceof Error ? err.message || err.name : String(err)}`);
  }

  private timed<T>(p: Promise<T>): Promise<T> {
    this.commands++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${REDIS_COMMAND_TIMEOUT_MS} ms`)), REDIS_COMMAND_TIMEOUT_MS);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private failedCommand(err: unknown): void {
    const text = err instanceof Error ? err.message : String(err);
    // Script errors are bugs, not reachability; connection trouble flips the status.
    if (/ERR|WRONGTYPE/.test(text) && !/CLUSTERDOWN|TRYAGAIN/.test(text)) {
      this.log.error({ registry: this.backend, err: text }, `tracker registry: Redis refused a command: ${text}`);
      return;
    }
    this.failed(err);
  }
}

function parseRecord(peerId: string, rec: string, expiresAt: number): RegistryEntry | undefined {
  const parts = rec.split('|');
  if (parts.length < 5) return undefined;
  const [seq, pc, reach, port] = parts;
  const host = parts.slice(4).join('|');
  const r = REACHABILITIES.find((x) => x === reach) ?? 'unknown';
  return { peerId, contact: { host, port: Number(port) }, seq: Number(seq) || 0, partnerCount: Number(pc) || 0, reachability: r, expiresAt };
}
