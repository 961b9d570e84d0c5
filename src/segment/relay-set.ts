// Which channels a main node relays from its uplink into the segment, sans-IO: those the segment wants
// (the plan's `wanted`, i.e. contents peers on the segment joined at the local tracker) plus those the
// box itself watches. A channel no longer wanted is kept relayForLingerMs (a viewer switching back,
// or a plan briefly missing) before it is dropped.
export interface RelayChanges {
  start: string[];
  stop: string[];
}

export class RelaySet {
  private readonly relayed = new Map<string, { unwantedSince: number | undefined }>();

  constructor(private readonly lingerMs: number) {}

  get contents(): string[] {
    return [...this.relayed.keys()];
  }

  has(contentId: string): boolean {
    return this.relayed.has(contentId);
  }

  /** Aligns with what is wanted now; returns what to start and stop. */
  update(wanted: Iterable<string>, now: number): RelayChanges {
    const want = new Set(wanted);
    const start: string[] = [];
    const stop: string[] = [];
    for (const c of want) {
      const r = this.relayed.get(c);
      if (r) r.unwantedSince = undefined;
      else {
        this.relayed.set(c, { unwantedSince: undefined });
        start.push(c);
      }
    }
    for (const [c, r] of this.relayed) {
      if (want.has(c)) continue;
      r.unwantedSince ??= now;
      if (now - r.unwantedSince >= this.lingerMs) {
        this.relayed.delete(c);
        stop.push(c);
      }
    }
    return { start, stop };
  }
}
