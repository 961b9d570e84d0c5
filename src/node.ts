// Composition root: builds the pieces for the configured role and wires them together.
// Engine (sans-IO) ← ConnectionManager (real TCP) ← timer ticks; control API on a unix socket.
import type { Config } from './config/schema.js';
import { formatContact, parseHostPort } from './config/address.js';
import { ControlServer } from './control/control-server.js';
import { buildStatus, type Status } from './control/status.js';
import { PeerEngine } from './engine/peer-engine.js';
import type { Clock, EngineEvents, Random } from './engine/ports.js';
import { ConnectionManager } from './net/connection-manager.js';
import type { Contact, ContentKind } from './protocol/messages.js';
import { advertiseHost } from './platform/advertise.js';
import { loadOrCreatePeerId } from './platform/identity.js';
import type { Logger } from './platform/logger.js';
import { planMemory, type MemoryPlan } from './platform/memory.js';
import { TrackerEngine } from './tracker/tracker-engine.js';
import { ImsService } from './ims/ims-service.js';
import { LiveNode } from './live-node.js';

export interface RunningService {
  readonly peerId: string;
  readonly contact: Contact;
  status(): Status;
  join(contentId: string, kind: ContentKind): void;
  leave(contentId: string): void;
  /** Leaves partnerships politely, closes sockets and the control API. */
  stop(): Promise<void>;
}

const systemClock: Clock = { now: () => Date.now() };
const systemRandom: Random = { next: () => Math.random() };
/** Time given to PartnershipRemove/TrackerLeave messages to leave the socket on shutdown. */
const SHUTDOWN_FLUSH_MS = 150;

function engineEvents(log: Logger): EngineEvents {
  return {
    partnerAdded: (contentId, peerId) => log.info({ contentId, peerId }, 'partner added'),
    partnerRemoved: (contentId, peerId, reason) => log.info({ contentId, peerId, reason }, 'partner removed'),
    memberExpired: (peerId) => log.info({ peerId }, 'member expired'),
    redirected: (contentId, deputy) => log.info({ contentId, deputy }, 'redirected to deputy'),
    warning: (w) => log.warn(w, w.message),
  };
}

export interface ServiceHooks {
  /** After every completed engine tick (the daemon's watchdog checks it is recent). */
  onTick?: () => void;
}

export async function startService(cfg: Config, log: Logger, version: string, hooks: ServiceHooks = {}): Promise<RunningService> {
  const startedAt = Date.now();
  const memory: MemoryPlan = await planMemory(cfg.memory);
  const peerId = loadOrCreatePeerId(cfg.stateDir, cfg.node.id);
  const listen = parseHostPort(cfg.listen) as Contact; // validated by the schema
  const role = cfg.node.role;
  const self = { peerId, role, contact: { host: advertiseHost(listen.host, cfg.advertise), port: listen.port } };

  let engine: PeerEngine | TrackerEngine | undefined;
  const net = new ConnectionManager({
    self,
    limits: cfg.net,
    onMessage: (from, msg) => engine?.receive(from, msg),
    onPeerDisconnected: (id, reason) => {
      log.debug({ peerId: id, reason }, 'peer connection closed');
      engine?.peerDisconnected(id);
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
  const deps = {
    self,
    clock: systemClock,
    random: systemRandom,
    transport: net,
    config: cfg.engine,
    events: engineEvents(log),
    tracker,
    ...(imsOn && role !== 'tracker' ? { ticketFor: (contentId: string) => ims.ticketFor(contentId) } : {}),
  };
  engine =
    role === 'tracker'
      ? new TrackerEngine({ ...deps, ...(imsOn ? { admit: ims.createTicketAdmission() } : {}) })
      : new PeerEngine(deps);
  if (imsOn && role === 'tracker') await ims.start();
  const eng = engine;
  // Trackers keep no chunk data; every other role runs the live data plane.
  const live = eng instanceof PeerEngine ? new LiveNode(cfg, eng, { clock: systemClock, random: systemRandom, budgetBytes: memory.budgetBytes }, log) : undefined;
  const ticker = setInterval(() => {
    try {
      eng.tick();
      live?.tick();
      hooks.onTick?.();
    } catch (err) {
      log.error({ err }, 'engine tick failed');
    }
  }, cfg.tickMs);

  const status = (): Status =>
    ({
      ...buildStatus({ version, startedAt, role, name: cfg.node.name, tracker: cfg.tracker || (tracker ? formatContact(tracker) : ''), contact: formatContact(self.contact), memory, engine: eng, net, live }),
      ...(imsOn ? { ims: ims.status() } : {}),
    });

  const control = new ControlServer(cfg.control, {
    status: () => status(),
    members: () => ({
      members: (eng instanceof TrackerEngine ? eng.peer : eng).knownMembers().map((m) => ({
        peerId: m.peerId,
        contact: formatContact(m.contact),
        seq: m.seq,
        ttlMs: m.ttlMs,
        partnerCount: m.partnerCount,
      })),
    }),
    peers: () => ({ peers: net.connectedPeers().map((p) => ({ peerId: p.peerId, contact: formatContact(p.contact) })) }),
    join: (p) => {
      if (typeof p.contentId !== 'string' || !p.contentId) throw new Error('join needs params.contentId');
      const kind = p.kind === 'download' ? 'download' : 'live';
      eng.join(p.contentId, kind);
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
    leave: (p) => {
      if (typeof p.contentId !== 'string' || !p.contentId) throw new Error('leave needs params.contentId');
      eng.leave(p.contentId);
      return { left: p.contentId };
    },
  });
  await control.listen();
  for (const contentId of cfg.join) eng.join(contentId, 'live');
  try {
    await live?.start();
  } catch (err) {
    await control.close();
    await ims.stop();
    await net.close();
    clearInterval(ticker);
    throw err;
  }
  log.info({ peerId, contact: formatContact(self.contact), control: cfg.control, budgetBytes: memory.budgetBytes }, 'superdist started');

  let stopped = false;
  return {
    peerId,
    contact: self.contact,
    status,
    join: (id, kind) => eng.join(id, kind),
    leave: (id) => eng.leave(id),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      await live?.close();
      for (const c of eng.snapshot().contents) eng.leave(c.id);
      await new Promise((r) => setTimeout(r, SHUTDOWN_FLUSH_MS));
      await control.close();
      await ims.stop();
      await net.close();
      log.info({ peerId }, 'superdist stopped');
    },
  };
}
