// One content's chunk buffer: a circular sliding window of chunk slots indexed by chunk id, bounded in
// chunks (capacityChunks) and in bytes (maxBytes, a hard cap: never exceeded, not even briefly).
//
// Window: ids [base, base + capacity). Slot of id = id mod capacity, so each id of the window has its
// own slot. The window only moves forward: advanceTo(id) drops every chunk below id; slideToInclude(id)
// moves it just far enough for id to fit (the live edge). A put outside the window is refused
// ('too-old' / 'too-new'): sliding is the caller's decision.
// Byte cap: a put that would exceed maxBytes first drops the oldest held chunks (those older than the
// new one), moving base past them — so the buffer map never invites partners to re-send a chunk evicted
// for space. When even that cannot make room the put is refused ('no-space') and nothing is dropped.
// Bytes counted per chunk: data + signature. (Chunk data may be a view of a larger buffer — a decoded
// frame's payload — which the cap cannot see; callers store views only of per-message buffers.)
//
// The buffer map is derived from the slots (map()), cached until the next change: it mirrors the
// buffer exactly by construction. So is the newest held id. Pure: no I/O, no clock.

import { BufferMap } from './buffer-map.js';

export interface ChunkRecord {
  id: number;
  /** Source time of the chunk (ms since epoch) for live chunks; 0 for download pieces. */
  timestampMs: number;
  /** Source signature (64 bytes) for live chunks; empty for download pieces. */
  signature: Uint8Array;
  data: Uint8Array;
}

export type PutResult =
  /** Stored. */
  | 'stored'
  /** Stored after dropping the oldest chunks to stay under maxBytes. */
  | 'evicted-for-space'
  /** Already held; the buffer is unchanged. */
  | 'duplicate'
  /** Below the window. */
  | 'too-old'
  /** At or past base + capacity (slide first). */
  | 'too-new'
  /** Larger than maxBytes on its own. */
  | 'too-large'
  /** Only newer chunks could be dropped to make room: refused, unchanged. */
  | 'no-space';

export interface ChunkBufferOptions {
  capacityChunks: number;
  maxBytes: number;
  /** First id of the window (default 0). */
  baseId?: number;
}

export function chunkBytes(c: ChunkRecord): number {
  return c.data.byteLength + c.signature.byteLength;
}

export class ChunkBuffer {
  readonly capacity: number;
  readonly maxBytes: number;
  private readonly slots: (ChunkRecord | undefined)[];
  private baseId: number;
  private held = 0;
  private heldBytes = 0;
  private changes = 0;
  private evictedCount = 0;
  private cachedMap: { version: number; map: BufferMap } | undefined;
  private cachedNewest: { version: number; id: number | undefined } = { version: -1, id: undefined };

