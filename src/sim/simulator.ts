// Deterministic overlay simulator: one tracker (TrackerEngine) and N PeerEngines on a SimNetwork,
// driven in virtual time. Peers join at staggered arrival times; tick() runs every tickMs of virtual
// time; churn hooks (at, kill, killFraction, spawn) change the population while it runs.
// Everything random comes from one seed, so a run is reproducible.
import type { ContentKind } from '../protocol/messages.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../engine/engine-config.js';
import type { EngineSnapshot } from '../engine/engine-stats.js';
import type { EngineEvents } from '../engine/ports.js';
import { PeerEngine } from '../engine/peer-engine.js';
import { TrackerEngine } from '../tracker/tracker-engine.js';
import { SeededRandom } from './seeded-random.js';
import { SimNetwork, type SimLinkOptions, type SimNetworkConfig } from './sim-network.js';
import { VirtualClock } from './virtual-clock.js';
import { SimLivePlane, type SimLiveOptions } from './sim-live.js';
import type { LiveChannels } from '../engine/live-channels.js';
import { SimVodPlane, type SimVodOptions, type SimVodViewer } from './sim-vod.js';
import { manifestHashesTo } from '../source/piece-verifier.js';

export interface SimulatorOptions {
  seed: number;
  /** Peers besides the tracker. */
  nodes: number;
  /** Arrival times are drawn uniformly in [0, arrivalWindowMs]. */
  arrivalWindowMs: number;
  contentId?: string;
  kind?: ContentKind;
  /** Driver tick period (virtual ms). */
  tickMs?: number;
  engine?: Partial<EngineConfig>;
  /** Tracker engine config overrides (on top of `engine`). */
  trackerEngine?: Partial<EngineConfig>;
  network?: Partial<SimNetworkConfig>;
  /** Upload bandwidth of the i-th peer (bits/s); the network default when absent. */
  uploadBps?: (index: number) => number;
  /** The i-th peer's link besides its upload: access latency, whether it can be dialled (NAT). */
  linkFor?: (index: number) => Omit<SimLinkOptions, 'uploadBps'> | undefined;
  /** Engine overrides for the i-th peer (on top of `engine`), e.g. more partners for a faster uplink. */
  engineFor?: (index: number) => Partial<EngineConfig> | undefined;
  /** Events for every peer (the simulator passes the peer id first). */
  events?: (peerId: string) => EngineEvents | undefined;
  /** Live data plane: a source producing chunks and a LiveChannels viewer on every peer. */
  live?: SimLiveOptions;
  /** On-demand data plane: a seed holding a film and a Downloads viewer on every peer, playing it at its playAt. */
  vod?: SimVodOptions;
}

export interface SimPeer {
  readonly peerId: string;
  readonly index: number;
  readonly joinAt: number;
  /** Created at joinAt. */
  engine: PeerEngine | undefined;
  alive: boolean;
  /** Virtual time the peer was killed (undefined while alive). */
  leftAt?: number;
  /** The peer's live data plane (live simulations only). */
  live?: LiveChannels;
  /** The peer's download plane and player (on-demand simulations only). */
  vod?: SimVodViewer;
}

export const SIM_TRACKER_ID = 'tracker';

export class Simulator {
  readonly clock = new VirtualClock(0);
  readonly random: SeededRandom;
  readonly network: SimNetwork;
  readonly tracker: TrackerEngine;
  readonly contentId: string;
  readonly kind: ContentKind;
  readonly config: EngineConfig;
  /** The live data plane (source + viewers), when enabled. */
  readonly live: SimLivePlane | undefined;
  /** The on-demand data plane (seed + viewers), when enabled. */
  readonly vod: SimVodPlane | undefined;
  private readonly tickMs: number;
  private readonly peerList: SimPeer[] = [];
  private readonly byId = new Map<string, SimPeer>();
  private readonly trackerContact = { host: 'tracker.sim', port: 7000 };

  constructor(private readonly opts: SimulatorOptions) {
    this.random = new SeededRandom(opts.seed);
    this.tickMs = opts.tickMs ?? 100;
    this.config = { ...DEFAULT_ENGINE_CONFIG, ...opts.engine };
    this.network = new SimNetwork(this.clock, this.random.fork(), opts.network);

    const trackerRandom = this.random.fork();
    let tracker: TrackerEngine | undefined;
    const transport = this.network.addNode(
      SIM_TRACKER_ID,
      this.trackerContact,
      { receive: (from, msg) => tracker?.receive(from, msg), peerDisconnected: (id) => tracker?.peerDisconnected(id) },
      { position: { x: 0.5, y: 0.5 } },
    );
    tracker = new TrackerEngine({
      self: { peerId: SIM_TRACKER_ID, contact: this.trackerContact, role: 'tracker' },
      clock: this.clock,
      random: trackerRandom,
      transport,
      config: { ...this.config, ...opts.trackerEngine },
      events: opts.events?.(SIM_TRACKER_ID),
      manifestCheck: manifestHashesTo,
    });
    this.tracker = tracker;
    this.vod = opts.vod
      ? new SimVodPlane({ clock: this.clock, network: this.network, random: this.random.fork(), engineConfig: this.config, trackerContact: this.trackerContact }, opts.vod)
      : undefined;
    this.contentId = this.vod?.contentId ?? opts.contentId ?? 'channel-1';
    this.kind = this.vod ? 'download' : (opts.kind ?? 'live');
    this.live = opts.live
      ? new SimLivePlane(
          {
            clock: this.clock,
            network: this.network,
            random: this.random.fork(),
            engineConfig: this.config,
            trackerContact: this.trackerContact,
            contentId: this.contentId,
          },
          opts.live,
        )
      : undefined;

    const arrivals: number[] = [];
    for (let i = 0; i < opts.nodes; i++) arrivals.push(Math.round(this.random.next() * opts.arrivalWindowMs));
    arrivals.sort((a, b) => a - b);
    for (const at of arrivals) this.spawn(at);
    this.scheduleTick();
  }

