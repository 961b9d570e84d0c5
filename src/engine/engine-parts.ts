// Wiring of the overlay engine's components: the mCache (membership.ts), the pCache
// (partnership.ts), the announcer, the tracker client, the member scheduler and the two message
// handlers (partnerships, membership gossip), each given the shared stats and the engine's ports.
// PeerEngine owns the result and does the dispatching; no I/O here.
import type { Contact, ContentKind, Message, Reachability } from '../protocol/messages.js';
import type { Clock, Destination, EngineEvents, Random, Transport } from './ports.js';
import type { EngineConfig } from './engine-config.js';
import type { EngineStats } from './engine-stats.js';
import { MemberCache } from './membership.js';
import { PartnerCache } from './partnership.js';
import { MemberScheduler } from './member-scheduler.js';
import { TrackerClient, type TrackerDatagramPort } from './tracker-client.js';
import { Announcer } from './announcer.js';
import { PartnershipHandler } from './partnership-handler.js';
import { MembershipHandler } from './membership-handler.js';
import type { PeerBlocklist } from './peer-blocklist.js';

/** What the engine's components are built from (PeerEngineDeps without the data-plane hook). */
export interface EngineComponentDeps {
  /** Mutable: the node's reachability test updates contact and reachability (src/net/reachability.ts). */
  self: { peerId: string; contact: Contact; role: string; reachability?: Reachability };
  clock: Clock;
  random: Random;
  transport: Transport;
  config: EngineConfig;
  events?: EngineEvents;
  /** Where the tracker listens; absent for the tracker itself (or a tracker-less peer). */
  tracker?: Contact;
  /** Access ticket to put in TrackerJoin (IMS mode). */
  ticketFor?: (contentId: string) => Uint8Array;
  /** Re-announces over UDP when the tracker answers datagrams (src/net/udp-tracker-client.ts). */
  trackerDatagram?: TrackerDatagramPort;
}

/** The engine's own state the components read, and its counting send / warning sink. */
export interface EngineSurroundings {
  stats: EngineStats;
  contents: ReadonlyMap<string, ContentKind>;
  blocklist: PeerBlocklist;
  send: (to: Destination, msg: Message) => boolean;
  warn: (code: string, message: string, peerId?: string) => void;
}

export interface EngineParts {
  members: MemberCache;
  partners: PartnerCache;
  scheduler: MemberScheduler;
  trackerClient: TrackerClient;
  announcer: Announcer;
  partnerships: PartnershipHandler;
  gossip: MembershipHandler;
}

export function buildEngineParts(deps: EngineComponentDeps, env: EngineSurroundings): EngineParts {
  const { self, config, events, clock, random } = deps;
  const { stats, contents, send } = env;
  const members = new MemberCache({
    selfId: self.peerId,
    maxEntries: config.mCacheMax,
    maxTtlMs: config.maxAcceptedTtlMs,
    events,
    stats,
  });
  const partners = new PartnerCache({ maxPartners: config.maxPartners, events });
  const isBlocked = (contentId: string, peerId: string, now: number): boolean =>
    env.blocklist.isBlocked(contentId, peerId, now);
  // The announcer and the tracker client refer to each other lazily (through these closures).
  const announcer: Announcer = new Announcer({
    self,
    clock,
    random,
    config,
    stats,
    members,
    partners,
    activeContents: () => [...contents.keys()],
    send,
  });
  const trackerClient: TrackerClient = new TrackerClient({
    self,
    tracker: deps.tracker,
    clock,
    config,
    stats,
    events,
    send,
    membership: () => announcer.next(),
    ticketFor: deps.ticketFor,
    transport: deps.transport,
    ...(deps.trackerDatagram ? { datagram: deps.trackerDatagram } : {}),
    // The tracker stays connected while it is a partner, and while we are behind a NAT (it relays
    // the hole-punching rendezvous to us).
    keepTrackerConnection: () => {
      const id = trackerClient.trackerPeerId;
      return self.reachability === 'nat' || (id !== undefined && partners.distinctPartners().has(id));
    },
  });
  const scheduler = new MemberScheduler({
    selfId: self.peerId,
    clock,
    random,
    config,
    stats,
    events,
    members,
    partners,
    transport: deps.transport,
    send,
    reaskTracker: (contentId) => trackerClient.reask(contentId),
    keepConnection: (peerId) => peerId === trackerClient.trackerPeerId,
    isBlocked,
  });
  const handlerDeps = { selfId: self.peerId, config, stats, members, partners, scheduler, send };
  const partnerships = new PartnershipHandler({ ...handlerDeps, clock, isBlocked, self });
  const gossip = new MembershipHandler({
    ...handlerDeps,
    random,
    activeContents: () => contents.keys(),
    isActive: (contentId) => contents.has(contentId),
    selfInfo: () => announcer.selfInfo(),
    trackerPeerId: () => trackerClient.trackerPeerId,
    warn: env.warn,
  });
  return { members, partners, scheduler, trackerClient, announcer, partnerships, gossip };
}