  constructor(opts: ChunkBufferOptions) {
    if (!Number.isSafeInteger(opts.capacityChunks) || opts.capacityChunks < 1) {
      throw new RangeError(`capacityChunks must be a positive integer (got ${opts.capacityChunks})`);
    }
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1) {
      throw new RangeError(`maxBytes must be a positive integer (got ${opts.maxBytes})`);
    }
    this.capacity = opts.capacityChunks;
    this.maxBytes = opts.maxBytes;
    this.baseId = opts.baseId ?? 0;
    checkId(this.baseId);
    this.slots = new Array<ChunkRecord | undefined>(this.capacity).fill(undefined);
  }

  /** First id of the window. */
  get base(): number {
    return this.baseId;
  }

  /** One past the last id of the window. */
  get end(): number {
    return this.baseId + this.capacity;
  }

  /** Bytes held (never above maxBytes). */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Chunks held. */
  get count(): number {
    return this.held;
  }

  /** Chunks dropped so far to respect maxBytes. */
  get evictedForSpace(): number {
    return this.evictedCount;
  }

  /** Increases on every change (a new map is due when it moved). */
  get version(): number {
    return this.changes;
  }

  /** Highest id held; undefined when empty. */
  get newest(): number | undefined {
    if (this.cachedNewest.version !== this.changes) {
      let found: number | undefined;
      for (let id = this.end - 1; id >= this.baseId && this.held > 0; id--) {
        if (this.has(id)) {
          found = id;
          break;
        }
      }
      this.cachedNewest = { version: this.changes, id: found };
    }
    return this.cachedNewest.id;
  }

  /** Lowest id held; undefined when empty. */
  get oldest(): number | undefined {
    for (let id = this.baseId; id < this.end && this.held > 0; id++) if (this.has(id)) return id;
    return undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  get(id: number): ChunkRecord | undefined {
    if (!Number.isInteger(id) || id < this.baseId || id >= this.end) return undefined;
    const c = this.slots[id % this.capacity];
    return c !== undefined && c.id === id ? c : undefined;
  }

  put(chunk: ChunkRecord): PutResult {
    const id = chunk.id;
    checkId(id);
    if (id < this.baseId) return 'too-old';
    if (id >= this.end) return 'too-new';
    if (this.has(id)) return 'duplicate';
    const size = chunkBytes(chunk);
    if (size > this.maxBytes) return 'too-large';
    let result: PutResult = 'stored';
    if (this.heldBytes + size > this.maxBytes) {
      // Find how far base must move (past the oldest chunks, all older than `id`) to make room.
      let freed = 0;
      let newBase: number | undefined;
      for (let old = this.baseId; old < id && this.heldBytes - freed + size > this.maxBytes; old++) {
        const c = this.get(old);
        if (c === undefined) continue;
        freed += chunkBytes(c);
        newBase = old + 1;
      }
      if (newBase === undefined || this.heldBytes - freed + size > this.maxBytes) return 'no-space';
      this.evictedCount += this.drop(newBase);
      result = 'evicted-for-space';
    }
    // A copy of the record: later changes to the caller's object cannot skew the byte count.
    this.slots[id % this.capacity] = { id, timestampMs: chunk.timestampMs, signature: chunk.signature, data: chunk.data };
    this.held++;
    this.heldBytes += size;
    this.changes++;
    return result;
  }

  /** Moves the window's base forward to `baseId` (never back); returns the chunks dropped. */
  advanceTo(baseId: number): number {
    checkId(baseId);
    if (baseId <= this.baseId) return 0;
    return this.drop(baseId);
  }

  /** Slides the window just enough for `id` to be inside it; returns the chunks dropped. */
  slideToInclude(id: number): number {
    return this.advanceTo(Math.max(this.baseId, id - this.capacity + 1));
  }

  /** Held ids, ascending. */
  heldIds(): number[] {
    const out: number[] = [];
    for (let id = this.baseId; id < this.end && out.length < this.held; id++) if (this.has(id)) out.push(id);
    return out;
  }

  /**
   * The buffer map: base = the window's base, length = up to the newest held chunk. Derived from the
   * slots and cached until the next change.
   */
  map(): BufferMap {
    if (this.cachedMap?.version !== this.changes) {
      const newest = this.newest;
      const length = newest === undefined ? 0 : newest - this.baseId + 1;
      // The slots read directly (this runs on every change of every buffer: no call per id).
      const bits = new Uint8Array(Math.ceil(length / 8));
      const { slots, capacity, baseId } = this;
      for (let i = 0; i < length; i++) {
        const c = slots[(baseId + i) % capacity];
        if (c !== undefined && c.id === baseId + i) bits[i >> 3] = (bits[i >> 3] as number) | (0x80 >> (i & 7));
      }
      this.cachedMap = { version: this.changes, map: BufferMap.ofBits(baseId, length, bits) };
    }
    return this.cachedMap.map;
  }

  /** Clears ids below newBase and sets base; returns how many chunks were dropped. */
  private drop(newBase: number): number {
    let dropped = 0;
    const stop = Math.min(newBase, this.end);
    for (let id = this.baseId; id < stop && this.held > 0; id++) {
      const slot = id % this.capacity;
      const c = this.slots[slot];
      if (c !== undefined && c.id === id) {
        this.slots[slot] = undefined;
        this.held--;
        this.heldBytes -= chunkBytes(c);
        dropped++;
      }
    }
    this.baseId = newBase;
    this.changes++;
    return dropped;
  }
}

function checkId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`chunk id must be a non-negative integer (got ${id})`);
}
