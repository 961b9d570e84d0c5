// The data scheduler's strategy seam: a Picker looks at what we miss, who holds it, what is in
// flight and how fast each partner delivers, and returns the requests to send now. The live picker
// (live-picker.ts) orders by playback deadline; a download picker (rarest-first + endgame) plugs in
// with the same context — no deadlines (`deadline` undefined), the same request queue, estimates,
// partner maps and buffer.
import type { BufferMap, RemoteBufferMap } from './buffer-map.js';
import type { PeerEstimates } from './peer-estimates.js';
import type { Random } from './ports.js';
import type { RequestQueue } from './request-queue.js';

export interface PickContext {
  now: number;
  /** Ids the picker may ask for: [fromId, toId). */
  fromId: number;
  toId: number;
  /** Whether our own buffer holds the id. */
  has(id: number): boolean;
  /** Current partners (the only possible suppliers), in a stable order. */
  partners: readonly string[];
  /** Partners' latest buffer maps. */
  maps: RemoteBufferMap;
  /** Our outstanding requests (and partners excluded per id). */
  requests: RequestQueue;
  /** Per-partner RTT / throughput estimates. */
  estimates: PeerEstimates;
  /** Expected size of one chunk (bytes). */
  chunkBytes: number;
  /** Most outstanding requests per partner. */
  maxInFlightPerPartner: number;
  random: Random;
  /** Playback deadline of an id (live); undefined for contents without deadlines (downloads). */
  deadline?: (id: number) => number;
  /** Live with pushed sub-streams: the id is expected by push, not to be pulled yet (docs/live-push.md). */
  awaitingPush?: (id: number) => boolean;
}

export interface ChunkRequest {
  chunkId: number;
  peerId: string;
  /** When we expect the chunk from this partner. */
  expectedAt: number;
  /** A second request for an id already in flight elsewhere (urgent). */
  redundant: boolean;
  /** The requester plays the chunk in this many ms (a piece in a playback window); absent: no deadline. */
  dueInMs?: number;
}

export interface Picker {
  pick(ctx: PickContext): ChunkRequest[];
  /** Whether partner `peerId` may push us sub-stream `substream` of `count` (docs/live-push.md); absent: any may. */
  pushFrom?(peerId: string, substream: number, count: number): boolean;
}

/** What supplier choice needs of a partner's state in one pick round. */
export interface SupplierSlot {
  peerId: string;
  map: BufferMap | undefined;
  /** Bytes already asked of it (queued ahead of a new request). */
  bytes: number;
}

/**
 * Among the partners `usable` admits that hold `id`, are not excluded for it and were not already
 * asked for it: the one expected to deliver it soonest (estimated RTT, throughput and the bytes
 * already asked of it), a reservoir choice among equal estimates. Both the live and the download
 * pickers choose their suppliers this way.
 */
export function soonestSupplier<S extends SupplierSlot>(
  ctx: PickContext,
  slots: readonly S[],
  id: number,
  already: readonly { peerId: string }[] | undefined,
  usable: (s: S) => boolean,
): { slot: S; at: number } | undefined {
  let best: S | undefined;
  let bestAt = Infinity;
  let ties = 0;
  for (const s of slots) {
    if (!usable(s) || !s.map?.has(id) || ctx.requests.isExcluded(id, s.peerId)) continue;
    if (already?.some((r) => r.peerId === s.peerId)) continue;
    const at = ctx.estimates.expectedArrival(s.peerId, ctx.now, s.bytes, ctx.chunkBytes);
    if (at < bestAt) {
      best = s;
      bestAt = at;
      ties = 1;
    } else if (at === bestAt && ctx.random.next() * ++ties < 1) {
      best = s; // reservoir choice among equal estimates
    }
  }
  return best ? { slot: best, at: bestAt } : undefined;
}
