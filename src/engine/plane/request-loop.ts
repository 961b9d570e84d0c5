// The plane's request loop, the same for every kind of content: the picker's choices go out as
// DataChunkReqs to partners (a DataChunkDue, with the picker's deadline, to a partner that takes
// one), each one kept in flight (RequestQueue) with its deadline to answer and the bytes it brings.
// What differs per kind is passed in: how long a partner is given, how big a chunk is, and what a
// redundant request (endgame, or an urgent second copy) counts as.
import type { ChunkRequest } from '../picker.js';
import type { RequestQueue } from '../request-queue.js';
import type { PlaneCore } from './plane-core.js';
import { FEATURE_DUE } from './plane-partners.js';

export interface RequestTerms {
  /** How long `peerId` has to answer (ms). */
  timeoutMs(peerId: string): number;
  /** Bytes chunk `chunkId` carries (what the partner is expected to deliver). */
  bytes(chunkId: number): number;
  /** A redundant request left (a second copy of one already asked for). */
  redundant(): void;
  /** A request with a deadline left as a DataChunkDue. */
  sentDue?(): void;
}

/** Largest deadline a DataChunkDue carries (an hour; the field is a u32 of ms). */
const MAX_DUE_MS = 3_600_000;

/** Sends the chosen requests to partners still held and records each one sent. */
export function sendRequests(core: PlaneCore, requests: RequestQueue, chosen: readonly ChunkRequest[], now: number, terms: RequestTerms): void {
  for (const r of chosen) {
    const p = core.partners.get(r.peerId);
    if (!p) continue;
    // A deadline goes only to a partner that said it takes one (Features); others get a plain request.
    const due = r.dueInMs !== undefined && p.features.has(FEATURE_DUE);
    const base = { peerId: core.selfId, contentId: core.contentId, chunkId: r.chunkId };
    const sent = core.send(p.address, due ? { type: 'DataChunkDue', ...base, dueInMs: Math.min(MAX_DUE_MS, Math.max(0, Math.round(r.dueInMs!))) } : { type: 'DataChunkReq', ...base });
    if (sent === 0) continue;
    core.counters.requestsSent++;
    if (due) terms.sentDue?.();
    if (r.redundant) terms.redundant();
    requests.add({
      chunkId: r.chunkId,
      peerId: r.peerId,
      sentAt: now,
      timeoutAt: now + terms.timeoutMs(r.peerId),
      bytes: terms.bytes(r.chunkId),
      expectedAt: r.expectedAt,
      redundant: r.redundant,
    });
  }
}
