// The tracker's registry port: who holds which content, until when. Two implementations: in memory
// (memory-registry.ts, the embedded default, one process) and Redis (redis-registry.ts, a single
// server or a Redis Cluster shared by several tracker front ends). Every operation costs O(answer
// size): no operation copies or scans a content's whole member set, and expiry never sweeps the
// whole registry. The in-memory registry answers synchronously; Redis answers with a promise.
import type { Contact, Reachability } from '../protocol/messages.js';

export type MaybePromise<T> = T | Promise<T>;

/** One registered peer as the registry hands it out. */
export interface RegistryEntry {
  peerId: string;
  contact: Contact;
  /** Seq of the last Membership seen (0 while only a join is known). */
  seq: number;
  partnerCount: number;
  reachability: Reachability;
  /** The registry forgets the peer at this time unless refreshed (ms, the tracker's clock). */
  expiresAt: number;
}

/** A join: register the joiner, answer with a random subset of the others and maybe a deputy. */
export interface JoinQuery {
  contentId: string;
  peerId: string;
  contact: Contact;
  now: number;
  /** The registration lasts this long unless refreshed. */
  ttlMs: number;
  /** How many members the answer lists: the registry hands back a random subset of about twice as many (or all, for a small content) to rank. */
  sample: number;
  /** Pick a deputy (a member with room for partners, dialable) when the content has this many other members; 0: never. */
  redirectThreshold: number;
  maxPartners: number;
}

export interface JoinResult {
  /** Other members the content had before this join (may count a few not yet trimmed). */
  others: number;
  /** Random live members other than the joiner (read-only: the caller ranks and copies them). */
  members: readonly RegistryEntry[];
  /** Set when the threshold was reached and a member qualifies. */
  deputy?: RegistryEntry;
}

/** A Membership the peer sent itself: refreshes its entry for every content it lists. */
export interface AnnounceQuery {
  peerId: string;
  contact: Contact;
  seq: number;
  partnerCount: number;
  reachability: Reachability;
  contents: string[];
  now: number;
  ttlMs: number;
}

export interface RegistryStats {
  backend: string;
  /** Registered peers (memory: exact; Redis: summed over contents this front end saw, approximate). */
  peers: number;
  /** Whether the backing store answers (always true in memory). */
  reachable: boolean;
  /** The last failure talking to the backing store, if any. */
  lastError?: string;
  /** Redis commands sent per join (Redis only), for the benchmark and the operator. */
  commands?: number;
}

export interface RegistryPort {
  /** 'memory', 'redis' or 'redis-cluster'. */
  readonly backend: string;
  join(q: JoinQuery): MaybePromise<JoinResult>;
  /** Returns whether the peer is registered for at least one content afterwards. */
  announce(q: AnnounceQuery): MaybePromise<boolean>;
  leave(contentId: string, peerId: string): MaybePromise<void>;
  /** Live members of one content, at most `limit` (control API, tests). */
  members(contentId: string, now: number, limit: number): MaybePromise<RegistryEntry[]>;
  /** Live member count of a content (approximate between trims). */
  memberCount(contentId: string): number;
  /** Time-based upkeep (memory: expire due time buckets). Cheap; called every tick. */
  expire(now: number): void;
  stats(): RegistryStats;
  close(): Promise<void>;
}

/** A join's answer is ranked out of this many times `sample` random members... */
export const CANDIDATE_FACTOR = 2;
/** ...and of at least this many (a small content: all of its members). */
export const MIN_CANDIDATES = 32;

/** How many random members a registry hands back for a join that lists `sample`. */
export function candidatesFor(sample: number): number {
  return sample <= 0 ? 0 : Math.max(MIN_CANDIDATES, sample * CANDIDATE_FACTOR);
}

/** Calls `ok` with the value now (synchronous registry) or when the promise settles. */
export function settle<T>(v: MaybePromise<T>, ok: (t: T) => void, fail: (err: unknown) => void): void {
  if (v instanceof Promise) {
    v.then(ok, fail);
    return;
  }
  ok(v);
}
