// The shared-uplink hook of the live data scheduler (plugged in through LiveChannels' pickerFor):
// wraps the normal picker and, for partners reached through the uplink, hides every chunk outside
// this main node's slot (id ≡ i mod k), so those are fetched from the segment — from the sibling main
// node that has them in its slot. A chunk outside the slot may still come over the uplink when its
// deadline is closer than fallbackMs and nobody on the segment holds it (a sibling that just died
// or lost its uplink); redundant (second) requests over the uplink only in that window too.
// Whatever the slot, at most maxUplinkInFlight requests are outstanding over the uplink at a time:
// all uplink partners share one narrow link, and more requests than it carries within the request
// timeout come back twice (re-issued elsewhere, then delivered late) — uplink bytes for nothing.
// Pushed sub-streams (docs/live-push.md) follow the slot too: an uplink partner may push us only a
// sub-stream whose chunks all lie in our slot; the others come from the segment (the sibling main
// node pushes or serves them).
import { BufferMap, RemoteBufferMap } from '../engine/buffer-map.js';
import type { ChunkRequest, PickContext, Picker } from '../engine/picker.js';
import { inSlot, type UplinkSlot } from './share-plan.js';
import type { Side } from './bridged-engine.js';

export interface SharedUplinkPickerOptions {
  inner: Picker;
  /** Which side a partner is reached on. */
  sideOf: (peerId: string) => Side | undefined;
  /** This main node's current slot for the content. */
  slot: () => UplinkSlot;
  /** Chunks due sooner than this may come over the uplink whatever the slot. */
  fallbackMs: number;
  /** Most requests outstanding over the uplink at once (all uplink partners together). */
  maxUplinkInFlight: number;
  /** Counts chunk requests allowed only by the fallback (status). */
  onFallback?: (n: number) => void;
}

export class SharedUplinkPicker implements Picker {
  constructor(private readonly o: SharedUplinkPickerOptions) {}

  pushFrom(peerId: string, substream: number, count: number): boolean {
    if (this.o.sideOf(peerId) !== 'uplink') return true;
    const slot = this.o.slot();
    if (slot.kind !== 'share') return slot.kind === 'all';
    // Sub-stream s holds ids ≡ s (mod count): all of them are in slot i of k only when k divides count.
    return count % slot.k === 0 && substream % slot.k === slot.index;
  }

  pick(ctx: PickContext): ChunkRequest[] {
    const slot = this.o.slot();
    const uplink = new Set(ctx.partners.filter((p) => this.o.sideOf(p) === 'uplink'));
    if (uplink.size === 0) return this.o.inner.pick(ctx);
    let room = this.o.maxUplinkInFlight;
    for (const p of uplink) room -= ctx.requests.inFlightCount(p);
    const deadline = ctx.deadline ?? (() => Infinity);
    const segmentMaps = ctx.partners.filter((p) => !uplink.has(p)).map((p) => ctx.maps.get(p)).filter((m): m is BufferMap => m !== undefined);
    const urgentHere = (id: number) => deadline(id) - ctx.now < this.o.fallbackMs;
    const allowed = (id: number) => inSlot(id, slot) || (urgentHere(id) && !segmentMaps.some((m) => m.has(id)));
    const maps = new RemoteBufferMap();
    for (const p of ctx.partners) {
      const m = ctx.maps.get(p);
      if (!m) continue;
      const seen = ctx.maps.receivedAtMs(p) ?? ctx.now;
      if (!uplink.has(p)) maps.update(p, m, seen);
      else if (room > 0) maps.update(p, slot.kind === 'all' ? m : BufferMap.derive(m.baseId, m.length, (id) => m.has(id) && allowed(id)), seen);
    }
    const out: ChunkRequest[] = [];
    for (const r of this.o.inner.pick({ ...ctx, maps })) {
      if (uplink.has(r.peerId)) {
        if (room <= 0 || (r.redundant && !urgentHere(r.chunkId))) continue;
        room--;
      }
      out.push(r);
    }
    const fallback = out.filter((r) => uplink.has(r.peerId) && !inSlot(r.chunkId, slot)).length;
    if (fallback > 0) this.o.onFallback?.(fallback);
    return out;
  }
}
