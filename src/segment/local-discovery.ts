// A local node with no tracker address finds the local tracker on its segment (thesis §4.2.2): a LAN
// query to the segment's broadcast address (answered by the main node's LanAnnouncer), repeated, and
// a BLE scan for the main node's beacon, whichever answers first. The node starts at once and joins
// through the tracker as soon as one is found; when the tracker's connection stays lost for
// trackerLostMs (the main node died, another one took over) it looks again.
import type { Contact } from '../protocol/messages.js';
import { formatContact } from '../config/address.js';
import type { SegmentConfig } from '../config/segment-config.js';
import { LanDiscovery, LanDiscoveryError } from '../net/udp-announce.js';
import { BleBeacon } from '../platform/ble-hci.js';
import type { Logger } from '../platform/logger.js';

export interface LocalTrackerFinderDeps {
  peerId: string;
  config: SegmentConfig;
  /** Where queries go (the segment's broadcast addresses on announcePort). */
  targets: Contact[];
  log: Logger;
  /** A tracker was found (first time, or a different one). */
  onFound: (tracker: Contact, how: 'lan' | 'ble') => void;
  /** Whether the current tracker's connection is up (peer id once known). */
  trackerConnected: () => boolean | undefined;
  now?: () => number;
}

export class LocalTrackerFinder {
  private current: Contact | undefined;
  private searching = false;
  private stopped = false;
  private lostSince: number | undefined;
  private discovery: LanDiscovery | undefined;
  private readonly beacon: BleBeacon;
  private beaconFound: Contact | undefined;
  private warned = false;
  found = 0;

  constructor(private readonly deps: LocalTrackerFinderDeps) {
    this.beacon = new BleBeacon({
      device: deps.config.ble.device,
      onUnavailable: (why) => deps.log.info({ reason: why }, `BLE scan off: ${why}; looking for the local tracker by LAN query only`),
    });
  }

  get tracker(): Contact | undefined {
    return this.current;
  }

  start(): void {
    if (this.deps.config.ble.enabled) {
      this.beacon.scan((b, from) => {
        if (!b.host) return; // an address is needed to reach it over IP
        this.beaconFound = { host: b.host, port: b.trackerPort };
        this.deps.log.debug({ from, tracker: formatContact(this.beaconFound) }, 'local tracker beacon heard');
      });
    }
    void this.search();
  }

  /** Periodic check (from the node's tick): a lost tracker is looked for again. */
  tick(): void {
    if (this.stopped || this.searching || !this.current) return;
    const now = (this.deps.now ?? Date.now)();
    const connected = this.deps.trackerConnected();
    if (connected !== false) {
      this.lostSince = undefined;
      return;
    }
    this.lostSince ??= now;
    if (now - this.lostSince >= this.deps.config.trackerLostMs) {
      this.lostSince = undefined;
      this.deps.log.warn({ tracker: formatContact(this.current) }, 'the local tracker is unreachable; looking for one on the segment again');
      void this.search();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.beacon.stop();
    await this.discovery?.close();
  }

  status(): { tracker: string | null; searching: boolean; found: number; beacon: ReturnType<BleBeacon['status']>; targets: string[] } {
    return { tracker: this.current ? formatContact(this.current) : null, searching: this.searching, found: this.found, beacon: this.beacon.status(), targets: this.deps.targets.map(formatContact) };
  }

  private async search(): Promise<void> {
    if (this.searching) return;
    this.searching = true;
    const c = this.deps.config;
    try {
      while (!this.stopped) {
        if (this.beaconFound) return this.use(this.beaconFound, 'ble');
        if (this.deps.targets.length === 0) {
          if (!this.warned) this.deps.log.error('no segment to look for a local tracker on (no IPv4 interface, no segment.announceTargets)');
          this.warned = true;
          await new Promise((r) => setTimeout(r, c.discoveryRoundMs));
          continue;
        }
        this.discovery = new LanDiscovery({
          peerId: this.deps.peerId,
          role: 'local',
          bind: { host: '0.0.0.0', port: 0 },
          targets: this.deps.targets,
          broadcast: true,
          roles: ['main', 'tracker'],
          onWarning: (w) => this.deps.log.debug(w, w.message),
        });
        try {
          const t = await this.discovery.discover(c.discoveryRoundMs);
          return this.use(t.contact, 'lan');
        } catch (err) {
          if (!(err instanceof LanDiscoveryError)) throw err;
          if (!this.warned && !this.stopped) {
            this.warned = true;
            this.deps.log.warn({ targets: this.deps.targets.map(formatContact) }, `no local tracker answered yet (${err.message}); still looking`);
          }
        }
      }
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, `local tracker discovery failed: ${(err as Error).message}`);
    } finally {
      this.searching = false;
      this.discovery = undefined;
    }
  }

  private use(tracker: Contact, how: 'lan' | 'ble'): void {
    this.warned = false;
    const same = this.current && this.current.host === tracker.host && this.current.port === tracker.port;
    this.current = { ...tracker };
    if (same) return;
    this.found++;
    this.deps.log.info({ tracker: formatContact(tracker), how }, `local tracker found on the segment (${how === 'lan' ? 'LAN announce' : 'BLE beacon'})`);
    this.deps.onFound(tracker, how);
  }
}