  get now(): number {
    return this.clock.now();
  }

  /** Every planned peer (joined or not yet, alive or killed). */
  peers(): readonly SimPeer[] {
    return this.peerList;
  }

  peer(peerId: string): SimPeer | undefined {
    return this.byId.get(peerId);
  }

  /** Peers that have joined and are alive. */
  livePeers(): SimPeer[] {
    return this.peerList.filter((p) => p.alive && p.engine !== undefined);
  }

  /** Adds a peer that joins the content at `atMs` (default: now). */
  spawn(atMs: number = this.clock.now()): SimPeer {
    const index = this.peerList.length;
    const peer: SimPeer = { peerId: `p${index}`, index, joinAt: Math.max(atMs, this.clock.now()), engine: undefined, alive: true };
    this.peerList.push(peer);
    this.byId.set(peer.peerId, peer);
    const random = this.random.fork();
    this.clock.scheduleAt(peer.joinAt, () => this.start(peer, random));
    return peer;
  }

  /** Runs `fn` at virtual time `atMs` (churn hook). */
  at(atMs: number, fn: (sim: Simulator) => void): void {
    this.clock.scheduleAt(atMs, () => fn(this));
  }

  /** Runs the simulation until virtual time `timeMs`. */
  runUntil(timeMs: number): void {
    this.clock.advanceTo(timeMs);
  }

  run(durationMs: number): void {
    this.clock.advance(durationMs);
  }

  /** The peer's process stops for `durationMs` (SIGSTOP): no ticks, messages wait for it. */
  pause(peerId: string, durationMs: number): void {
    const peer = this.byId.get(peerId);
    if (peer?.alive && peer.engine) this.network.pause(peerId, durationMs);
  }

  /** The peer vanishes (crash / unplugged). */
  kill(peerId: string): void {
    const peer = this.byId.get(peerId);
    if (!peer || !peer.alive) return;
    peer.alive = false;
    peer.leftAt = this.clock.now();
    this.network.kill(peerId);
  }

  /** Kills a random `fraction` of the live peers; returns their ids. */
  killFraction(fraction: number): string[] {
    const live = this.livePeers();
    const count = Math.round(live.length * fraction);
    const victims: string[] = [];
    for (let i = 0; i < count; i++) {
      const j = i + this.random.int(live.length - i);
      const chosen = live[j] as SimPeer;
      live[j] = live[i] as SimPeer;
      live[i] = chosen;
      victims.push(chosen.peerId);
    }
    for (const id of victims) this.kill(id);
    return victims;
  }

  /** Snapshots of the tracker's peer and every live joined peer. */
  snapshots(): EngineSnapshot[] {
    return [this.tracker.snapshot(), ...this.livePeers().map((p) => (p.engine as PeerEngine).snapshot())];
  }

  /** Undirected partnership graph of a content over live nodes (tracker included). */
  partnerGraph(contentId: string = this.contentId): Map<string, Set<string>> {
    const graph = new Map<string, Set<string>>();
    const live = new Set(this.livePeers().map((p) => p.peerId));
    live.add(SIM_TRACKER_ID);
    for (const id of live) graph.set(id, new Set());
    for (const snap of this.snapshots()) {
      const content = snap.contents.find((c) => c.id === contentId);
      for (const other of content?.partners ?? []) {
        if (!live.has(other)) continue;
        graph.get(snap.peerId)?.add(other);
        graph.get(other)?.add(snap.peerId);
      }
    }
    return graph;
  }

  private start(peer: SimPeer, random: SeededRandom): void {
    if (!peer.alive) return;
    const contact = { host: `10.${(peer.index >> 16) & 255}.${(peer.index >> 8) & 255}.${peer.index & 255}`, port: 7000 };
    let engine: PeerEngine | undefined;
    const uploadBps = this.opts.uploadBps?.(peer.index);
    const linkOpts = this.opts.linkFor?.(peer.index);
    const link = this.network.addNode(
      peer.peerId,
      contact,
      { receive: (from, msg) => engine?.receive(from, msg), peerDisconnected: (id) => engine?.peerDisconnected(id) },
      { ...linkOpts, uploadBps },
    );
    const transport = this.live ? this.live.transportFor(peer.index, link) : link;
    engine = new PeerEngine({
      // A node behind a NAT knows it (its reachability test ran): it is not offered to be dialled.
      self: { peerId: peer.peerId, contact, role: 'node', ...(linkOpts?.reachable === false ? { reachability: 'nat' as const } : {}) },
      clock: this.clock,
      random,
      transport,
      config: this.opts.engineFor ? { ...this.config, ...this.opts.engineFor(peer.index) } : this.config,
      events: this.opts.events?.(peer.peerId),
      tracker: this.trackerContact,
    });
    peer.engine = engine;
    if (this.live) peer.live = this.live.attachViewer(engine, uploadBps ?? this.network.config.defaultUploadBps);
    // A VoD viewer joins the film when it presses play.
    if (this.vod) peer.vod = this.vod.attachViewer(engine, peer.index);
    else engine.join(this.contentId, this.kind);
    peer.live?.startViewer(this.contentId);
  }

  private scheduleTick(): void {
    this.clock.schedule(this.tickMs, () => {
      this.tracker.tick();
      this.live?.tickSource();
      this.vod?.tickSeed();
      for (const p of this.peerList) {
        if (!p.alive || !p.engine || this.network.isPaused(p.peerId)) continue;
        p.engine.tick();
        p.live?.tick();
        p.vod?.downloads.tick();
      }
      this.scheduleTick();
    });
  }
}
