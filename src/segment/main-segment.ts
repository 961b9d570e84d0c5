// The segment side of a main node (thesis §4.2.1): a second peer engine S on the local segment, with
// the same peer id as the uplink engine U, bridged into one data plane (bridged-engine.ts); S becomes
// the local tracker when this main node wins the election (a TrackerEngine layered over S, a LAN
// announcer, the BLE beacon, the shared-uplink coordinator), or joins the elected one otherwise. The
// channels and downloads the segment wants are relayed from the uplink (downloads: download-relay.ts);
// several main nodes split the uplink download by the coordinator's plan (share-plan.ts,
// shared-uplink-picker.ts).
import type { Config } from '../config/schema.js';
import { formatContact } from '../config/address.js';
import { LivePicker } from '../engine/live-picker.js';
import { PeerEngine } from '../engine/peer-engine.js';
import type { Picker } from '../engine/picker.js';
import type { Clock, EngineEvents, PeerAddress, Random } from '../engine/ports.js';
import type { LiveNode } from '../live-node.js';
import { ConnectionManager } from '../net/connection-manager.js';
import type { LanAnnouncerStats } from '../net/udp-announce.js';
import type { BleBeacon } from '../platform/ble-hci.js';
import type { Logger } from '../platform/logger.js';
import type { Contact, Message } from '../protocol/messages.js';
import { TrackerEngine, type TrackerStats } from '../tracker/tracker-engine.js';
import { BridgedEngine } from './bridged-engine.js';
import { CentralCatalogue } from './catalogue.js';
import { SegmentElection, type ElectionChange } from './election.js';
import { RelaySet } from './relay-set.js';
import type { DownloadRelay } from './download-relay.js';
import { isDownloadId, manifestHashesTo } from '../source/piece-verifier.js';
import type { SegmentAddress } from './segment-address.js';
import { SegmentProbe, ShareSocket } from './segment-udp.js';
import type { ShareDatagram, ShareReport } from './share-datagram.js';
import { describeSlot, ShareCoordinator, ShareView } from './share-plan.js';
import { SharedUplinkPicker } from './shared-uplink-picker.js';
import { TrackerAnnounce } from './tracker-announce.js';
import { UplinkHealth } from './uplink-health.js';
import { readFileSync } from 'node:fs';

export interface MainSegmentDeps {
  cfg: Config;
  peerId: string;
  /** The uplink engine (central overlay) and its transport. */
  uplink: PeerEngine;
  uplinkNet: ConnectionManager;
  uplinkInterface: string;
  uplinkAddress: string;
  segment: SegmentAddress;
  /** Where LAN queries and announces go. */
  lanTargets: Contact[];
  central: Contact | undefined;
  clock: Clock;
  random: Random;
  events: EngineEvents;
  log: Logger;
}

export interface UplinkStatus {
  interface: string;
  address: string;
  up: boolean;
  why?: string;
  /** Everything received through the uplink (TCP payload bytes of the uplink transport). */
  bytesIn: number;
  bytesOut: number;
  /** Chunk payload bytes received from uplink partners. */
  chunkBytesIn: number;
  chunksIn: number;
  /** Requests sent over the uplink outside our share (deadline fallback). */
  fallbackRequests: number;
  /** Our slot per relayed channel: 'all', 'i/k' or 'none'. */
  shares: Array<{ contentId: string; share: string }>;
}

export interface SegmentStatus {
  interface: string;
  address: string;
  tracker: 'electing' | 'leader' | 'follower';
  leader?: { peerId: string; contact: string };
  planEpoch: number | null;
  mains: string[];
  wanted: string[];
  relays: string[];
  bytesIn: number;
  bytesOut: number;
  connections: number;
  localTracker?: TrackerStats;
  lan?: LanAnnouncerStats;
  beacon: ReturnType<BleBeacon['status']>;
}

export class MainSegment {
  readonly bridge: BridgedEngine;
  private readonly segment: PeerEngine;
  private tracker: TrackerEngine | undefined;
  private readonly election: SegmentElection;
  private readonly coordinator: ShareCoordinator;
  private readonly view: ShareView;
  private readonly relays: RelaySet;
  private readonly health: UplinkHealth;
  private readonly catalogue: CentralCatalogue;
  private readonly announce: TrackerAnnounce;
  private readonly probe: SegmentProbe;
  private readonly share: ShareSocket;
  private live: LiveNode | undefined;
  private downloads: DownloadRelay | undefined;
  private uplinkUp = true;
  private nextReportAt = 0;
  private fallbackRequests = 0;
  private ifaceDown = false;
  private nextIfaceCheckAt = 0;
  private stopped = false;

