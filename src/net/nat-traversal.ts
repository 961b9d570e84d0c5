// A box behind a home router (docs/nat.md), wired together: the port mapping (port-mapping.ts) feeds
// the reachability test (reachability.ts), whose verdict changes what we advertise — our Hellos
// (ConnectionManager.setAdvertised), Membership and joins (the engine's self contact and
// reachability, announced at once). The tracker's side of the test is dial-back.ts.
import type { Destination, PeerAddress } from '../engine/ports.js';
import type { Contact, Message, Reachability } from '../protocol/messages.js';
import type { Logger } from '../platform/logger.js';
import { formatContact, sameContact } from './contact.js';
import { HolePuncher, type PunchStats } from './hole-punch.js';
import { RouterPortMapper } from './nat-port-mapper.js';
import { PortMappingKeeper, type PortMapper, type PortMappingOptions, type PortMappingStatus } from './port-mapping.js';
import { ReachabilityMonitor, type ReachabilityOptions, type ReachabilityStatus } from './reachability.js';

export interface NatStatus extends ReachabilityStatus, PunchStats {
  /** The router mapping ('off' when net.portMapping is false). */
  portMapping: PortMappingStatus;
}

export interface NatTraversalDeps {
  portMapping: boolean;
  /** Punch through to other boxes behind NATs (net.holePunching). */
  holePunching: boolean;
  listenPort: number;
  /** The engine's self record (mutated: contact and reachability). */
  self: { contact: Contact; reachability?: Reachability };
  /** Changes the contact our Hellos carry. */
  setAdvertised: (c: Contact) => void;
  /** Sends our Membership to partners and tracker now. */
  announce: () => void;
  tracker: Contact;
  trackerPeerId: () => string | undefined;
  send: (to: Destination, msg: Message) => boolean;
  peerId: string;
  log: Logger;
  /** Hole punching (hole-punch.ts): dial from a port, who is up, members behind NATs. */
  punch: (to: { peerId: string; contact: Contact }, localPort: number) => boolean;
  isConnected: (peerId: string) => boolean;
  natMembers: () => string[];
  /** Whether some content is short of partners (connection reversal). */
  wantsPartners?: () => boolean;
  /** Replaceable for tests (default: UPnP IGD then NAT-PMP). */
  mapper?: PortMapper;
  mapping?: Partial<Pick<PortMappingOptions, 'lifetimeMs' | 'timeoutMs' | 'retryMs'>>;
  reachability?: Partial<Pick<ReachabilityOptions, 'retestMs' | 'answerTimeoutMs' | 'busyRetryMs'>>;
}

