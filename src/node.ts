// Composition root: builds the pieces for the configured role and wires them together.
// Engine (sans-IO) ← ConnectionManager (real TCP) ← timer ticks; control API on a unix socket.
import type { Config } from './config/schema.js';
import { formatContact, parseHostPort } from './config/address.js';
import { ControlServer, type ControlHandler } from './control/control-server.js';
import { buildStatus, type Status } from './control/status.js';
import { PeerEngine } from './engine/peer-engine.js';
import { ContentRouters } from './engine/plane/content-router.js';
import type { Clock, Random } from './engine/ports.js';
import { ConnectionManager } from './net/connection-manager.js';
import { DialBackService } from './net/dial-back.js';
import { PunchRelay } from './net/hole-punch.js';
import { isLoopbackHost, NatTraversal, type NatStatus } from './net/nat-traversal.js';
import { RelayPlanner, RelayTransport } from './net/relay-transport.js';
import { openTrackerUdp } from './net/udp-tracker.js';
import { UdpTrackerClient } from './net/udp-tracker-client.js';
import type { Contact, ContentKind } from './protocol/messages.js';
import { advertiseHost } from './platform/advertise.js';
import { loadOrCreatePeerId } from './platform/identity.js';
import type { Logger } from './platform/logger.js';
import { planMemory, type MemoryPlan } from './platform/memory.js';
import { TrackerEngine } from './tracker/tracker-engine.js';
import { openFileLimit, openRegistry, trackerConnectionLimit } from './tracker/open-registry.js';
import { ImsService } from './ims/ims-service.js';
import { LiveNode } from './live-node.js';
import { DownloadNode } from './download-node.js';
import { VodNode } from './vod-node.js';
import { DrmService } from './drm/drm-service.js';
import { probeRoles, startLocalRole, startMainRole, type SegmentRole } from './segment/segment-role.js';
import { startWeb } from './web/start-web.js';
import type { WebServer } from './web/web-server.js';
import { startLocked } from './platform/locked-start.js';
import { engineLogEvents } from './platform/engine-log.js';
import { perUserNote, systemStateDirProbe } from './config/state-dir.js';
import { UpdateService } from './update/update-service.js';
import { manifestHashesTo } from './source/piece-verifier.js';

export interface RunningService {
  readonly peerId: string;
  readonly contact: Contact;
  status(): Status;
  join(contentId: string, kind: ContentKind): void;
  leave(contentId: string): void;
  /** Leaves partnerships politely, closes sockets and the control API. */
  stop(): Promise<void>;
  /** The download side (publish a file, get one); absent on a tracker. */
  readonly downloads?: DownloadNode;
}

const systemClock: Clock = { now: () => Date.now() };
const systemRandom: Random = { next: () => Math.random() };
/** Time given to PartnershipRemove/TrackerLeave messages to leave the socket on shutdown. */
const SHUTDOWN_FLUSH_MS = 150;

export interface ServiceHooks {
  /** After every completed engine tick (the daemon's watchdog checks it is recent). */
  onTick?: () => void;
  /** Serve the web remote when `web.enabled` is `auto` (the daemon: yes; foreground commands: no). */
  webByDefault?: boolean;
  /**
   * Hold the state directory's lock from start to stop (src/platform/state-dir-lock.ts): the
   * long-lived roles do; `get` and `publish file` run beside them without it. Throws
   * StateDirLockedError when another live process holds it.
   */
  lockStateDir?: boolean;
  /** Run the update agent when `update.enabled` is `auto` (the daemon: yes; foreground commands: no). */
  updatesByDefault?: boolean;
}

export async function startService(cfg: Config, log: Logger, version: string, hooks: ServiceHooks = {}): Promise<RunningService> {
  const note = perUserNote(cfg.stateDir, systemStateDirProbe());
  if (note) log.info({ stateDir: cfg.stateDir }, note);
  const start = () => startUnlocked(cfg, log, version, hooks);
  return hooks.lockStateDir ? startLocked(cfg.stateDir, log, start) : start();
}

