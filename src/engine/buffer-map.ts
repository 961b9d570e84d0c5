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

/** BufferMapDelta's fields: ids below floorId are gone, [baseId, baseId + length) as the bits say, the rest as before. */
export interface BufferMapDeltaWire {
  floorId: number;
  baseId: number;
  length: number;
  bits: Uint8Array;
}

const MAX_CHUNK_ID = 0xffff_ffff; // chunk ids are u32 on the wire

/** 8 bits of `bits` from bit `at` on, most significant first; bits outside the array read 0. */
function byteAt(bits: Uint8Array, at: number): number {
  if (at <= -8) return 0;
  if (at < 0) return (bits[0] ?? 0) >> -at;
  const i = at >> 3;
  const s = at & 7;
  const hi = bits[i] ?? 0;
  return s === 0 ? hi : ((hi << s) | ((bits[i + 1] ?? 0) >> (8 - s))) & 0xff;
}

/** Mask of a last byte holding `n` meaningful bits (n in 1..8). */
const lastByteMask = (n: number): number => (0xff00 >> n) & 0xff;

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

  /** A map over bits built by the caller (taken, not copied; bits past `length` must be clear). */
  static ofBits(baseId: number, length: number, bits: Uint8Array): BufferMap {
    checkId('baseId', baseId);
    if (bits.length !== Math.ceil(length / 8)) throw new RangeError(`buffer map of ${length} ids needs ${Math.ceil(length / 8)} bytes of bits (got ${bits.length})`);
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
    if (w.length % 8 !== 0) bits[nBytes - 1] = (bits[nBytes - 1] as number) & lastByteMask(w.length % 8);
    return new BufferMap(w.baseId, w.length, bits);
  }

  /** The wire form (a fresh copy of the bits). */
  toWire(): BufferMapWire {
    return { baseId: this.baseId, length: this.length, bits: Uint8Array.from(this.bits) };
  }

  /**
   * The map a partner holds after a BufferMapDelta on top of `prev`, the sender's previous map.
   * Throws a RangeError naming the field (the previous map then stays).
   */
  static applyDelta(prev: BufferMap, d: BufferMapDeltaWire): BufferMap {
    checkId('BufferMapDelta.floorId', d.floorId);
    checkId('BufferMapDelta.baseId', d.baseId);
    if (d.baseId < d.floorId) throw new RangeError(`BufferMapDelta.baseId ${d.baseId} is below floorId ${d.floorId}`);
    const length = d.baseId + d.length - d.floorId;
    if (!Number.isSafeInteger(d.length) || d.length < 0 || length > WireLimits.maxBufferMapBits) {
      throw new RangeError(`BufferMapDelta.length makes a map of ${length} bits (limit ${WireLimits.maxBufferMapBits})`);
    }
    const nDelta = Math.ceil(d.length / 8);
    if (d.bits.length < nDelta) throw new RangeError(`BufferMapDelta.bits holds ${d.bits.length * 8} bits, fewer than length ${d.length}`);
    const bits = new Uint8Array(Math.ceil(length / 8));
    const keep = d.baseId - d.floorId; // bits [0, keep) come from prev
    const off = d.floorId - prev.baseId;
    for (let k = 0; k < keep; k += 8) bits[k >> 3] = byteAt(prev.bits, k + off);
    const s = keep & 7;
    const at = keep >> 3;
    if (s !== 0) bits[at] = (bits[at] as number) & lastByteMask(s);
    for (let j = 0; j < nDelta; j++) {
      let b = d.bits[j] as number;
      if (j === nDelta - 1 && d.length % 8 !== 0) b &= lastByteMask(d.length % 8);
      bits[at + j] = (bits[at + j] as number) | (b >> s);
      if (s !== 0 && at + j + 1 < bits.length) bits[at + j + 1] = (bits[at + j + 1] as number) | ((b << (8 - s)) & 0xff);
    }
    return new BufferMap(d.floorId, length, bits);
  }

  /** The lowest id in [baseId, endId) that this map and `prev` disagree on; endId when none. */
  firstDifference(prev: BufferMap): number {
    const off = this.baseId - prev.baseId;
    for (let k = 0; k < this.length; k += 8) {
      let x = byteAt(this.bits, k) ^ byteAt(prev.bits, k + off);
      if (k + 8 > this.length) x &= lastByteMask(this.length - k);
      if (x !== 0) return this.baseId + k + Math.clz32(x) - 24;
    }
    return this.endId;
  }

  /**
   * BufferMapDelta's fields that turn `prev` (the map a partner last got) into this one: ids below
   * our base are gone, ids from the first difference to our end are given.
   */
  deltaSince(prev: BufferMap): BufferMapDeltaWire {
    const from = this.firstDifference(prev);
    const length = this.endId - from;
    const bits = new Uint8Array(Math.ceil(length / 8));
    for (let k = 0; k < length; k += 8) bits[k >> 3] = byteAt(this.bits, from - this.baseId + k);
    if (length % 8 !== 0) bits[bits.length - 1] = (bits[bits.length - 1] as number) & lastByteMask(length % 8);
    return { floorId: this.baseId, baseId: from, length, bits };
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
