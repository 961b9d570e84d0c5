// The status model shown by `superdist status` (table or --json) and the control API.
import type { VodStatus } from '../vod-node.js';
import type { ImsStatus } from '../ims/ims-service.js';
import type { MemoryPlan } from '../platform/memory.js';
import type { PeerEngine } from '../engine/peer-engine.js';
import { TrackerEngine, type TrackerStats } from '../tracker/tracker-engine.js';
import type { ConnectionManager, NetStats } from '../net/connection-manager.js';
import type { DialBackService } from '../net/dial-back.js';
import type { NatStatus } from '../net/nat-traversal.js';
import type { PunchRelay } from '../net/hole-punch.js';
import type { LiveContentStatus, LiveNode, TvStatus } from '../live-node.js';
import type { DownloadContentStatus, DownloadNode } from '../download-node.js';
import type { SegmentRoleStatus } from '../segment/segment-role.js';
import type { UpdateStatus } from '../update/update-status.js';
import type { WebStatus } from '../web/web-status.js';

export interface ContentStatus extends LiveContentStatus {
  id: string;
  kind: string;
  partners: number;
  partnerIds: string[];
  /** Download contents: progress, verified pieces, bytes in/out, bad pieces, peers (download-node.ts). */
  download?: DownloadContentStatus;
}

/** `uplink` and `segment` on a main node, `discovery` on a local node (src/segment/). */
export interface Status extends SegmentRoleStatus {
  node: {
    id: string;
    role: string;
    name: string;
    version: string;
    contact: string;
    tracker: string;
    uptimeS: number;
    /** The service's process and state directory (`superdist doctor` matches them with lock holders). */
    pid?: number;
    stateDir?: string;
  };
  contents: ContentStatus[];
  members: number;
  memory: { totalRamBytes: number; budgetBytes: number; bufferBytes: number; rssBytes: number };
  /** Transport counters; on a node behind a tracker also reachability, publicContact, portMapping (docs/nat.md); on a tracker its dial-back tests. */
  net: NetStats & Partial<NatStatus> & { dialBackTests?: number; dialBackReachable?: number; punchesRelayed?: number };
  engine: Record<string, number>;
  tracker?: TrackerStats;
  ims?: ImsStatus;
  /** The web remote (src/web/): its URLs and the owner's settings. */
  web?: WebStatus;
  /** What the TV shows (nodes only): idle screen or a channel. */
  tv?: TvStatus;
  /** The firmware update agent when it runs (docs/updates.md). */
  update?: UpdateStatus;
  /** A download played on the TV while it downloads (src/vod-node.ts); null when none plays. */
  vod?: VodStatus | null;
}

export interface StatusSources {
  version: string;
  startedAt: number;
  role: string;
  name: string;
  tracker: string;
  contact: string;
  stateDir: string;
  memory: MemoryPlan;
  engine: PeerEngine | TrackerEngine;
  net: ConnectionManager;
  /** A node's reachability and port mapping (src/net/nat-traversal.ts). */
  nat?: NatStatus | undefined;
  /** A tracker's dial-back tests (src/net/dial-back.ts). */
  dialBack?: DialBackService | undefined;
  /** A tracker's hole-punching rendezvous (src/net/hole-punch.ts). */
  punchRelay?: PunchRelay | undefined;
  live?: LiveNode;
  downloads?: DownloadNode;
}

export function buildStatus(s: StatusSources): Status {
  const snap = s.engine.snapshot();
  const status: Status = {
    node: {
      id: snap.peerId,
      role: s.role,
      name: s.name,
      version: s.version,
      contact: s.contact,
      tracker: s.tracker,
      uptimeS: Math.round((Date.now() - s.startedAt) / 1000),
      pid: process.pid,
      stateDir: s.stateDir,
    },
    contents: snap.contents.map((c) => ({
      id: c.id,
      kind: c.kind,
      partners: c.partners.length,
      partnerIds: [...c.partners],
      ...s.live?.contentStatus(c.id),
      ...withDownload(s.downloads?.contentStatus(c.id)),
    })),
    members: snap.members,
    memory: { totalRamBytes: s.memory.totalRamBytes, budgetBytes: s.memory.budgetBytes, bufferBytes: (s.live?.bufferBytes() ?? 0) + (s.downloads?.cacheBytes() ?? 0), rssBytes: process.memoryUsage.rss() },
    net: {
      ...s.net.stats(),
      ...s.nat,
      ...(s.dialBack ? { dialBackTests: s.dialBack.tests, dialBackReachable: s.dialBack.reachable } : {}),
      ...(s.punchRelay ? { punchesRelayed: s.punchRelay.relayed } : {}),
    },
    engine: { ...snap.stats },
  };
  if (s.engine instanceof TrackerEngine) status.tracker = s.engine.snapshot().tracker;
  if (s.live) status.tv = s.live.tvStatus();
  return status;
}

function withDownload(d: DownloadContentStatus | undefined): { download?: DownloadContentStatus } {
  return d ? { download: d } : {};
}
