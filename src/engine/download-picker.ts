// The download picker (rarest first with an endgame; docs/downloads.md), a Picker beside the
// live one, over the same context: request queue, per-partner estimates and windows, partner maps.
//  - Candidates: pieces we miss that some partner advertises and that are not in flight, rarest
//    first (fewest partners holding them), ties broken at random so leechers spread over different
//    pieces and have something to trade at once.
//  - Supplier: among partners holding the piece, not excluded for it (refused it / timed out), not
//    busy, under their request window, the one expected to deliver soonest (RTT, throughput, bytes
//    already asked of it).
//  - Endgame: once no such candidate is left (every missing piece is in flight), a piece in flight
//    gets one more request — at most endgameCopies in all — from an idle partner that is expected to
//    deliver it sooner than the request already out. The copy that loses the race costs one piece;
//    servers skip requests for pieces the requester's newer map already shows (implicit cancel).
import { soonestSupplier, type ChunkRequest, type PickContext, type Picker } from './picker.js';
import type { BufferMap } from './buffer-map.js';

export interface DownloadPickerOptions {
  /** Most requests in flight for one piece during the endgame (1 = no duplicates). */
  endgameCopies: number;
}

/** A partner as a supplier during one pick: its map, requests out, window, queued bytes, whether it takes more. */
export interface Slot {
  peerId: string;
  map: BufferMap | undefined;
  count: number;
  cap: number;
  bytes: number;
  open: boolean;
}

interface Candidate {
  id: number;
  rarity: number;
  tie: number;
}

export class DownloadPicker implements Picker {
  /** Whether the last pick found only pieces already in flight (the endgame). */
  endgame = false;

  constructor(private readonly opts: DownloadPickerOptions) {}

  pick(ctx: PickContext): ChunkRequest[] {
    return this.pickWith(ctx, supplierSlots(ctx), () => false);
  }

  /**
   * Rarest first over given supplier slots (another picker's, part taken), leaving out `skip`ped ids
   * and, with `horizon`, requests not expected before it (a player's partner queues stay short) —
   * except one to a partner with nothing in flight from us: its estimate is measured only by
   * answers, and one that went stale (its answers waited behind other viewers' deadlines) would
   * otherwise stop the download for good.
   */
  pickWith(ctx: PickContext, slots: Slot[], skip: (id: number) => boolean, horizon = Infinity): ChunkRequest[] {
    const { requests } = ctx;
    let open = slots.filter((x) => x.open).length;
    const fresh: Candidate[] = [];
    const inFlight: number[] = [];
    for (let id = ctx.fromId; id < ctx.toId; id++) {
      if (ctx.has(id) || skip(id)) continue;
      const n = holders(slots, id);
      if (n === 0) continue;
      if (requests.isInFlight(id)) inFlight.push(id);
      else fresh.push({ id, rarity: n, tie: ctx.random.next() });
    }
    this.endgame = fresh.length === 0 && inFlight.length > 0;
    if (open === 0) return [];
    const out: ChunkRequest[] = [];
    fresh.sort((a, b) => a.rarity - b.rarity || a.tie - b.tie);
    for (const c of fresh) {
      const best = bestSlot(ctx, slots, c.id, undefined);
      if (!best || (best.at > horizon && best.slot.count > 0)) continue;
      out.push(takeSlot(best.slot, c.id, best.at, false, ctx.chunkBytes));
      if (best.slot.count >= best.slot.cap && --open === 0) return out;
    }
    if (!this.endgame || this.opts.endgameCopies < 2) return out;
    // Endgame: pieces with the fewest requests out first.
    inFlight.sort((a, b) => requests.forChunk(a).length - requests.forChunk(b).length);
    for (const id of inFlight) {
      const already = requests.forChunk(id);
      if (already.length >= this.opts.endgameCopies) continue;
      const best = bestSlot(ctx, slots, id, already);
      if (!best || (best.at > horizon && best.slot.count > 0)) continue;
      let soonest = Infinity;
      for (const r of already) soonest = Math.min(soonest, r.expectedAt);
      if (best.at >= soonest) continue;
      out.push(takeSlot(best.slot, id, best.at, true, ctx.chunkBytes));
      if (best.slot.count >= best.slot.cap && --open === 0) return out;
    }
    return out;
  }
}

/** Partners whose map shows piece `id` (its rarity among our partners). */
export function holders(slots: readonly Slot[], id: number): number {
  let n = 0;
  for (const s of slots) if (s.map?.has(id)) n++;
  return n;
}

/** Every partner as a supplier for this pick (open: it has a map, room in its window and is not busy). */
export function supplierSlots(ctx: PickContext): Slot[] {
  const { now, requests, estimates, maps, maxInFlightPerPartner } = ctx;
  const slots: Slot[] = [];
  for (const peerId of ctx.partners) {
    const map = maps.get(peerId);
    const count = requests.inFlightCount(peerId);
    const cap = Math.min(maxInFlightPerPartner, estimates.windowOf(peerId));
    const open = map !== undefined && count < cap && !estimates.isBusy(peerId, now);
    slots.push({ peerId, map, count, cap, bytes: requests.queuedBytes(peerId), open });
  }
  return slots;
}

/** The open partner holding `id` expected to deliver it soonest (skipping those already asked). */
export function bestSlot(ctx: PickContext, slots: Slot[], id: number, already: readonly { peerId: string }[] | undefined): { slot: Slot; at: number } | undefined {
  return soonestSupplier(ctx, slots, id, already, (s) => s.open);
}

export function takeSlot(slot: Slot, id: number, at: number, redundant: boolean, bytes: number): ChunkRequest {
  slot.count++;
  slot.bytes += bytes;
  if (slot.count >= slot.cap) slot.open = false;
  return { chunkId: id, peerId: slot.peerId, expectedAt: at, redundant };
}
