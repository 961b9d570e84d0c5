// Asking for a download's manifest (docs/downloads.md): without one, ManifestReq goes every
// manifestRetryMs to a few members of the content (partners first, then members the tracker or
// gossip made known), a random manifestFanout of them per round, so one silent member does not hold
// everything up. Within a round, members that became known since (the tracker or a deputy answered
// with one, then more came) are asked at once, up to manifestFanout in the round: the first one
// asked may be busy, its answer queued behind seconds of pieces on a slow uplink. A round that finds
// nobody to ask is tried again at the next call, not a whole period later. The tracker is asked
// too, once a round and beside the fanout, from the first call on (before it has answered the
// join): a tracker that is also a peer keeps download manifests (tracker/manifest-desk.ts) and
// answers at once, where a holder's answer may wait behind seconds of pieces in its uplink's queue.
// A tracker that answered a join without listing itself (it answers joins only) is not asked.
import type { DownloadCore } from './download-core.js';
import type { Destination } from './ports.js';
import { sample } from './random-util.js';

export class ManifestAsks {
  private nextRoundAt = -Infinity;
  private trackerNextAt = -Infinity;
  /** Members asked this round (none yet: the next ask starts a round). */
  private readonly asked = new Set<string>();

  ask(core: DownloadCore, now: number): void {
    const c = core.config;
    const tracker = core.engine.trackerDestination?.();
    if (tracker && now >= this.trackerNextAt) {
      this.trackerNextAt = now + c.manifestRetryMs;
      core.send(tracker, { type: 'ManifestReq', peerId: core.selfId, contentId: core.contentId });
    }
    if (now >= this.nextRoundAt) this.asked.clear();
    else if (this.asked.size >= c.manifestFanout) return;
    const fresh = (id: string | undefined) => !this.asked.has(id ?? '') && (id === undefined || id !== tracker?.peerId);
    const targets: Destination[] = core.partners.ids.map((id) => core.partners.get(id)!.address).filter((t) => fresh(t.peerId));
    const seen = new Set(targets.map((t) => t.peerId));
    for (const m of core.engine.knownMembers(core.contentId)) {
      if (!seen.has(m.peerId) && fresh(m.peerId)) targets.push({ peerId: m.peerId, contact: m.contact });
    }
    if (targets.length === 0) return;
    if (this.asked.size === 0) this.nextRoundAt = now + c.manifestRetryMs;
    for (const to of sample(core.random, targets, c.manifestFanout - this.asked.size)) {
      this.asked.add(to.peerId ?? '');
      core.send(to, { type: 'ManifestReq', peerId: core.selfId, contentId: core.contentId });
    }
  }
}