  private constructor(
    private readonly deps: MainSegmentDeps,
    private readonly net: ConnectionManager,
  ) {
    const { cfg, peerId, clock } = deps;
    const c = cfg.segment;
    const now = clock.now();
    this.segment = new PeerEngine({ self: { peerId, role: 'main', contact: net.contact }, clock, random: deps.random, transport: net, config: cfg.engine, events: deps.events });
    this.bridge = new BridgedEngine(deps.uplink, this.segment, clock);
    this.election = new SegmentElection({ selfId: peerId, waitMs: c.electionWaitMs, leaderTimeoutMs: c.leaderTimeoutMs, rankStepMs: c.rankStepMs }, now);
    this.coordinator = new ShareCoordinator({ leaderId: peerId, mainTimeoutMs: c.mainTimeoutMs });
    this.view = new ShareView(peerId, c.planTimeoutMs);
    this.relays = new RelaySet(c.relayLingerMs);
    this.health = new UplinkHealth(c.uplinkStallMs, now);
    this.catalogue = new CentralCatalogue(deps.central, c.catalogueRefreshMs);
    this.announce = new TrackerAnnounce({ peerId, config: c, targets: deps.lanTargets, tracker: net.contact, contents: () => this.relays.contents, log: deps.log });
    const warn = (w: { code: string; message: string }) => deps.log.warn(w, w.message);
    this.probe = new SegmentProbe({
      peerId,
      targets: deps.lanTargets,
      bindHost: '0.0.0.0',
      intervalMs: c.probeIntervalMs,
      onAnnounce: (t) => this.onChange(this.election.heard(t.peerId, t.contact, clock.now())),
      onWarning: warn,
    });
    this.share = new ShareSocket({ onDatagram: (d, from) => this.onShare(d, from), onWarning: warn });
  }

  static async start(deps: MainSegmentDeps): Promise<MainSegment> {
    const holder: { seg?: MainSegment } = {};
    const net = new ConnectionManager({
      self: { peerId: deps.peerId, contact: { ...deps.segment.contact }, role: 'main' },
      limits: deps.cfg.net,
      onMessage: (from, msg) => holder.seg?.onMessage(from, msg),
      onPeerDisconnected: (id) => holder.seg?.onDisconnect(id),
      onWarning: (w) => deps.log.warn(w, w.message),
    });
    await net.listen(deps.segment.contact.host, deps.segment.contact.port);
    const seg = new MainSegment(deps, net);
    holder.seg = seg;
    try {
      await seg.share.bind(deps.segment.contact.host, deps.cfg.segment.coordinationPort);
      await seg.probe.start();
    } catch (err) {
      await seg.stop();
      throw new Error(`segment ${formatContact(deps.segment.contact)}: ${(err as Error).message}`);
    }
    deps.log.info({ segment: formatContact(net.contact), iface: deps.segment.iface, uplink: deps.uplinkInterface, targets: deps.lanTargets.map(formatContact) }, 'main node: looking for a local tracker on the segment');
    return seg;
  }

  /** The picker of a relayed channel: the live picker restricted to our share of the uplink. */
  pickerFor = (contentId: string): Picker =>
    this.sharedPicker(contentId, new LivePicker({ urgentMs: this.deps.cfg.live.urgentMs, deadlineBucketMs: this.deps.cfg.live.deadlineBucketMs }));

  /**
   * The picker of a relayed content restricted to our share of the uplink: for a download, pieces
   * whose index is outside our slot come from the segment only (no deadline, so no fallback).
   */
  sharedPicker = (contentId: string, inner: Picker): Picker =>
    new SharedUplinkPicker({
      inner,
      sideOf: (peerId) => this.bridge.sideOf(contentId, peerId),
      slot: () => this.view.slot(contentId, this.deps.clock.now(), this.uplinkUp),
      fallbackMs: this.deps.cfg.segment.uplinkFallbackMs,
      maxUplinkInFlight: this.deps.cfg.segment.uplinkMaxInFlight,
      onFallback: (n) => (this.fallbackRequests += n),
    });

  attach(live: LiveNode, downloads?: DownloadRelay): void {
    this.live = live;
    this.downloads = downloads;
  }

  tick(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    const others = this.coordinator.knownMains(now).concat(this.view.siblings(now)).filter((id) => id !== this.deps.peerId);
    this.onChange(this.election.tick(now, others));
    if (this.tracker) this.tracker.tick();
    else this.segment.tick();
    this.checkUplink(now);
    if (now >= this.nextReportAt) {
      this.nextReportAt = now + this.deps.cfg.segment.reportIntervalMs;
      this.reportShare(now);
      this.updateRelays(now);
    }
    this.bridge.setSiblings(this.coordinator.knownMains(now).concat(this.view.siblings(now)));
    this.bridge.tick(this.relays.contents);
  }

