// What node.ts adds for the segment roles: a main node (uplink + local tracker on the segment,
// main-segment.ts) and a local node with no tracker address (discovery, local-discovery.ts). Keeps the
// composition root to a few lines per role.
import type { Config } from '../config/schema.js';
import { formatContact } from '../config/address.js';
import type { PeerEngine } from '../engine/peer-engine.js';
import type { Picker } from '../engine/picker.js';
import type { Clock, EngineEvents, Random } from '../engine/ports.js';
import type { DownloadNode, DownloadNodeEngine } from '../download-node.js';
import type { LiveNode, LiveNodeEngine } from '../live-node.js';
import type { ConnectionManager } from '../net/connection-manager.js';
import { detectInterfaceRoles, type InterfaceRoles, type IfaceFacts } from '../platform/interface-roles.js';
import type { Logger } from '../platform/logger.js';
import type { Contact } from '../protocol/messages.js';
import { DownloadRelay } from './download-relay.js';
import { LocalTrackerFinder } from './local-discovery.js';
import { MainSegment, type SegmentStatus, type UplinkStatus } from './main-segment.js';
import { allBroadcasts, lanTargets, resolveSegmentAddress } from './segment-address.js';

export interface SegmentRoleStatus {
  uplink?: UplinkStatus;
  segment?: SegmentStatus;
  discovery?: ReturnType<LocalTrackerFinder['status']>;
}

export interface SegmentRole {
  /** The engine the live side drives (a main node's bridge; the node's own engine otherwise). */
  liveEngine: LiveNodeEngine;
  pickerFor?: (contentId: string) => Picker;
  /** Main node: the engine downloads run on (the bridge) and their picker kept to our uplink share. */
  downloadEngine?: DownloadNodeEngine;
  downloadPicker?: (contentId: string, inner: Picker) => Picker;
  attach(live: LiveNode, downloads?: DownloadNode): void;
  tick(): void;
  status(): SegmentRoleStatus;
  /** Main node: peers connected on the segment side. */
  segmentPeers?(): Array<{ peerId: string; contact: string }>;
  stop(): Promise<void>;
}

export class SegmentRoleError extends Error {
  override name = 'SegmentRoleError';
}

/** Interface roles, probed once at start (main and local roles). */
export async function probeRoles(cfg: Config): Promise<{ roles: InterfaceRoles; interfaces: IfaceFacts[] }> {
  return detectInterfaceRoles({ uplink: cfg.segment.uplinkInterface, segment: cfg.segment.interface });
}

export interface MainRoleDeps {
  cfg: Config;
  peerId: string;
  engine: PeerEngine;
  net: ConnectionManager;
  central: Contact | undefined;
  probed: { roles: InterfaceRoles; interfaces: IfaceFacts[] };
  uplinkAddress: string;
  clock: Clock;
  random: Random;
  events: EngineEvents;
  log: Logger;
}

export async function startMainRole(d: MainRoleDeps): Promise<SegmentRole> {
  if (!d.central) throw new SegmentRoleError('a main node needs the central tracker: --tracker HOST:PORT');
  const address = resolveSegmentAddress(d.cfg.segment, d.probed.interfaces, d.probed.roles);
  if (typeof address === 'string') throw new SegmentRoleError(address);
  const targets = lanTargets(d.cfg.segment, [address.broadcast]);
  if (typeof targets === 'string') throw new SegmentRoleError(targets);
  if (targets.length === 0) throw new SegmentRoleError(`no broadcast address for the segment ${formatContact(address.contact)}: set segment.announceTargets`);
  const seg = await MainSegment.start({
    cfg: d.cfg,
    peerId: d.peerId,
    uplink: d.engine,
    uplinkNet: d.net,
    uplinkInterface: d.probed.roles.uplink?.name ?? '',
    uplinkAddress: d.uplinkAddress,
    segment: address,
    lanTargets: targets,
    central: d.central,
    clock: d.clock,
    random: d.random,
    events: d.events,
    log: d.log.child({ component: 'segment' }),
  });
  return {
    liveEngine: seg.bridge,
    pickerFor: seg.pickerFor,
    downloadEngine: seg.bridge,
    downloadPicker: seg.sharedPicker,
    attach: (live, downloads) => seg.attach(live, downloads ? new DownloadRelay(downloads, d.log.child({ component: 'segment' })) : undefined),
    tick: () => seg.tick(),
    status: () => seg.status(),
    segmentPeers: () => seg.segmentPeers(),
    stop: () => seg.stop(),
  };
}

export interface LocalRoleDeps {
  cfg: Config;
  peerId: string;
  engine: PeerEngine;
  net: ConnectionManager;
  probed: { roles: InterfaceRoles; interfaces: IfaceFacts[] };
  log: Logger;
}

/** A local node without a tracker address: looks for the local tracker and joins through it. */
export function startLocalRole(d: LocalRoleDeps): SegmentRole {
  const seg = d.probed.roles.segment;
  const broadcasts = seg?.broadcast ? [seg.broadcast] : allBroadcasts(d.probed.interfaces);
  const targets = lanTargets(d.cfg.segment, broadcasts);
  if (typeof targets === 'string') throw new SegmentRoleError(targets);
  let live: LiveNode | undefined;
  const finder = new LocalTrackerFinder({
    peerId: d.peerId,
    config: d.cfg.segment,
    targets,
    log: d.log.child({ component: 'discovery' }),
    onFound: (tracker) => {
      d.engine.setTracker(tracker);
      live?.setTracker(tracker);
    },
    trackerConnected: () => {
      const id = d.engine.trackerPeerId;
      return id === undefined ? undefined : d.net.connectedPeers().some((p) => p.peerId === id);
    },
  });
  finder.start();
  return {
    liveEngine: d.engine,
    attach: (l) => {
      live = l;
      if (finder.tracker) l.setTracker(finder.tracker);
    },
    tick: () => finder.tick(),
    status: () => ({ discovery: finder.status() }),
    stop: () => finder.stop(),
  };
}
