// How the elected main node makes its local tracker known on the segment: the LAN announcer
// (periodic broadcast/multicast announce + unicast answer to every query, src/net/udp-announce.ts)
// and the BLE beacon (src/platform/ble-hci.ts; off, with one log line, where there is no adapter).
import type { SegmentConfig } from '../config/segment-config.js';
import { LanAnnouncer, type LanAnnouncerStats } from '../net/udp-announce.js';
import { BleBeacon } from '../platform/ble-hci.js';
import type { Logger } from '../platform/logger.js';
import type { Contact } from '../protocol/messages.js';

export class TrackerAnnounce {
  private announcer: LanAnnouncer | undefined;
  private readonly beacon: BleBeacon;

  constructor(
    private readonly o: { peerId: string; config: SegmentConfig; targets: Contact[]; tracker: Contact; contents: () => string[]; log: Logger },
  ) {
    this.beacon = new BleBeacon({
      device: o.config.ble.device,
      intervalMs: o.config.ble.advertiseIntervalMs,
      onUnavailable: (why) => o.log.info({ reason: why }, `BLE beacon off: ${why}; local nodes find the tracker by LAN announce`),
    });
  }

  get lanStats(): LanAnnouncerStats | undefined {
    return this.announcer?.stats;
  }

  beaconStatus(): ReturnType<BleBeacon['status']> {
    return this.beacon.status();
  }

  async start(): Promise<void> {
    const c = this.o.config;
    if (this.announcer) return;
    const announcer = new LanAnnouncer({
      peerId: this.o.peerId,
      role: 'main',
      trackerPort: this.o.tracker.port,
      contentIds: () => this.o.contents().slice(0, 32),
      bind: { host: '0.0.0.0', port: c.announcePort },
      targets: this.o.targets,
      broadcast: true,
      ...(c.multicastGroup ? { multicast: { group: c.multicastGroup, interface: this.o.tracker.host } } : {}),
      intervalMs: c.announceIntervalMs,
      onWarning: (w) => this.o.log.warn(w, w.message),
    });
    this.announcer = announcer;
    try {
      await announcer.start();
    } catch (err) {
      this.o.log.error({ err: (err as Error).message, port: c.announcePort }, `cannot announce the local tracker on UDP ${c.announcePort}: ${(err as Error).message}`);
    }
    if (c.ble.enabled) this.beacon.advertise({ trackerPort: this.o.tracker.port, host: this.o.tracker.host });
  }

  async stop(): Promise<void> {
    const a = this.announcer;
    this.announcer = undefined;
    this.beacon.stop();
    await a?.stop();
  }
}
