// Whether a main node's uplink works, sans-IO. Down when the interface says so (operstate), or when
// chunk requests went out over the uplink and no chunk came back for stallMs; a stall verdict is
// retried after 2 × stallMs (otherwise a main node that fetches nothing over a "down" uplink could
// never see it come back). Reported to the local tracker, which then leaves it out of the plan.
export interface UplinkSignals {
  now: number;
  /** Interface operstate is 'down' (false when unknown). */
  interfaceDown: boolean;
  lastRequestAt: number;
  lastChunkAt: number;
}

export class UplinkHealth {
  private stalledAt: number | undefined;
  private since: number;
  private lastUp = true;
  private reason = '';

  constructor(private readonly stallMs: number, now: number) {
    this.since = now;
  }

  get why(): string {
    return this.reason;
  }

  /** Evaluates; returns whether the uplink is usable now. */
  update(s: UplinkSignals): boolean {
    let up = true;
    if (s.interfaceDown) {
      up = false;
      this.reason = 'interface down';
    } else if (this.stalledAt !== undefined && s.now - this.stalledAt < 2 * this.stallMs && s.lastChunkAt < this.stalledAt) {
      up = false;
    } else {
      this.stalledAt = undefined;
      // Requests kept going out for stallMs (since we last heard a chunk, or since we started) with nothing back.
      const quietSince = Math.max(s.lastChunkAt, this.since);
      if (s.lastRequestAt > quietSince && s.now - quietSince > this.stallMs && s.now - s.lastRequestAt < this.stallMs) {
        this.stalledAt = s.now;
        up = false;
        this.reason = `no chunk over the uplink for ${Math.round((s.now - quietSince) / 1000)} s while requesting`;
      }
    }
    if (up) this.reason = '';
    if (up && !this.lastUp) this.since = s.now; // a fresh start for the next stall check
    this.lastUp = up;
    return up;
  }
}
