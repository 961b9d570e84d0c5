// The in-memory registry (the embedded default): per content an array of member records plus an index
// map, so a random member, a random subset and removal (swap with the last) are O(1) each; per peer
// one small record; expiry by time buckets: a refresh files the peer id under the bucket of its new
// expiry, and only buckets whose time is up are visited (stale filings are skipped there). No
// operation walks a content's members or the whole registry.
import type { Reachability } from '../protocol/messages.js';
import type { Random } from '../engine/ports.js';
import { candidatesFor, type AnnounceQuery, type JoinQuery, type JoinResult, type RegistryEntry, type RegistryPort, type RegistryStats } from './registry-port.js';

/** Width of an expiry bucket (ms): peers expire at most this late (answers never list them). */
export const EXPIRY_BUCKET_MS = 1000;
/** Most members a deputy search looks at (round-robin from the content's cursor). */
export const DEPUTY_SCAN = 64;

interface Peer extends RegistryEntry {
  /** Contents the peer is registered for (usually one). */
  contents: string[];
}

interface Members {
  /** The member records themselves (no id lookup on the hot path). */
  ids: Peer[];
  index: Map<string, number>;
  cursor: number;
}

const REACHABILITIES: readonly Reachability[] = ['public', 'mapped', 'nat'];

export class MemoryRegistry implements RegistryPort {
  readonly backend = 'memory';
  private readonly peers = new Map<string, Peer>();
  private readonly byContent = new Map<string, Members>();
  private readonly buckets = new Map<number, string[]>();
  /** The first bucket not yet expired. */
  private nextBucket = -Infinity;

  constructor(private readonly random: Random) {}

  join(q: JoinQuery): JoinResult {
    const m = this.membersOf(q.contentId, true) as Members;
    const others = m.ids.length - (m.index.has(q.peerId) ? 1 : 0);
    const want = Math.max(0, q.sample);
    const candidates = want === 0 ? [] : this.sample(m, Math.min(m.ids.length, candidatesFor(want)), q.now, q.peerId);
    const deputy = q.redirectThreshold > 0 && others >= q.redirectThreshold ? this.deputy(m, q.now, q.peerId, q.maxPartners) : undefined;
    let p = this.peers.get(q.peerId);
    if (!p) {
      p = { peerId: q.peerId, contact: { ...q.contact }, seq: 0, partnerCount: 0, reachability: 'unknown', expiresAt: 0, contents: [] };
      this.peers.set(q.peerId, p);
    } else {
      p.contact = { ...q.contact };
    }
    this.refresh(p, q.now + q.ttlMs);
    this.add(m, p, q.contentId);
    // The entries themselves, not copies: the caller only reads them, before the next call.
    return { others, members: candidates, ...(deputy ? { deputy } : {}) };
  }

  announce(q: AnnounceQuery): boolean {
    let p = this.peers.get(q.peerId);
    if (p && q.seq <= p.seq) return true;
    // The caller lists only contents it knows (its catalogue): they are registered even before any join.
    const listed = new Set(q.contents);
    const known = [...listed];
    if (!p) {
      if (known.length === 0) return false;
      p = { peerId: q.peerId, contact: { ...q.contact }, seq: 0, partnerCount: 0, reachability: 'unknown', expiresAt: 0, contents: [] };
      this.peers.set(q.peerId, p);
    }
    p.seq = q.seq;
    p.contact = { ...q.contact };
    p.partnerCount = Number.isFinite(q.partnerCount) && q.partnerCount >= 0 ? q.partnerCount : 0;
    p.reachability = REACHABILITIES.find((r) => r === q.reachability) ?? 'unknown';
    for (const c of [...p.contents]) if (!listed.has(c)) this.leave(c, p.peerId);
    for (const c of known) this.add(this.membersOf(c, true) as Members, p, c);
    if (p.contents.length === 0) {
      this.peers.delete(p.peerId);
      return false;
    }
    this.refresh(p, q.now + q.ttlMs);
    return true;
  }

  leave(contentId: string, peerId: string): void {
    const m = this.byContent.get(contentId);
    if (m) this.removeId(m, peerId);
    const p = this.peers.get(peerId);
    if (!p) return;
    const i = p.contents.indexOf(contentId);
    if (i >= 0) p.contents.splice(i, 1);
    if (p.contents.length === 0) this.peers.delete(peerId);
  }

  /** Makes a content known with no members (a Membership registers only known contents). */
  ensureContent(contentId: string): void {
    this.membersOf(contentId, true);
  }

  isMember(contentId: string, peerId: string): boolean {
    return this.byContent.get(contentId)?.index.has(peerId) ?? false;
  }

  members(contentId: string, now: number, limit: number): RegistryEntry[] {
    const m = this.byContent.get(contentId);
    if (!m) return [];
    const out: RegistryEntry[] = [];
    for (let i = 0; i < m.ids.length && out.length < limit; i++) {
      const p = m.ids[i] as Peer;
      if (p.expiresAt > now) out.push(copy(p));
    }
    return out;
  }