/** 127.0.0.0/8, ::1, localhost: nothing outside the host can reach such an address, mapped or not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^(::ffff:)?127\./.test(h);
}

const OFF: PortMappingStatus = { state: 'off', external: null, method: null, error: null, maps: 0, failures: 0 };

export class NatTraversal {
  private readonly keeper: PortMappingKeeper | undefined;
  private readonly monitor: ReachabilityMonitor;
  private readonly puncher: HolePuncher;
  private mappingStarted: Promise<void> | undefined;

  constructor(private readonly deps: NatTraversalDeps) {
    const log = deps.log;
    const warn = (code: string, message: string): void => log.warn({ code }, message);
    const info = (message: string): void => log.info(message);
    if (deps.portMapping) {
      this.keeper = new PortMappingKeeper({
        mapper: deps.mapper ?? new RouterPortMapper(),
        internalPort: deps.listenPort,
        ...deps.mapping,
        onChange: (external) => this.monitor.onMapping(external),
        warn,
        info,
      });
    }
    const trackerDest = (): Destination => {
      const id = deps.trackerPeerId();
      return id !== undefined ? { peerId: id, contact: deps.tracker } : { contact: deps.tracker };
    };
    this.puncher = new HolePuncher({
      peerId: deps.peerId,
      // Node has no SO_REUSEPORT: the punch port is its own, next to the listen port.
      punchPort: deps.listenPort + 1,
      tracker: trackerDest,
      trackerContact: deps.tracker,
      send: deps.send,
      punch: deps.punch,
      isConnected: deps.isConnected,
      natMembers: deps.natMembers,
      publicContact: () => {
        const s = this.monitor.status();
        return s.reachability === 'public' || s.reachability === 'mapped' ? { ...this.deps.self.contact } : undefined;
      },
      ...(deps.wantsPartners ? { wantsPartners: deps.wantsPartners } : {}),
      warn,
    });
    this.monitor = new ReachabilityMonitor({
      listenPort: deps.listenPort,
      clock: Date.now,
      ...deps.reachability,
      sendTest: (contact) => this.sendTest(contact),
      apply: (contact, reach) => this.apply(contact, reach),
      ...(this.keeper ? { remap: () => void this.keeper?.refresh(), mappingPending: () => this.keeper?.status().state === 'mapping' } : {}),
      warn,
      info,
    });
  }

  /** Asks the router for a mapping (in the background: the test waits for its outcome). */
  start(): void {
    this.mappingStarted ??= this.keeper?.refresh();
  }

  /**
   * A peer's Hello said how it sees us: only the tracker's view counts, on a connection we dialled to
   * its configured address (any peer could claim to be the tracker and feed us a wrong address).
   */
  onObserved(from: { peerId: string; role: string; dialled?: Contact }, observed: Contact): void {
    if (from.dialled && sameContact(from.dialled, this.deps.tracker)) this.monitor.onObserved(observed);
  }

  /** Takes the messages meant for it (true); the rest go to the engine. */
  onMessage(from: PeerAddress, msg: Message): boolean {
    if (msg.type === 'ReachabilityResp') {
      if (this.fromTracker(from)) this.monitor.onResponse(msg);
      return true;
    }
    if (msg.type === 'ReachabilityReq' || msg.type === 'PunchReq') return true; // a tracker's business
    if (msg.type === 'PunchNow') {
      if (this.fromTracker(from)) this.puncher.onPunchNow(from, msg);
      return true;
    }
    if (msg.type === 'TrackerMembers' && this.fromTracker(from) && msg.observed?.host) this.monitor.onObserved(msg.observed);
    return false;
  }

  tick(now: number): void {
    this.monitor.tick(now);
    const reach = this.monitor.reachability;
    this.puncher.mode = !this.deps.holePunching ? 'off' : reach === 'nat' ? 'punch' : reach === 'public' || reach === 'mapped' ? 'reverse' : 'off';
    this.puncher.tick(now);
  }

  /** Whether we asked to punch through to this peer (it is not connected if it failed). */
  punchesAsked(peerId: string): number {
    return this.puncher.asked(peerId);
  }

  get reachability(): Reachability {
    return this.monitor.reachability;
  }

  status(): NatStatus {
    return { ...this.monitor.status(), ...this.puncher.stats(), portMapping: this.keeper?.status() ?? OFF };
  }

  /** Removes the router mapping (SIGTERM, stop). */
  async stop(): Promise<void> {
    await this.keeper?.stop();
  }

  private fromTracker(from: PeerAddress): boolean {
    const id = this.deps.trackerPeerId();
    return id !== undefined ? from.peerId === id : sameContact(from.contact, this.deps.tracker);
  }

  private sendTest(contact: Contact): boolean {
    const id = this.deps.trackerPeerId();
    const to: Destination = id !== undefined ? { peerId: id, contact: this.deps.tracker } : { contact: this.deps.tracker };
    return this.deps.send(to, { type: 'ReachabilityReq', peerId: this.deps.peerId, contentId: '', contact });
  }

  private apply(contact: Contact, reach: Reachability): void {
    const self = this.deps.self;
    const before = formatContact(self.contact);
    self.contact.host = contact.host;
    self.contact.port = contact.port;
    self.reachability = reach;
    this.deps.setAdvertised(self.contact);
    this.deps.log.info({ reachability: reach, contact: formatContact(contact), was: before }, `advertising ${formatContact(contact)} (${reach})`);
    this.deps.announce();
  }
}
