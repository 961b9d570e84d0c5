// Shared uplink, sans-IO: the local tracker's coordinator turns the main nodes' reports into a plan,
// and every main node reads its slot from the latest plan.
//
// Coordinator (on the elected main node): a main node counts while its reports keep coming
// (mainTimeoutMs); the plan for a content lists, sorted by peer id, the main nodes whose uplink works
// and that relay the content. The epoch grows whenever the plan changes.
//
// Slot (on every main node): main i of k fetches over its uplink the chunks whose id ≡ i (mod k) and
// gets the others over the segment. Without a fresh plan (no local tracker, or it went silent for
// planTimeoutMs) a main node takes the whole uplink: continuity first, sharing when agreed.
import type { ContentShare, SharePlan, ShareReport } from './share-datagram.js';

/** What a main node fetches over its uplink for one content. */
export type UplinkSlot =
  /** everything (alone, or no plan) */
  | { kind: 'all' }
  /** chunk ids ≡ index (mod k) */
  | { kind: 'share'; index: number; k: number }
  /** nothing: the others cover it (uplink down, or not in the plan yet) */
  | { kind: 'none' };

export function inSlot(chunkId: number, slot: UplinkSlot): boolean {
  if (slot.kind === 'all') return true;
  if (slot.kind === 'none') return false;
  return chunkId % slot.k === slot.index;
}

export function describeSlot(slot: UplinkSlot): string {
  return slot.kind === 'share' ? `${slot.index}/${slot.k}` : slot.kind;
}

interface MainEntry {
  report: ShareReport;
  lastAt: number;
}

export interface ShareCoordinatorOptions {
  leaderId: string;
  /** A main node whose reports stop for this long is out of the plan. */
  mainTimeoutMs: number;
}

export class ShareCoordinator {
  private readonly mains = new Map<string, MainEntry>();
  private epoch = 0;
  private lastKey = '';

  constructor(private readonly opts: ShareCoordinatorOptions) {}

  /** A main node's report (the leader's own one too). */
  report(r: ShareReport, now: number): void {
    this.mains.set(r.peerId, { report: { ...r, contents: [...r.contents] }, lastAt: now });
  }

  /** A main node said goodbye (or its connection to us closed): out of the plan at once. */
  forget(peerId: string): void {
    this.mains.delete(peerId);
  }

  /** Main nodes currently counted (any uplink state). */
  knownMains(now: number): string[] {
    this.expire(now);
    return [...this.mains.keys()].sort();
  }

  /** The plan for `wanted` contents (plus whatever main nodes relay on their own). */
  plan(now: number, wanted: readonly string[]): SharePlan {
    this.expire(now);
    const contents = new Set(wanted);
    for (const e of this.mains.values()) for (const c of e.report.contents) contents.add(c);
    const shares: ContentShare[] = [];
    for (const contentId of [...contents].sort()) {
      const mains = [...this.mains.values()]
        .filter((e) => e.report.uplinkUp && e.report.contents.includes(contentId))
        .map((e) => e.report.peerId)
        .sort();
      if (mains.length > 0) shares.push({ contentId, mains });
    }
    const w = [...new Set(wanted)].sort();
    const key = JSON.stringify([w, shares]);
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.epoch++;
    }
    return { kind: 'plan', leaderId: this.opts.leaderId, epoch: this.epoch, wanted: w, shares };
  }

  private expire(now: number): void {
    for (const [id, e] of this.mains) if (now - e.lastAt > this.opts.mainTimeoutMs) this.mains.delete(id);
  }
}

/** A main node's view of the plan: its slot per content, falling back to 'all' when the plan is stale. */
export class ShareView {
  private plan: SharePlan | undefined;
  private receivedAt = -Infinity;

  constructor(
    private readonly selfId: string,
    private readonly planTimeoutMs: number,
  ) {}

  /** A plan from the local tracker (older epochs of the same leader are ignored). */
  accept(plan: SharePlan, now: number): boolean {
    const cur = this.plan;
    if (cur && cur.leaderId === plan.leaderId && plan.epoch < cur.epoch && now - this.receivedAt <= this.planTimeoutMs) return false;
    this.plan = plan;
    this.receivedAt = now;
    return true;
  }

  /** Forget the plan (the local tracker is gone): every slot becomes 'all' at once. */
  drop(): void {
    this.plan = undefined;
    this.receivedAt = -Infinity;
  }

  current(now: number): SharePlan | undefined {
    return this.plan && now - this.receivedAt <= this.planTimeoutMs ? this.plan : undefined;
  }

  wanted(now: number): string[] {
    return this.current(now)?.wanted ?? [];
  }

  /** Main nodes named in the plan, except ourselves. */
  siblings(now: number): string[] {
    const out = new Set<string>();
    for (const s of this.current(now)?.shares ?? []) for (const m of s.mains) if (m !== this.selfId) out.add(m);
    return [...out];
  }

  slot(contentId: string, now: number, uplinkUp: boolean): UplinkSlot {
    if (!uplinkUp) return { kind: 'none' };
    const plan = this.current(now);
    const share = plan?.shares.find((s) => s.contentId === contentId);
    if (!share || share.mains.length === 0) return { kind: 'all' };
    const index = share.mains.indexOf(this.selfId);
    if (index < 0) return { kind: 'none' };
    if (share.mains.length === 1) return { kind: 'all' };
    return { kind: 'share', index, k: share.mains.length };
  }
}
