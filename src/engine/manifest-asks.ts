// Asking for a download's manifest (docs/downloads.md): without one, ManifestReq goes every
// manifestRetryMs to a few members of the content (partners first, then members the tracker or
// gossip made known), a random manifestFanout of them per round, so one silent member does not hold
// everything up. Within a round, members that became known since (the tracker or a deputy answered
// with one, then more came) are asked at once, up to manifestFanout in the round: the first one
// asked may be busy, its answer queued behind seconds of pieces on a slow uplink. A round that finds
// nobody to ask is tried again at the next call, not a whole period later.
import type { DownloadCore } from './download-core.js';
import type { Destination } from './ports.js';

export class ManifestAsks {
  private nextRoundAt = -Infinity;
  /** Members asked this round. */
  private readonly asked = new Set<string>();

  ask(core: DownloadCore, now: number): void {
    const c = core.config;
    const newRound = now >= this.nextRoundAt;
    if (!newRound && this.asked.size >= c.manifestFanout) return;
    const skip = newRound ? new Set<string>() : this.asked;
    const targets: Destination[] = core.partners.ids.map((id) => core.partners.get(id)!.address).filter((t) => !skip.has(t.peerId ?? ''));
    const seen = new Set(targets.map((t) => t.peerId));
    for (const m of core.engine.knownMembers(core.contentId)) {
      if (!seen.has(m.peerId) && !skip.has(m.peerId)) targets.push({ peerId: m.peerId, contact: m.contact });
    }
    if (targets.length === 0) return;
    if (newRound) {
      this.nextRoundAt = now + c.manifestRetryMs;
      this.asked.clear();
    }
    for (let i = targets.length - 1; i > 0; i--) {
      const j = Math.floor(core.random.next() * (i + 1));
      [targets[i], targets[j]] = [targets[j]!, targets[i]!];
    }
    for (const to of targets.slice(0, c.manifestFanout - this.asked.size)) {
      this.asked.add(to.peerId ?? '');
      core.send(to, { type: 'ManifestReq', peerId: core.selfId, contentId: core.contentId });
    }
  }
}