async function startUnlocked(cfg: Config, log: Logger, version: string, hooks: ServiceHooks): Promise<RunningService> {
  const startedAt = Date.now();
  const memory: MemoryPlan = await planMemory(cfg.memory);
  const peerId = loadOrCreatePeerId(cfg.stateDir, cfg.node.id);
  const listen = parseHostPort(cfg.listen) as Contact; // validated by the schema
  const role = cfg.node.role;
  // Main and local nodes look at their interfaces: a main node advertises its uplink address to the
  // central overlay (its segment address belongs to the segment side), a local node finds its segment.
  const probed = role === 'main' || (role === 'local' && !cfg.tracker) ? await probeRoles(cfg) : undefined;
  const uplinkHost = role === 'main' && !cfg.advertise && (listen.host === '0.0.0.0' || listen.host === '::') ? probed?.roles.uplink?.ipv4 : undefined;
  const self = { peerId, role, contact: { host: uplinkHost ?? advertiseHost(listen.host, cfg.advertise), port: listen.port } };

  let engine: PeerEngine | TrackerEngine | undefined;
  // Behind a home router (docs/nat.md): a node tests its reachability with the tracker, which dials back.
  let nat: NatTraversal | undefined;
  const dialBack = role === 'tracker' ? new DialBackService({ selfId: peerId, send: (to, msg) => net.send(to, msg) }) : undefined;
  const punchRelay = role === 'tracker' ? new PunchRelay({ selfId: peerId, send: (to, msg) => net.send(to, msg) }) : undefined;
  // Relay fallback (docs/nat.md "Relay"): boxes relay for two boxes behind NATs that cannot connect.
  let relay: RelayTransport | undefined;
  const net = new ConnectionManager({
    self,
    limits: role === 'tracker' ? { ...cfg.net, maxConnections: trackerConnectionLimit(cfg.net.trackerMaxConnections, openFileLimit(), log) } : cfg.net,
    onMessage: (from, msg) => {
      if (msg.type === 'ReachabilityReq' && dialBack) return dialBack.handle(from, msg);
      if (msg.type === 'PunchReq' && punchRelay) return punchRelay.handle(from, msg);
      if (nat?.onMessage(from, msg)) return;
      const m = relay ? relay.receive(from, msg) : { from, msg };
      if (m) engine?.receive(m.from, m.msg);
    },
    onObserved: (from, observed) => nat?.onObserved(from, observed),
    onPeerDisconnected: (id, reason) => {
      log.debug({ peerId: id, reason }, 'peer connection closed');
      engine?.peerDisconnected(id);
      relay?.connectionLost(id);
    },
    onWarning: (w) => log.warn(w, w.message),
  });
  const bound = await net.listen(listen.host, listen.port);
  self.contact.port = bound.port;

  // IMS access: nodes register and fetch their tracker ticket before the engine exists (the ticket
  // names the tracker); the tracker registers as the service and checks tickets on joins.
  const ims = new ImsService(cfg.ims, {
    role,
    peerId,
    stateDir: cfg.stateDir,
    trackerContact: self.contact,
    log: log.child({ component: 'ims' }),
    userAgent: `superdist/${version}`,
    onTicket: () => {
      // Joins the tracker refused (no or stale ticket) are asked again with the new ticket.
      const e = engine;
      if (!(e instanceof PeerEngine)) return;
      for (const c of e.snapshot().contents) {
        if (c.join !== 'refused') continue;
        e.leave(c.id);
        e.join(c.id, c.kind);
      }
    },
  });
  const imsOn = cfg.ims.enabled;
  if (imsOn && role !== 'tracker') await ims.start();
  const tracker = cfg.tracker ? (parseHostPort(cfg.tracker) as Contact) : imsOn ? ims.trackerContact() : undefined;
  if (imsOn && role !== 'tracker' && !tracker) {
    const why = ims.status().ticket?.lastError ?? ims.status().registration.lastError ?? 'no ticket yet';
    await ims.stop();
    await net.close();
    throw new Error(`no tracker: IMS gave no ticket within ims.startWaitMs (${why})`);
  }
  if (role !== 'tracker') {
    relay = new RelayTransport({
      selfId: peerId,
      net,
      relayMaxKbps: cfg.net.relayMaxKbps,
      clock: Date.now,
      onPeerLost: (id) => engine?.peerDisconnected(id),
      onRefused: (from, target, why) => log.debug({ from: from.peerId, target, why }, 'relay refused'),
    });
  }
  // A box re-announces over UDP once its tracker connection is closed, when the tracker answers datagrams (else TCP).
  const trackerUdp =
    role !== 'tracker' && tracker && cfg.trackerUdp
      ? new UdpTrackerClient({ onMessage: (from, msg) => engine?.receive({ peerId: msg.peerId, contact: from }, msg), onWarning: (code, message) => log.info({ code }, message) })
      : undefined;
  const deps = {
    self,
    clock: systemClock,
    random: systemRandom,
    transport: relay ?? net,
    config: cfg.engine,
    events: engineLogEvents(log),
    tracker,
    ...(trackerUdp ? { trackerDatagram: trackerUdp } : {}),
    ...(imsOn && role !== 'tracker' ? { ticketFor: (contentId: string) => ims.ticketFor(contentId) } : {}),
  };
  // A tracker on Redis is a front end that answers joins only; in memory it is also a peer.
  const registry = role === 'tracker' ? await openRegistry(cfg.registry, systemRandom, log) : undefined;
  engine =
    role === 'tracker'
      ? new TrackerEngine({ ...deps, registry, registryOnly: registry?.backend !== 'memory' || !cfg.trackerPeer, manifestCheck: manifestHashesTo, ...(imsOn ? { admit: ims.createTicketAdmission() } : {}) })
      : new PeerEngine(deps);
  if (imsOn && role === 'tracker') await ims.start();
  const eng = engine;
  // Datagram joins and announces on the tracker's port (docs/tracker-scale.md); a taken UDP port is logged, TCP goes on.
  const udp =
    eng instanceof TrackerEngine && cfg.trackerUdp
      ? await openTrackerUdp({ tracker: eng, host: listen.host, port: bound.port, onWarning: (code, message) => log.warn({ code }, message) }).then(
          (u) => {
            eng.setDatagramStats(() => u.front.stats());
            return u;
          },
          (err: Error) => {
            log.error({ err: err.message }, `tracker answers over TCP only: ${err.message}`);
            return undefined;
          },
        )
      : undefined;
  if (eng instanceof PeerEngine && tracker && (role === 'node' || role === 'main')) {
    nat = new NatTraversal({
      // A box listening on loopback only (tests, a tracker on the same host) has nothing to map.
      portMapping: cfg.net.portMapping && !isLoopbackHost(listen.host),
      holePunching: cfg.net.holePunching,
      listenPort: bound.port,
      self,
      setAdvertised: (c) => net.setAdvertised(c),
      announce: () => eng.announceNow(),
      tracker,
      trackerPeerId: () => eng.trackerPeerId,
      send: (to, msg) => net.send(to, msg),
      punch: (to, localPort) => net.punch(to, localPort),
      isConnected: (id) => net.isConnected(id),
      natMembers: () => eng.knownMembers().filter((m) => m.reachability === 'nat').map((m) => m.peerId),
      wantsPartners: () => eng.snapshot().contents.some((c) => c.partners.length < cfg.engine.minPartners),
      peerId,
      log: log.child({ component: 'nat' }),
    });
    nat.start();
  }
  const natNow = nat;
  const relayPlanner =
    relay && natNow && eng instanceof PeerEngine
      ? new RelayPlanner({
          transport: relay,
          members: () => eng.knownMembers(),
          isDirect: (id) => net.isConnected(id),
          punched: (id) => natNow.punchesAsked(id) > 0,
          selfNat: () => natNow.reachability === 'nat',
          onOpen: (id, via) => log.info({ peerId: id, relay: via }, `reaching ${id} through relay ${via} (punches failed)`),
        })
      : undefined;
  // Segment roles: a main node bridges its uplink engine with a segment engine (local tracker); a
  // local node without a tracker address finds the local tracker (src/segment/segment-role.ts).
  let segment: SegmentRole | undefined;
  try {
    if (eng instanceof PeerEngine && role === 'main' && probed) {
      segment = await startMainRole({ cfg, peerId, engine: eng, net, central: tracker, probed, uplinkAddress: self.contact.host, clock: systemClock, random: systemRandom, events: engineLogEvents(log), log });
    } else if (eng instanceof PeerEngine && role === 'local' && probed) {
      segment = startLocalRole({ cfg, peerId, engine: eng, net, probed, log });
    }
  } catch (err) {
    await ims.stop();
    await net.close();
    throw err;
  }
  // Superdistribution rights on every box (not the tracker): the DRM agent's keys are made on first
  // start; a main node adds the domain manager and DRM proxy on its segment address.
  const hostOf = (hp: string | null | undefined): string | undefined => {
    const r = hp ? parseHostPort(hp) : undefined;
    return r && typeof r !== 'string' ? r.host : undefined;
  };
  const segStatus = () => segment?.status() as { segment?: { address?: string }; discovery?: { tracker?: string | null } } | undefined;
  const drm = role === 'tracker' ? undefined : new DrmService({ cfg: cfg.drm, stateDir: cfg.stateDir, role, name: cfg.node.name, chunkMs: cfg.live.chunkMs, segmentHost: () => hostOf(segStatus()?.segment?.address), localTrackerHost: () => hostOf(segStatus()?.discovery?.tracker), log: log.child({ component: 'drm' }) });
  const dataEngine = segment?.liveEngine ?? (eng instanceof PeerEngine ? eng : undefined);
  // Downloads keep pieces on disk: of the buffer budget they take only their piece cache (at most a
  // quarter of it); live buffers get the rest.
  const downloadCacheBytes = Math.min(cfg.download.cacheBytes, Math.floor(memory.budgetBytes / 4));
  // Trackers keep no chunk data; every other role runs the live data plane. Planes register with
  // their engine's one content router, in any order (a main node's downloads run on the bridge).
  const routers = new ContentRouters();
  const live = dataEngine ? new LiveNode(cfg, dataEngine, { clock: systemClock, random: systemRandom, budgetBytes: memory.budgetBytes - downloadCacheBytes, router: routers.of(dataEngine), ...(segment?.pickerFor ? { pickerFor: segment.pickerFor } : {}), ...(drm ? { drm } : {}) }, log) : undefined;
  const dlEngine = eng instanceof PeerEngine ? (segment?.downloadEngine ?? eng) : undefined;
  const downloads = dlEngine ? new DownloadNode(cfg, dlEngine, { clock: systemClock, random: systemRandom, tracker, cacheBytes: downloadCacheBytes, router: routers.of(dlEngine), ...(segment?.downloadPicker ? { wrapPicker: segment.downloadPicker } : {}) }, log) : undefined;
  if (live) segment?.attach(live, downloads);
  // A download on the TV while it downloads (play dl-…), a protected one through the DRM agent.
  const vod = live && downloads ? new VodNode({ downloads, live, agent: drm?.agent, stateDir: cfg.stateDir, tracker, log, prebufferMs: cfg.download.playPrebufferMs }) : undefined;
  // Firmware updates (docs/updates.md): boxes only; the bundle travels as a download content.
  const updatesOn = cfg.update.enabled === 'auto' ? hooks.updatesByDefault === true : cfg.update.enabled;
  const updates =
    updatesOn && downloads && eng instanceof PeerEngine
      ? new UpdateService({ cfg, downloads, tracker, trackerReached: () => eng.trackerPeerId !== undefined, binaryVersion: version, log: log.child({ component: 'update' }) })
      : undefined;
  const ticker = setInterval(() => {
    try {
      eng.tick();
      nat?.tick(Date.now());
      relay?.tick(Date.now());
      relayPlanner?.tick(Date.now());
      segment?.tick();
      live?.tick();
      downloads?.tick();
      updates?.tick();
      hooks.onTick?.();
    } catch (err) {
      log.error({ err }, 'engine tick failed');
    }
  }, cfg.tickMs);

  let web: WebServer | undefined;
  const status = (): Status =>
    ({
      ...buildStatus({ version, startedAt, role, name: cfg.node.name, tracker: cfg.tracker || (tracker ? formatContact(tracker) : ''), contact: formatContact(self.contact), stateDir: cfg.stateDir, memory, engine: eng, net, live, downloads, nat: nat || relay ? { ...nat?.status(), ...relay?.stats() } as NatStatus : undefined, dialBack, punchRelay }),
      ...(imsOn ? { ims: ims.status() } : {}),
      ...segment?.status(),
      ...(drm ? { drm: drm.status() } : {}),
      ...(web ? { web: web.status() } : {}),
      ...(updates ? { update: updates.status() } : {}),
      ...(vod ? { vod: vod.status() } : {}),
    });

  // The control API's methods: served on the unix socket and, through the same object, by the web page.
  const handlers: Record<string, ControlHandler> = {
    ...drm?.handlers(),
    ...(updates?.handlers() ?? {
      'update.status': () => {
        throw new Error(role === 'tracker' ? 'a tracker has no update agent' : 'the update agent is off here (update.enabled; on by default under superdist daemon)');
      },
    }),
    status: () => status(),
    members: () => ({
      members: (eng instanceof TrackerEngine ? eng.peer : eng).knownMembers().map((m) => ({ peerId: m.peerId, contact: formatContact(m.contact), seq: m.seq, ttlMs: m.ttlMs, partnerCount: m.partnerCount })),
    }),
    peers: () => ({
      peers: net.connectedPeers().map((p) => ({ peerId: p.peerId, contact: formatContact(p.contact) })),
      // A main node: its segment side (local nodes) apart from the uplink peers above.
      ...(segment?.segmentPeers ? { segment: segment.segmentPeers() } : {}),
    }),
    join: (p) => {
      if (typeof p.contentId !== 'string' || !p.contentId) throw new Error('join needs params.contentId');
      const kind = p.kind === 'download' ? 'download' : 'live';
      (dataEngine ?? eng).join(p.contentId, kind);
      return { joined: p.contentId };
    },
    play: async (p) => {
      if (!live) throw new Error('a tracker does not play channels');
      if (typeof p.channel !== 'string' || !p.channel) throw new Error('play needs params.channel (a name or a live id)');
      return { playing: await live.play(p.channel) };
    },
    stop: async () => {
      if (!live) throw new Error('a tracker does not play channels');
      return live.stopWatching();
    },
    channels: async () => {
      if (!live) throw new Error('a tracker does not play channels');
      return live.channels();
    },
    leave: (p) => {
      if (typeof p.contentId !== 'string' || !p.contentId) throw new Error('leave needs params.contentId');
      (dataEngine ?? eng).leave(p.contentId);
      return { left: p.contentId };
    },
  };
  if (vod) Object.assign(handlers, vod.handlers({ ...handlers }));
  const control = new ControlServer(cfg.control, handlers);
  await control.listen();
  await drm?.start().catch((err: Error) => log.error({ err: err.message }, `DRM proxy did not start: ${err.message}`));
  // The web remote dispatches to the same handlers; a busy web address is logged, not fatal.
  web = await startWeb(cfg, handlers, log, hooks.webByDefault ?? false, { ...(live ? { media: live.phones } : {}), ...(downloads ? { files: downloads } : {}), ...(drm ? { phoneSlots: () => drm.phoneSlots() } : {}) }).catch((err: Error) => {
    log.error({ err: err.message }, `the web remote did not start: ${err.message}`);
    return undefined;
  });
  live?.setWebInfo(() => {
    const w = web?.status();
    // The address a phone or laptop on the box's network would type: not loopback when there is another.
    const url = w?.urls.find((u) => !/\/\/(127\.|\[::1\])/.test(u)) ?? w?.urls[0];
    return url ? { url, ...(w?.https ? { fingerprint: w.https.fingerprint } : {}) } : undefined;
  });
  for (const contentId of cfg.join) (dataEngine ?? eng).join(contentId, 'live');
  try {
    await live?.start();
  } catch (err) {
    await web?.close();
    await segment?.stop();
    await control.close();
    await ims.stop();
    await net.close();
    clearInterval(ticker);
    throw err;
  }
  await updates?.start().catch((err: Error) => log.error({ err: err.message }, `the update agent did not start: ${err.message}`));
  log.info({ peerId, contact: formatContact(self.contact), control: cfg.control, stateDir: cfg.stateDir, budgetBytes: memory.budgetBytes }, 'superdist started');

  let stopped = false;
  return {
    peerId,
    contact: self.contact,
    status,
    downloads,
    join: (id, kind) => eng.join(id, kind),
    leave: (id) => eng.leave(id),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      updates?.stop();
      await vod?.close();
      await live?.close();
      downloads?.close();
      for (const c of eng.snapshot().contents) eng.leave(c.id);
      await segment?.stop();
      await drm?.close();
      await nat?.stop();
      await new Promise((r) => setTimeout(r, SHUTDOWN_FLUSH_MS));
      await web?.close();
      await control.close();
      await ims.stop();
      await net.close();
      await udp?.close();
      await trackerUdp?.close();
      await registry?.close();
      log.info({ peerId }, 'superdist stopped');
    },
  };
}