  /** Peers connected on the segment side (local nodes, other main nodes), for `peers` and the web page. */
  segmentPeers(): Array<{ peerId: string; contact: string }> {
    return this.net.connectedPeers().map((p) => ({ peerId: p.peerId, contact: formatContact(p.contact) }));
  }

  status(): { uplink: UplinkStatus; segment: SegmentStatus } {
    const now = this.deps.clock.now();
    const up = this.deps.uplinkNet.stats();
    const seg = this.net.stats();
    const s = this.election.state;
    const plan = this.view.current(now);
    const u = this.bridge.uplinkCounters;
    return {
      uplink: {
        interface: this.deps.uplinkInterface,
        address: this.deps.uplinkAddress,
        up: this.uplinkUp,
        ...(this.health.why ? { why: this.health.why } : {}),
        bytesIn: up.bytesIn,
        bytesOut: up.bytesOut,
        chunkBytesIn: u.chunkBytesIn,
        chunksIn: u.chunksIn,
        fallbackRequests: this.fallbackRequests,
        shares: this.relays.contents.map((contentId) => ({ contentId, share: describeSlot(this.view.slot(contentId, now, this.uplinkUp)) })),
      },
      segment: {
        interface: this.deps.segment.iface,
        address: formatContact(this.net.contact),
        tracker: s.kind,
        ...(s.kind === 'follower' ? { leader: { peerId: s.leaderId, contact: formatContact(s.contact) } } : {}),
        planEpoch: plan?.epoch ?? null,
        mains: [...new Set([this.deps.peerId, ...this.coordinator.knownMains(now), ...this.view.siblings(now)])].sort(),
        wanted: this.view.wanted(now),
        relays: this.relays.contents,
        bytesIn: seg.bytesIn,
        bytesOut: seg.bytesOut,
        connections: seg.connections,
        ...(this.tracker ? { localTracker: this.tracker.snapshot().tracker } : {}),
        ...(this.announce.lanStats ? { lan: this.announce.lanStats } : {}),
        beacon: this.announce.beaconStatus(),
      },
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const s = this.election.state;
    if (s.kind === 'follower') {
      // Goodbye: out of the plan at once, so the others widen their share now.
      await this.share.send({ kind: 'report', peerId: this.deps.peerId, uplinkUp: false, contents: [] }, { host: s.contact.host, port: this.deps.cfg.segment.coordinationPort }).catch(() => false);
    }
    await this.announce.stop();
    await this.probe.stop();
    await this.share.close();
    for (const c of this.segment.snapshot().contents) this.segment.leave(c.id);
    await new Promise((r) => setTimeout(r, 100));
    await this.net.close();
  }

  // ---- segment transport --------------------------------------------------------------------

  private onMessage(from: PeerAddress, msg: Message): void {
    if (msg.type === 'ContentsReq') {
      void this.answerSearch(from, msg.contentId, typeof msg.word === 'string' ? msg.word : '');
      return;
    }
    (this.tracker ?? this.segment).receive(from, msg);
  }

  private onDisconnect(peerId: string): void {
    this.segment.peerDisconnected(peerId);
    const now = this.deps.clock.now();
    const others = this.coordinator.knownMains(now).concat(this.view.siblings(now));
    const change = this.election.leaderLost(peerId, now, others);
    if (change) this.onChange(change);
  }

  private async answerSearch(from: PeerAddress, contentId: string, word: string): Promise<void> {
    const local = this.tracker ? this.tracker.snapshot().tracker.contents.map((c) => ({ contentId: c.id, kind: c.kind, title: c.title, sizeBytes: 0 })) : [];
    const contents = await this.catalogue.search(word, local, () => this.deps.clock.now());
    this.segment.send(from, { type: 'ContentsResp', peerId: this.deps.peerId, contentId, contents });
  }

  // ---- election -------------------------------------------------------------------------------

  private onChange(change: ElectionChange | undefined): void {
    if (!change || this.stopped) return;
    const log = this.deps.log;
    if (change.kind === 'became-leader') {
      this.segment.setTracker(undefined);
      const { cfg, clock, random, events } = this.deps;
      this.tracker = new TrackerEngine({ self: { peerId: this.deps.peerId, role: 'main', contact: this.net.contact }, clock, random, transport: this.net, config: cfg.engine, events, peer: this.segment, manifestCheck: manifestHashesTo });
      for (const c of this.segment.snapshot().contents) this.tracker.join(c.id, c.kind);
      this.view.drop();
      void this.announce.start();
      log.info({ segment: formatContact(this.net.contact) }, 'main node: this box is the local tracker of the segment');
      return;
    }
    if (this.tracker) void this.announce.stop();
    this.tracker = undefined;
    this.view.drop();
    if (change.kind === 'following') {
      this.segment.setTracker(change.contact);
      log.info({ leader: change.leaderId, contact: formatContact(change.contact) }, 'main node: following the local tracker of the segment');
    } else {
      log.warn({ leader: change.leaderId }, 'main node: the local tracker is gone; taking the whole uplink until a new one is agreed');
    }
  }

  // ---- shared uplink --------------------------------------------------------------------------

  private ownReport(): ShareReport {
    return { kind: 'report', peerId: this.deps.peerId, uplinkUp: this.uplinkUp, contents: this.relays.contents.slice(0, 8) };
  }

  private reportShare(now: number): void {
    const s = this.election.state;
    if (s.kind === 'leader') {
      this.coordinator.report(this.ownReport(), now);
      this.view.accept(this.coordinator.plan(now, this.segmentWants(now)), now);
    } else if (s.kind === 'follower') {
      void this.share.send(this.ownReport(), { host: s.contact.host, port: this.deps.cfg.segment.coordinationPort });
    }
  }

  private onShare(d: ShareDatagram, from: Contact): void {
    const now = this.deps.clock.now();
    if (d.kind === 'report') {
      if (!this.election.isLeader || d.peerId === this.deps.peerId) return;
      if (!d.uplinkUp && d.contents.length === 0) this.coordinator.forget(d.peerId);
      else this.coordinator.report(d, now);
      const plan = this.coordinator.plan(now, this.segmentWants(now));
      this.view.accept(plan, now);
      void this.share.send(plan, from);
      return;
    }
    const s = this.election.state;
    if (s.kind === 'follower' && d.leaderId === s.leaderId) this.view.accept(d, now);
  }

  /** Contents some non-main peer joined at our local tracker. */
  private segmentWants(now: number): string[] {
    const t = this.tracker;
    if (!t) return [];
    const mains = new Set([this.deps.peerId, ...this.coordinator.knownMains(now)]);
    return t.snapshot().tracker.contents.filter((c) => t.members(c.id).some((m) => !mains.has(m.peerId))).map((c) => c.id);
  }

  private updateRelays(now: number): void {
    const live = this.live;
    if (!live) return;
    const watched = live.live.active().map((a) => a.contentId).filter((id) => live.contentStatus(id)?.watching);
    const { start, stop } = this.relays.update([...this.view.wanted(now), ...watched], now);
    for (const contentId of start) {
      if (isDownloadId(contentId)) {
        this.downloads?.start(contentId, this.catalogue.titleOf(contentId));
        continue;
      }
      this.bridge.join(contentId, 'live');
      live.live.startViewer(contentId);
      this.deps.log.info({ contentId }, 'main node: relaying a channel from the uplink into the segment');
    }
    for (const contentId of stop) {
      if (isDownloadId(contentId)) {
        this.downloads?.stop(contentId);
        continue;
      }
      if (live.contentStatus(contentId)?.watching) continue;
      live.live.stop(contentId);
      this.bridge.leave(contentId);
      this.deps.log.info({ contentId }, 'main node: the segment no longer watches a channel; relay stopped');
    }
  }

  private checkUplink(now: number): void {
    const iface = this.deps.uplinkInterface;
    if (iface && now >= this.nextIfaceCheckAt) {
      this.nextIfaceCheckAt = now + 1000;
      try {
        this.ifaceDown = readFileSync(`/sys/class/net/${iface}/operstate`, 'utf8').trim() === 'down';
      } catch {
        this.ifaceDown = false;
      }
    }
    const u = this.bridge.uplinkCounters;
    const up = this.health.update({ now, interfaceDown: this.ifaceDown, lastRequestAt: u.lastRequestAt, lastChunkAt: u.lastChunkAt });
    if (up !== this.uplinkUp) {
      this.uplinkUp = up;
      if (up) this.deps.log.info({ iface }, 'main node: uplink works again; back in the shared plan');
      else this.deps.log.warn({ iface, why: this.health.why }, `main node: uplink down (${this.health.why}); the other main nodes take its share`);
      this.nextReportAt = now; // tell the tracker now
    }
  }
}
