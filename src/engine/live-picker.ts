// The live picker (DONet's heuristic; docs/live.md): candidates are the missing ids of the window that
// some partner advertises, not yet in flight — or in flight once but urgent and about to miss their
// deadline (a second, redundant request to another partner). Order (a "mixed strategy"):
//   1. urgent ids (deadline − now < urgentMs), earliest deadline first;
//   2. the rest by rarity (fewest suppliers), then deadline — fresh chunks, rare by nature, spread
//      at once, which keeps the whole swarm near the live edge (measured: deadline-first beyond the
//      urgent zone lets dissemination delay grow with the lag). With deadlineBucketMs > 0: by
//      deadline bucket (deadline / deadlineBucketMs) first, then rarity, then deadline.
// Supplier: among partners holding the id, not excluded for it (refused it / timed out), not busy,
// under its request window (PeerEstimates: AIMD; urgent ids may go up to maxInFlightPerPartner), the one expected to deliver soonest given its estimated RTT, throughput
// and the bytes we already asked of it ("most spare bandwidth"); preferably one that can deliver
// before the deadline. A first request goes to the soonest supplier even when none can make the
// deadline (estimates are rough); a redundant one only when it would beat the deadline.
import type { BufferMap } from './buffer-map.js';
import { soonestSupplier, type ChunkRequest, type PickContext, type Picker } from './picker.js';

export interface LivePickerOptions {
  urgentMs: number;
  deadlineBucketMs: number;
}

interface Candidate {
  id: number;
  deadline: number;
  rarity: number;
  urgent: boolean;
  /** Already in flight once: a second request. */
  redundant: boolean;
  /** Redundant: when the first request is now expected (re-estimated when it is overdue). */
  firstDueAt: number;
  key: number;
}

/** Per-partner state of one pick round. */
interface Slot {
  peerId: string;
  map: BufferMap | undefined;
  count: number;
  /** Request window (AIMD) for ordinary requests; urgent ones may use up to maxInFlightPerPartner. */
  cap: number;
  hardCap: number;
  bytes: number;
  busy: boolean;
}

export class LivePicker implements Picker {
  constructor(private readonly opts: LivePickerOptions) {}

  pick(ctx: PickContext): ChunkRequest[] {
    const { now, requests, estimates, maps, chunkBytes, maxInFlightPerPartner } = ctx;
    // Per-partner load of this round (in flight plus what we add now); nothing to do when no
    // partner can take a request.
    const slots: Slot[] = [];
    let anyOpen = false;
    for (const peerId of ctx.partners) {
      const count = requests.inFlightCount(peerId);
      const hardCap = maxInFlightPerPartner;
      const cap = Math.min(hardCap, estimates.windowOf(peerId));
      const busy = estimates.isBusy(peerId, now);
      anyOpen ||= !busy && count < hardCap;
      slots.push({ peerId, map: maps.get(peerId), count, cap, hardCap, bytes: requests.queuedBytes(peerId), busy });
    }
    if (!anyOpen) return [];
    const cands = this.candidates(ctx, slots);
    const out: ChunkRequest[] = [];
    const openUrgent = (s: Slot): boolean => !s.busy && s.count < s.hardCap;
    const openNormal = (s: Slot): boolean => !s.busy && s.count < s.cap;
    for (const c of cands) {
      const already = c.redundant ? requests.forChunk(c.id) : undefined;
      const found = soonestSupplier(ctx, slots, c.id, already, c.urgent ? openUrgent : openNormal);
      if (found === undefined) continue;
      const { slot: best, at: bestAt } = found;
      // A second request must help: arrive before the deadline, or at least before the first one.
      if (c.redundant && bestAt > c.deadline && bestAt >= c.firstDueAt) continue;
      best.count++;
      best.bytes += chunkBytes;
      out.push({ chunkId: c.id, peerId: best.peerId, expectedAt: bestAt, redundant: c.redundant, ...(Number.isFinite(c.deadline) ? { dueInMs: Math.max(0, c.deadline - now) } : {}) });
      if (!slots.some((x) => !x.busy && x.count < x.hardCap)) break;
    }
    return out;
  }

  /** Candidates in request order. */
  private candidates(ctx: PickContext, slots: readonly Slot[]): Candidate[] {
    const { now, fromId, toId, requests } = ctx;
    if (toId <= fromId) return [];
    const deadline = ctx.deadline ?? (() => Infinity);
    const out: Candidate[] = [];
    for (let id = fromId; id < toId; id++) {
      if (ctx.has(id)) continue;
      let n = 0;
      for (const s of slots) if (s.map?.has(id)) n++;
      if (n === 0) continue;
      const inFlight = requests.forChunk(id);
      if (inFlight.length === 0 && ctx.awaitingPush?.(id)) continue;
      const dl = deadline(id);
      const urgent = dl - now < this.opts.urgentMs;
      let redundant = false;
      let firstDueAt = Infinity;
      if (inFlight.length > 0) {
        // Only one request so far, urgent, and that request is late or will be: ask a second partner.
        if (inFlight.length > 1 || !urgent || n < 2) continue;
        const r = inFlight[0] as (typeof inFlight)[number];
        if (r.expectedAt <= dl && now <= r.expectedAt) continue;
        redundant = true;
        firstDueAt = now <= r.expectedAt ? r.expectedAt : now + (r.expectedAt - r.sentAt);
      }
      const key = urgent || this.opts.deadlineBucketMs <= 0 ? 0 : Math.floor(dl / this.opts.deadlineBucketMs);
      out.push({ id, deadline: dl, rarity: n, urgent, redundant, firstDueAt, key });
    }
    out.sort((a, b) => {
      if (a.urgent !== b.urgent) return a.urgent ? -1 : 1;
      if (a.urgent) return a.deadline - b.deadline;
      return a.key - b.key || a.rarity - b.rarity || a.deadline - b.deadline;
    });
    return out;
  }
}
