// The BLE beacon over a raw HCI socket (@abandonware/bluetooth-hci-socket, an optional native addon
// loaded lazily): a main node advertises its local tracker, a local node scans for it. The raw
// channel (bindRaw) leaves the adapter to bluetoothd, so BlueZ, the PAN NAP and pairing keep working.
//
// No addon, no adapter, or no permission (CAP_NET_RAW) is not an error: the beacon says so once,
// through `onUnavailable`, and stays off; LAN discovery works without it.
import { createRequire } from 'node:module';
import {
  decodeBeacon, encodeBeacon, hciEventFilter, parseAdvertisingReports, setAdvertisingData, setAdvertisingEnable,
  setAdvertisingParameters, setScanEnable, setScanParameters, type BeaconInfo,
} from '../tracker/ble-beacon.js';

export const HCI_ADDON = '@abandonware/bluetooth-hci-socket';

/** The part of the addon's socket the beacon uses. */
export interface HciSocketLike {
  bindRaw(devId: number): number;
  isDevUp(): boolean;
  setFilter(filter: Buffer): void;
  start(): void;
  stop(): void;
  write(data: Buffer): void;
  on(event: 'data', cb: (data: Buffer) => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
}

export type HciSocketFactory = () => HciSocketLike;

/** Loads the addon; returns a factory, or why there is none. Never throws. */
export function loadHciAddon(moduleName = HCI_ADDON): { factory: HciSocketFactory } | { reason: string } {
  try {
    // In the CommonJS bundle `require` exists (the addon stays external); from source, make one.
    const req = typeof require === 'function' ? require : createRequire(import.meta.url);
    const Ctor = req(moduleName) as new () => HciSocketLike;
    if (typeof Ctor !== 'function') return { reason: `${moduleName} did not export a socket class` };
    return { factory: () => new Ctor() };
  } catch (err) {
    return { reason: `${moduleName} is not installed or did not build (${(err as Error).message.split('\n')[0]})` };
  }
}

export type BeaconState = 'off' | 'advertising' | 'scanning' | 'unavailable';

export interface BleBeaconOptions {
  /** HCI device index (hci0 = 0). */
  device: number;
  /** Socket factory; default: the addon, loaded on first use. */
  factory?: HciSocketFactory;
  /** Advertising interval (ms). */
  intervalMs?: number;
  /** Called once, with the reason, when the beacon cannot work here. */
  onUnavailable?: (reason: string) => void;
}

export class BleBeacon {
  private socket: HciSocketLike | undefined;
  private stateValue: BeaconState = 'off';
  private reason = '';
  private reported = false;
  private found = 0;

  constructor(private readonly opts: BleBeaconOptions) {}

  get state(): BeaconState {
    return this.stateValue;
  }

  status(): { state: BeaconState; reason?: string; beaconsHeard?: number } {
    return { state: this.stateValue, ...(this.reason ? { reason: this.reason } : {}), ...(this.found ? { beaconsHeard: this.found } : {}) };
  }

  /** Advertises the tracker; false (and one onUnavailable call) when there is no usable adapter. */
  advertise(info: BeaconInfo): boolean {
    const data = encodeBeacon(info);
    const s = this.open();
    if (!s) return false;
    if (!this.write(s, [setAdvertisingEnable(false), setAdvertisingParameters(this.opts.intervalMs ?? 200), setAdvertisingData(data), setAdvertisingEnable(true)])) return false;
    this.stateValue = 'advertising';
    return true;
  }

  /** Scans passively; every superdist beacon heard goes to onBeacon. False when unavailable. */
  scan(onBeacon: (b: BeaconInfo, from: string) => void): boolean {
    const s = this.open();
    if (!s) return false;
    s.on('data', (pkt: Buffer) => {
      for (const r of parseAdvertisingReports(pkt)) {
        const d = decodeBeacon(r.data);
        if (d.ok) {
          this.found++;
          onBeacon(d.beacon, r.address);
        }
      }
    });
    if (!this.write(s, [setScanEnable(false), setScanParameters(100, 50), setScanEnable(true, false)])) return false;
    this.stateValue = 'scanning';
    return true;
  }

  stop(): void {
    const s = this.socket;
    this.socket = undefined;
    if (!s) return;
    try {
      if (this.stateValue === 'advertising') s.write(setAdvertisingEnable(false));
      if (this.stateValue === 'scanning') s.write(setScanEnable(false));
    } catch {
      // the adapter may be gone
    }
    try {
      s.stop();
    } catch {
      // ignored
    }
    if (this.stateValue !== 'unavailable') this.stateValue = 'off';
  }

  private open(): HciSocketLike | undefined {
    if (this.socket) return this.socket;
    if (this.stateValue === 'unavailable') return undefined;
    let factory = this.opts.factory;
    if (!factory) {
      const loaded = loadHciAddon();
      if ('reason' in loaded) return this.unavailable(loaded.reason);
      factory = loaded.factory;
    }
    try {
      const s = factory();
      s.bindRaw(this.opts.device);
      if (!s.isDevUp()) return this.unavailable(`Bluetooth adapter hci${this.opts.device} is down`);
      s.setFilter(hciEventFilter());
      s.on('error', () => undefined);
      s.start();
      this.socket = s;
      return s;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e.code === 'EAFNOSUPPORT' ? 'this kernel has no Bluetooth'
          : e.code === 'ENODEV' ? `no Bluetooth adapter hci${this.opts.device}`
            : e.code === 'EPERM' || e.code === 'EACCES' ? 'no permission for raw HCI (needs CAP_NET_RAW)'
              : `cannot open hci${this.opts.device}: ${e.message}`;
      return this.unavailable(why);
    }
  }

  private write(s: HciSocketLike, packets: Buffer[]): boolean {
    try {
      for (const p of packets) s.write(p);
      return true;
    } catch (err) {
      this.stop();
      this.unavailable(`HCI write failed: ${(err as Error).message}`);
      return false;
    }
  }

  private unavailable(reason: string): undefined {
    this.stateValue = 'unavailable';
    this.reason = reason;
    if (!this.reported) {
      this.reported = true;
      this.opts.onUnavailable?.(reason);
    }
    return undefined;
  }
}
