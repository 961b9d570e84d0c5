// Column storage of registered peers for the in-memory registry: one slot per peer, its fields in
// typed arrays (expiry, seq, partner count, reachability, IPv4 address and port), so a registered
// peer costs its id string, one map entry and ~40 bytes of columns instead of a few small objects.
// Slots are reused after removal. Hosts that are not dotted IPv4 are kept in a side map.
import type { Contact, Reachability } from '../protocol/messages.js';

const REACH: readonly Reachability[] = ['unknown', 'public', 'mapped', 'nat'];
const INITIAL_SLOTS = 1024;

function ipv4(host: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return (((parts[0] as number) << 24) | ((parts[1] as number) << 16) | ((parts[2] as number) << 8) | (parts[3] as number)) >>> 0;
}

export class PeerSlab {
  private readonly slotOf = new Map<string, number>();
  /** Slot -> peer id ('' when free). */
  private ids: string[] = [];
  private free: number[] = [];
  expiresAt = new Float64Array(INITIAL_SLOTS);
  seq = new Float64Array(INITIAL_SLOTS);
  partnerCount = new Uint16Array(INITIAL_SLOTS);
  reach = new Uint8Array(INITIAL_SLOTS);
  port = new Uint16Array(INITIAL_SLOTS);
  host4 = new Uint32Array(INITIAL_SLOTS);
  /** Number of the first content the peer is registered for (-1: none), and its position there. */
  firstContent = new Int32Array(INITIAL_SLOTS).fill(-1);
  firstPos = new Int32Array(INITIAL_SLOTS);
  /** Further contents of peers registered for several: content number -> position. */
  readonly extra = new Map<number, Map<number, number>>();
  private readonly otherHost = new Map<number, string>();

  get size(): number {
    return this.slotOf.size;
  }

  slot(peerId: string): number | undefined {
    return this.slotOf.get(peerId);
  }

  idOf(slot: number): string {
    return this.ids[slot] as string;
  }

  /** The peer's slot, a fresh one (all fields zero, no content) when it is new. */
  ensure(peerId: string): number {
    const s = this.slotOf.get(peerId);
    if (s !== undefined) return s;
    const slot = this.free.pop() ?? this.grow();
    this.ids[slot] = peerId;
    this.slotOf.set(peerId, slot);
    this.expiresAt[slot] = 0;
    this.seq[slot] = 0;
    this.partnerCount[slot] = 0;
    this.reach[slot] = 0;
    this.firstContent[slot] = -1;
    return slot;
  }

  remove(slot: number): void {
    const id = this.ids[slot];
    if (!id) return;
    this.slotOf.delete(id);
    this.ids[slot] = '';
    this.extra.delete(slot);
    this.otherHost.delete(slot);
    this.firstContent[slot] = -1;
    this.free.push(slot);
  }

  setContact(slot: number, c: Contact): void {
    const v4 = ipv4(c.host);
    this.port[slot] = c.port & 0xffff;
    if (v4 !== undefined) {
      this.host4[slot] = v4;
      this.otherHost.delete(slot);
    } else this.otherHost.set(slot, c.host);
  }

  contact(slot: number): Contact {
    const other = this.otherHost.get(slot);
    if (other !== undefined) return { host: other, port: this.port[slot] as number };
    const h = this.host4[slot] as number;
    return { host: `${h >>> 24}.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${h & 255}`, port: this.port[slot] as number };
  }

  setReachability(slot: number, r: Reachability): void {
    this.reach[slot] = Math.max(0, REACH.indexOf(r));
  }

  reachability(slot: number): Reachability {
    return REACH[this.reach[slot] as number] ?? 'unknown';
  }

  /** Content numbers the peer is registered for. */
  contents(slot: number): number[] {
    const first = this.firstContent[slot] as number;
    const out = first >= 0 ? [first] : [];
    const more = this.extra.get(slot);
    if (more) out.push(...more.keys());
    return out;
  }

  /** Position of the peer in a content's member list, or -1. */
  posIn(slot: number, content: number): number {
    if (this.firstContent[slot] === content) return this.firstPos[slot] as number;
    return this.extra.get(slot)?.get(content) ?? -1;
  }

  setPos(slot: number, content: number, pos: number): void {
    if (this.firstContent[slot] === content || this.firstContent[slot] === -1) {
      this.firstContent[slot] = content;
      this.firstPos[slot] = pos;
      return;
    }
    let more = this.extra.get(slot);
    if (!more) this.extra.set(slot, (more = new Map()));
    more.set(content, pos);
  }

  /** Forgets the peer's membership of a content (its position record). */
  dropContent(slot: number, content: number): void {
    if (this.firstContent[slot] === content) {
      const more = this.extra.get(slot);
      const next = more?.entries().next();
      if (more && next && !next.done) {
        const [c, pos] = next.value;
        more.delete(c);
        if (more.size === 0) this.extra.delete(slot);
        this.firstContent[slot] = c;
        this.firstPos[slot] = pos;
      } else this.firstContent[slot] = -1;
      return;
    }
    const more = this.extra.get(slot);
    more?.delete(content);
    if (more?.size === 0) this.extra.delete(slot);
  }

  hasContents(slot: number): boolean {
    return this.firstContent[slot] !== -1;
  }

  private grow(): number {
    const slot = this.ids.length;
    if (slot >= this.expiresAt.length) {
      const n = this.expiresAt.length * 2;
      const g = <T extends Float64Array | Uint16Array | Uint8Array | Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const b = make(n);
        b.set(a as never);
        return b;
      };
      this.expiresAt = g(this.expiresAt, (k) => new Float64Array(k));
      this.seq = g(this.seq, (k) => new Float64Array(k));
      this.partnerCount = g(this.partnerCount, (k) => new Uint16Array(k));
      this.reach = g(this.reach, (k) => new Uint8Array(k));
      this.port = g(this.port, (k) => new Uint16Array(k));
      this.host4 = g(this.host4, (k) => new Uint32Array(k));
      const fc = new Int32Array(n).fill(-1);
      fc.set(this.firstContent);
      this.firstContent = fc;
      this.firstPos = g(this.firstPos, (k) => new Int32Array(k));
    }
    this.ids.push('');
    return slot;
  }
}
