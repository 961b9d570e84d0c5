// How the node's buffer budget becomes per-content buffers.
//
// Rule: the budget is split evenly over the active live contents (sources and viewers alike):
//   capBytes     = floor(budgetBytes / activeContents)                        — the hard byte cap
//   windowChunks = clamp(floor(capBytes / nominalChunkBytes), windowChunksMin, windowChunksMax)
//   nominalChunkBytes = ceil(nominalStreamBps × chunkMs / 8000) + 64 (signature)
// The window is a size in chunks sized for the nominal rate; the byte cap holds whatever the real
// chunk sizes are (ChunkBuffer evicts its oldest chunks, never exceeds the cap). When a content
// starts or stops, every buffer is rebuilt to its new share (shrunk ones first, so the sum of caps
// never exceeds the budget), keeping the chunks that still fit.
import { ChunkBuffer } from './chunk-buffer.js';
import type { LiveConfig } from './live-config.js';

/** Bytes counted for a chunk's signature in the nominal size. */
const SIGNATURE_ALLOWANCE_BYTES = 64;

export interface BufferShare {
  capBytes: number;
  windowChunks: number;
}

export function nominalChunkBytes(c: LiveConfig): number {
  return Math.ceil((c.nominalStreamBps * c.chunkMs) / 8000) + SIGNATURE_ALLOWANCE_BYTES;
}

/** Each content's share of the budget when `activeContents` contents are active. */
export function bufferShare(budgetBytes: number, activeContents: number, c: LiveConfig): BufferShare {
  const capBytes = Math.max(1, Math.floor(budgetBytes / Math.max(1, activeContents)));
  const byBytes = Math.floor(capBytes / Math.max(1, nominalChunkBytes(c)));
  const windowChunks = Math.min(c.windowChunksMax, Math.max(c.windowChunksMin, byBytes));
  return { capBytes, windowChunks };
}

/**
 * A buffer of the new share whose window starts at `baseId` (at least the old base), holding the old
 * buffer's chunks that fit — oldest dropped first when the byte cap is smaller. Chunk records are
 * shared, not copied.
 */
export function rebuildBuffer(old: ChunkBuffer | undefined, share: BufferShare, baseId: number): ChunkBuffer {
  const base = Math.max(baseId, old?.base ?? 0);
  const next = new ChunkBuffer({ capacityChunks: share.windowChunks, maxBytes: share.capBytes, baseId: base });
  if (old) {
    for (const id of old.heldIds()) {
      if (id < next.base) continue;
      if (id >= next.end) break;
      const c = old.get(id);
      if (c) next.put(c);
    }
  }
  return next;
}
