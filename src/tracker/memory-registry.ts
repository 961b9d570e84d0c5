// The in-memory registry (the embedded default): per content an Int32Array of member slots, each
// peer's position in it kept with the peer (peer-slab.ts), so a random member, a random subset and
// removal (swap with the last) are O(1) each; expiry by time buckets: a refresh files the slot under
// the bucket of its new expiry, and only buckets whose time is up are visited (stale filings are
// skipped there). No operation walks a content's members or the whole registry.
import type { Random } from '../engine/ports.js';
import { PeerSlab } from './peer-slab.js';
import { candidatesFor, type AnnounceQuery, type JoinQuery, type JoinResult, type RegistryEntry, type RegistryPort, type RegistryStats } from './registry-port.js';

/** Width of an expiry bucket (ms): peers expire at most this late (answers never list them). */
export const EXPIRY_BUCKET_MS = 1000;
/** Most members a deputy search looks at (round-robin from the content's cursor). */
export const DEPUTY_SCAN = 64;

/** Sorts members behind a NAT after every dialable one (as the tracker's answer does). */
const NAT_RANK = 1_000_000;
const NAT = 3; // PeerSlab's code for 'nat'

interface Members {
  slots: Int32Array;
  length: number;
  cursor: number;
}

export class MemoryRegistry implements RegistryPort {
  readonly backend = 'memory';
  private readonly peers = new PeerSlab();
  private readonly contentNo = new Map<string, number>();
  private readonly byNo: Members[] = [];
  private readonly buckets = new Map<number, number[]>();
  /** The first bucket not yet expired. */
  private nextBucket = -Infinity;

  constructor(private readonly random: Random) {}

  join(q: JoinQuery): JoinResult {
    const c = this.contentOf(q.contentId, true) as number;
    const m = this.byNo[c] as Members;
    const self = this.peers.slot(q.peerId);
    const isMember = self !== undefined && this.peers.posIn(self, c) >= 0;
    const others = m.length - (isMember ? 1 : 0);
    const deputy = q.redirectThreshold > 0 && others >= q.redirectThreshold ? this.deputy(m, q.now, self ?? -1, q.maxPartners) : -1;
    // A redirected joiner is answered with the deputy alone: no members to sample.
    const want = deputy >= 0 ? 0 : Math.max(0, q.sample);
    const candidates = want === 0 ? [] : this.sample(m, Math.min(m.length, candidatesFor(want)), q.now, self ?? -1);
    const slot = this.peers.ensure(q.peerId);
    this.peers.setContact(slot, q.contact);
    this.refresh(slot, q.now + q.ttlMs);
    this.add(c, slot);
    // Only the `want` best candidates become entries (dialable first, fewest partners first; the
    // sample's random order breaks ties): the caller would keep no more.
    const p = this.peers;
    const rank = (s: number): number => (p.reach[s] === NAT ? NAT_RANK : 0) + (p.partnerCount[s] as number);
    const best = candidates.length > want ? candidates.sort((a, b) => rank(a) - rank(b)).slice(0, want) : candidates;
    return { others, members: best.map((s) => this.entry(s)), ...(deputy >= 0 ? { deputy: this.entry(deputy) } : {}) };
  }

  announce(q: AnnounceQuery): boolean {
    const existing = this.peers.slot(q.peerId);
    if (existing !== undefined && q.seq <= (this.peers.seq[existing] as number)) return true;
    // The caller lists only contents it knows (its catalogue): they are registered even before any join.
    const listed = new Set<number>();
    for (const id of new Set(q.contents)) listed.add(this.contentOf(id, true) as number);
    if (existing === undefined && listed.size === 0) return false;
    const slot = existing ?? this.peers.ensure(q.peerId);
    const p = this.peers;
    p.seq[slot] = q.seq;
    p.setContact(slot, q.contact);
    p.partnerCount[slot] = Number.isFinite(q.partnerCount) && q.partnerCount >= 0 ? Math.min(q.partnerCount, 0xffff) : 0;
    p.setReachability(slot, q.reachability);
    for (const c of p.contents(slot)) if (!listed.has(c)) this.removeFrom(c, slot);
    for (const c of listed) this.add(c, slot);
    if (!p.hasContents(slot)) {
      p.remove(slot);
      return false;
    }
    this.refresh(slot, q.now + q.ttlMs);
    return true;
  }

  leave(contentId: string, peerId: string): void {
    const c = this.contentNo.get(contentId);
    const slot = this.peers.slot(peerId);
    if (c === undefined || slot === undefined) return;
    this.removeFrom(c, slot);
    if (!this.peers.hasContents(slot)) this.peers.remove(slot);
  }

  /** Makes a content known with no members. */
  ensureContent(contentId: string): void {
    this.contentOf(contentId, true);
  }

  isMember(contentId: string, peerId: string): boolean {
    const c = this.contentNo.get(contentId);
    const slot = this.peers.slot(peerId);
    return c !== undefined && slot !== undefined && this.peers.posIn(slot, c) >= 0;
  }

  members(contentId: string, now: number, limit: number): RegistryEntry[] {
    const c = this.contentNo.get(contentId);
    if (c === undefined) return [];
    const m = this.byNo[c] as Members;
    const out: RegistryEntry[] = [];
    for (let i = 0; i < m.length && out.length < limit; i++) {
      const s = m.slots[i] as number;
      if ((this.peers.expiresAt[s] as number) > now) out.push(this.entry(s));
    }
    return out;
  }

