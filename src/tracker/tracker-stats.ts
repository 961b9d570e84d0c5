// What a tracker reports in `status` (TrackerEngine.snapshot): its registry, joins, datagram front
// and manifest desk, beside its own peer's snapshot.
import type { EngineSnapshot } from '../engine/engine-stats.js';
import type { ContentKind } from '../protocol/messages.js';
import type { DatagramStats } from './datagram-front.js';
import type { ManifestDeskStats } from './manifest-desk.js';

export interface TrackerContentSnapshot {
  id: string;
  kind: ContentKind;
  title: string;
  /** Active members in the registry. */
  members: number;
}

export interface TrackerStats {
  /** The known contents with the most members (at most STATUS_CONTENTS), and their members. */
  contents: TrackerContentSnapshot[];
  /** Contents known in all. */
  contentCount: number;
  /** Peers the registry currently holds (Redis: of the contents this front end saw). */
  registeredPeers: number;
  /** Admitted joins, redirected joins, refused joins. */
  joins: number;
  redirects: number;
  refusedJoins: number;
  /** Admitted joins per second over the last few seconds. */
  joinsPerSec: number;
  /** Joins answered 'overloaded' because the registry did not answer. */
  registryFailures: number;
  /** Malformed joins (peer id not the sender's, no content id, unknown kind): refused, not registered. */
  badJoins: number;
  /** The registry: 'memory', 'redis' or 'redis-cluster'; whether it answers; its last error. */
  registry: { backend: string; reachable: boolean; lastError?: string };
  /** Datagram (UDP) joins and announces, when the tracker listens for them. */
  udp?: DatagramStats;
  /** Download manifests the tracker keeps and serves (peer role). */
  manifests?: ManifestDeskStats;
}

/** The tracker's own peer snapshot plus the tracker part. */
export interface TrackerSnapshot extends EngineSnapshot {
  tracker: TrackerStats;
}
