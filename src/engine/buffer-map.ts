// Buffer maps (DONet's BM): which chunk ids a peer holds, as a base id plus a bitfield — the payload of
// BufferMapInfo. Bit i set ⇔ chunk baseId + i is held; bits are packed most significant bit first
// (bit i is byte i >> 3, mask 0x80 >> (i & 7)), as BitTorrent's bitfield.
//
// A BufferMap is an immutable value. Our own map is only ever derived from our ChunkBuffer
// (ChunkBuffer.map()), so the two cannot disagree; maps of partners come from the wire (fromWire) and
// are kept, one per partner, in a RemoteBufferMap, which answers the scheduler's questions (who can
// supply chunk x, how rare is it) by looking at the maps themselves — no separate counters to drift.
// Pure: no I/O, no clock.

import { WireLimits } from '../protocol/messages.js';

/** BufferMapInfo's fields. */
export interface BufferMapWire {
  baseId: number;
  length: number;
  bits: Uint8Array;
}

const MAX_CHUNK_ID = 0xffff_ffff; // chunk ids are u32 on the wire

export class BufferMap {
  private constructor(
    /** First chunk id the map describes. */
    readonly baseId: number,
    /** Number of chunk ids described: [baseId, baseId + length). */
    readonly length: number,
    private readonly bits: Uint8Array,
  ) {}

  static empty(baseId = 0): BufferMap {
    return new BufferMap(baseId, 0, new Uint8Array(0));
  }

  /** The map of [baseId, baseId + length) where `has(id)` says which ids are held. */
  static derive(baseId: number, length: number, has: (id: number) => boolean): BufferMap {
    checkId('baseId', baseId);
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`buffer map length must be a non-negative integer (got ${length})`);
    const bits = new Uint8Array(Math.ceil(length / 8));
    for (let i = 0; i < length; i++) if (has(baseId + i)) bits[i >> 3] = (bits[i >> 3] as number) | (0x80 >> (i & 7));
    return new BufferMap(baseId, length, bits);
  }

  /**
   * Validates and copies a received map. Bits past `length` are ignored. Throws a RangeError naming
   * the bad field (the caller turns it into a warning about that partner).
   */
  static fromWire(w: BufferMapWire): BufferMap {
    checkId('BufferMapInfo.baseId', w.baseId);
    if (!Number.isSafeInteger(w.length) || w.length < 0 || w.length > WireLimits.maxBufferMapBits) {
      throw new RangeError(`BufferMapInfo.length must be an integer in [0, ${WireLimits.maxBufferMapBits}] (got ${w.length})`);
    }
    const nBytes = Math.ceil(w.length / 8);
    if (w.bits.length < nBytes) {
      throw new RangeError(`BufferMapInfo.bits holds ${w.bits.length * 8} bits, fewer than length ${w.length}`);
    }
    const bits = Uint8Array.from(w.bits.subarray(0, nBytes));
    if (w.length % 8 !== 0) bits[nBytes - 1] = (bits[nBytes - 1] as number) & ((0xff00 >> (w.length % 8)) & 0xff);
    return new BufferMap(w.baseId, w.length, bits);
  }

  /** The wire form (a fresh copy of the bits). */
  toWire(): BufferMapWire {
    return { baseId: this.baseId, length: this.length, bits: Uint8Array.from(this.bits) };
  }

  /** One past the last id described. */
  get endId(): number {
    return this.baseId + this.length;
  }

  has(id: number): boolean {
    const i = id - this.baseId;
    if (!Number.isInteger(i) || i < 0 || i >= this.length) return false;
    return ((this.bits[i >> 3] as number) & (0x80 >> (i & 7))) !== 0;
  }

  /** Number of ids held. */
  get count(): number {
    let n = 0;
    for (const byte of this.bits) {
      let b = byte;
      while (b !== 0) {
        b &= b - 1;
        n++;
      }
    }
    return n;
  }

  /** Highest id held; undefined when none. */
  get newest(): number | undefined {
    for (let i = this.length - 1; i >= 0; i--) if (this.has(this.baseId + i)) return this.baseId + i;
    return undefined;
  }

  /** Ids in [fromId, toId) that the map does not hold, ascending. */
  missingIn(fromId: number, toId: number): number[] {
    const out: number[] = [];
    for (let id = Math.max(0, fromId); id < toId; id++) if (!this.has(id)) out.push(id);
    return out;
  }

  /** Ids held, ascending. */
  heldIds(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.length; i++) if (this.has(this.baseId + i)) out.push(this.baseId + i);
    return out;
  }

  /** Same base, length and held ids. */
  equals(other: BufferMap): boolean {
    if (other.baseId !== this.baseId || other.length !== this.length) return false;
    return this.bits.every((b, i) => b === other.bits[i]);
  }
}

function checkId(what: string, id: number): void {
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_CHUNK_ID) {
    throw new RangeError(`${what} must be an integer in [0, ${MAX_CHUNK_ID}] (got ${id})`);
  }
}

/**
 * The latest buffer map of each partner for one content, as the data scheduler sees them: who can
 * supply a chunk and how many can (rarity). Counts are computed from the stored maps on demand.
 */
export class RemoteBufferMap {
  private readonly maps = new Map<string, { map: BufferMap; receivedAtMs: number }>();

  /** Replaces the partner's map (a BufferMapInfo arrived). */
  update(peerId: string, map: BufferMap, receivedAtMs: number): void {
    this.maps.set(peerId, { map, receivedAtMs });
  }

  /** Forgets a partner (partnership ended). */
  remove(peerId: string): boolean {
    return this.maps.delete(peerId);
  }

  get(peerId: string): BufferMap | undefined {
    return this.maps.get(peerId)?.map;
  }

  receivedAtMs(peerId: string): number | undefined {
    return this.maps.get(peerId)?.receivedAtMs;
  }

  peers(): string[] {
    return [...this.maps.keys()];
  }

  get size(): number {
    return this.maps.size;
  }

  /** Partners whose latest map holds the chunk. */
  suppliers(id: number): string[] {
    const out: string[] = [];
    for (const [peerId, e] of this.maps) if (e.map.has(id)) out.push(peerId);
    return out;
  }

  supplierCount(id: number): number {
    let n = 0;
    for (const e of this.maps.values()) if (e.map.has(id)) n++;
    return n;
  }

  /** Supplier count of every id in [fromId, toId): index i is id fromId + i. */
  supplierCounts(fromId: number, toId: number): number[] {
    const counts = new Array<number>(Math.max(0, toId - fromId)).fill(0);
    for (const e of this.maps.values()) {
      const lo = Math.max(fromId, e.map.baseId);
      const hi = Math.min(toId, e.map.endId);
      for (let id = lo; id < hi; id++) if (e.map.has(id)) counts[id - fromId] = (counts[id - fromId] as number) + 1;
    }
    return counts;
  }

  /** Highest chunk id any partner advertises (where the live edge is); undefined when none. */
  newestAdvertised(): number | undefined {
    let best: number | undefined;
    for (const e of this.maps.values()) {
      const n = e.map.newest;
      if (n !== undefined && (best === undefined || n > best)) best = n;
    }
    return best;
  }
}