  memberCount(contentId: string): number {
    const c = this.contentNo.get(contentId);
    return c === undefined ? 0 : (this.byNo[c] as Members).length;
  }

  expire(now: number): void {
    if (this.nextBucket === -Infinity) return;
    const last = Math.floor(now / EXPIRY_BUCKET_MS);
    for (; this.nextBucket <= last; this.nextBucket++) {
      const slots = this.buckets.get(this.nextBucket);
      if (!slots) continue;
      this.buckets.delete(this.nextBucket);
      for (const s of slots) {
        // A free slot, a refreshed peer or a new peer in a reused slot (filed again itself): skip.
        if (this.peers.idOf(s) === '' || (this.peers.expiresAt[s] as number) > now) continue;
        for (const c of this.peers.contents(s)) this.removeFrom(c, s);
        this.peers.remove(s);
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

  private contentOf(contentId: string, create: boolean): number | undefined {
    let c = this.contentNo.get(contentId);
    if (c === undefined && create) {
      c = this.byNo.length;
      this.byNo.push({ slots: new Int32Array(4), length: 0, cursor: 0 });
      this.contentNo.set(contentId, c);
    }
    return c;
  }

  private add(c: number, slot: number): void {
    if (this.peers.posIn(slot, c) >= 0) return;
    const m = this.byNo[c] as Members;
    if (m.length === m.slots.length) {
      const bigger = new Int32Array(m.slots.length * 2);
      bigger.set(m.slots);
      m.slots = bigger;
    }
    m.slots[m.length] = slot;
    this.peers.setPos(slot, c, m.length);
    m.length++;
  }

  private removeFrom(c: number, slot: number): void {
    const i = this.peers.posIn(slot, c);
    if (i < 0) return;
    const m = this.byNo[c] as Members;
    m.length--;
    const last = m.slots[m.length] as number;
    if (i < m.length) {
      m.slots[i] = last;
      this.peers.setPos(last, c, i);
    }
    this.peers.dropContent(slot, c);
  }

  /** Files the slot under the bucket of its new expiry (ceil: a bucket is due once its end passed). */
  private refresh(slot: number, expiresAt: number): void {
    const old = this.peers.expiresAt[slot] as number;
    if (expiresAt <= old) return;
    const oldBucket = Math.ceil(old / EXPIRY_BUCKET_MS);
    this.peers.expiresAt[slot] = expiresAt;
    let b = Math.ceil(expiresAt / EXPIRY_BUCKET_MS);
    if (b === oldBucket) return; // already filed there
    if (this.nextBucket === -Infinity) this.nextBucket = b;
    b = Math.max(b, this.nextBucket);
    const list = this.buckets.get(b);
    if (list) list.push(slot);
    else this.buckets.set(b, [slot]);
  }

  /**
   * Up to `n` distinct random live members other than `exclude` (all of them when n >= size): the
   * positions start + k·stride (mod size) with a random start and a random stride coprime with the
   * size, so no draw repeats and nothing but the n entries is touched.
   */
  private sample(m: Members, n: number, now: number, exclude: number): number[] {
    const out: number[] = [];
    const size = m.length;
    const take = (s: number) => {
      if ((this.peers.expiresAt[s] as number) > now && s !== exclude) out.push(s);
    };
    if (n >= size) {
      for (let i = 0; i < size; i++) take(m.slots[i] as number);
      return out;
    }
    const start = Math.floor(this.random.next() * size);
    let stride = 1 + Math.floor(this.random.next() * (size - 1));
    while (gcd(stride, size) !== 1) stride = (stride % (size - 1)) + 1;
    for (let k = 0, i = start; k < n; k++, i = (i + stride) % size) take(m.slots[i] as number);
    return out;
  }

  /**
   * Next deputy, round-robin from the content's cursor over at most DEPUTY_SCAN members: live, not
   * the joiner, room for partners, dialable. Members already partnered are preferred; a newcomer
   * only when none of those scanned qualifies. Returns a slot, or -1.
   */
  private deputy(m: Members, now: number, exclude: number, maxPartners: number): number {
    const size = m.length;
    if (size === 0) return -1;
    const p = this.peers;
    let fallback = -1;
    let fallbackIndex = 0;
    for (let k = 0; k < Math.min(size, DEPUTY_SCAN); k++) {
      const index = (m.cursor + k) % size;
      const s = m.slots[index] as number;
      const pc = p.partnerCount[s] as number;
      if (s === exclude || (p.expiresAt[s] as number) <= now || pc >= maxPartners || p.reachability(s) === 'nat') continue;
      if (pc > 0) {
        m.cursor = index + 1;
        return s;
      }
      if (fallback < 0) {
        fallback = s;
        fallbackIndex = index;
      }
    }
    if (fallback >= 0) m.cursor = fallbackIndex + 1;
    return fallback;
  }

  private entry(s: number): RegistryEntry {
    const p = this.peers;
    return { peerId: p.idOf(s), contact: p.contact(s), seq: p.seq[s] as number, partnerCount: p.partnerCount[s] as number, reachability: p.reachability(s), expiresAt: p.expiresAt[s] as number };
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