  memberCount(contentId: string): number {
    return this.byContent.get(contentId)?.ids.length ?? 0;
  }

  expire(now: number): void {
    if (this.nextBucket === -Infinity) return;
    const last = Math.floor(now / EXPIRY_BUCKET_MS);
    for (; this.nextBucket <= last; this.nextBucket++) {
      const ids = this.buckets.get(this.nextBucket);
      if (!ids) continue;
      this.buckets.delete(this.nextBucket);
      for (const id of ids) {
        const p = this.peers.get(id);
        if (!p || p.expiresAt > now) continue;
        for (const c of p.contents) {
          const m = this.byContent.get(c);
          if (m) this.removeId(m, id);
        }
        this.peers.delete(id);
      }
    }
  }

  get peerCount(): number {
    return this.peers.size;
  }

  stats(): RegistryStats {
    return { backend: this.backend, peers: this.peers.size, reachable: true };
  }

  async close(): Promise<void> {}

  // ---- internals -------------------------------------------------------------------------------

  private membersOf(contentId: string, create: boolean): Members | undefined {
    let m = this.byContent.get(contentId);
    if (!m && create) {
      m = { ids: [], index: new Map(), cursor: 0 };
      this.byContent.set(contentId, m);
    }
    return m;
  }

  private add(m: Members, p: Peer, contentId: string): void {
    if (m.index.has(p.peerId)) return;
    m.index.set(p.peerId, m.ids.length);
    m.ids.push(p);
    if (!p.contents.includes(contentId)) p.contents.push(contentId);
  }

  private removeId(m: Members, id: string): void {
    const i = m.index.get(id);
    if (i === undefined) return;
    const last = m.ids.pop() as Peer;
    m.index.delete(id);
    if (i < m.ids.length) {
      m.ids[i] = last;
      m.index.set(last.peerId, i);
    }
  }

  /** Files the peer under the bucket of its new expiry (ceil: a bucket is due once its end passed). */
  private refresh(p: Peer, expiresAt: number): void {
    if (expiresAt <= p.expiresAt) return;
    const oldBucket = Math.ceil(p.expiresAt / EXPIRY_BUCKET_MS);
    p.expiresAt = expiresAt;
    let b = Math.ceil(expiresAt / EXPIRY_BUCKET_MS);
    if (b === oldBucket) return; // already filed there
    if (this.nextBucket === -Infinity) this.nextBucket = b;
    b = Math.max(b, this.nextBucket);
    const list = this.buckets.get(b);
    if (list) list.push(p.peerId);
    else this.buckets.set(b, [p.peerId]);
  }

  /**
   * Up to `n` distinct random live members other than `exclude` (all of them when n >= size): the
   * indices start + k·stride (mod size) with a random start and a random stride coprime with the
   * size, so no draw repeats and nothing but the n entries is touched.
   */
  private sample(m: Members, n: number, now: number, exclude: string): Peer[] {
    const out: Peer[] = [];
    const size = m.ids.length;
    const take = (p: Peer) => {
      if (p.expiresAt > now && p.peerId !== exclude) out.push(p);
    };
    if (n >= size) {
      for (const p of m.ids) take(p);
      return out;
    }
    const start = Math.floor(this.random.next() * size);
    let stride = 1 + Math.floor(this.random.next() * (size - 1));
    while (gcd(stride, size) !== 1) stride = (stride % (size - 1)) + 1;
    for (let k = 0, i = start; k < n; k++, i = (i + stride) % size) take(m.ids[i] as Peer);
    return out;
  }

  /**
   * Next deputy, round-robin from the content's cursor over at most DEPUTY_SCAN members: live, not
   * the joiner, room for partners, dialable. Members already partnered are preferred; a newcomer
   * only when none of those scanned qualifies.
   */
  private deputy(m: Members, now: number, exclude: string, maxPartners: number): Peer | undefined {
    const size = m.ids.length;
    if (size === 0) return undefined;
    let fallback: { p: Peer; index: number } | undefined;
    for (let k = 0; k < Math.min(size, DEPUTY_SCAN); k++) {
      const index = (m.cursor + k) % size;
      const p = m.ids[index] as Peer;
      if (p.peerId === exclude || p.expiresAt <= now || p.partnerCount >= maxPartners || p.reachability === 'nat') continue;
      if (p.partnerCount > 0) {
        m.cursor = index + 1;
        return p;
      }
      fallback ??= { p, index };
    }
    if (fallback) m.cursor = fallback.index + 1;
    return fallback?.p;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function copy(p: RegistryEntry): RegistryEntry {
  return { peerId: p.peerId, contact: { ...p.contact }, seq: p.seq, partnerCount: p.partnerCount, reachability: p.reachability, expiresAt: p.expiresAt };
}
