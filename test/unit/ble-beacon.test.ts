// The BLE beacon on bytes: advertising data, HCI command packets, LE advertising reports, the raw
// socket filter; and the beacon over a fake HCI socket (and with no adapter at all).
import { describe, expect, it } from 'vitest';
import {
  decodeBeacon, encodeBeacon, hciCommand, hciEventFilter, leOpcode, LeCommand, parseAdStructures, parseAdvertisingReports,
  setAdvertisingData, setAdvertisingEnable, setAdvertisingParameters, setScanEnable, setScanParameters, SUPERDIST_BEACON_UUID, uuidToLeBytes,
} from '../../src/tracker/ble-beacon.js';
import { BleBeacon, loadHciAddon, type HciSocketLike } from '../../src/platform/ble-hci.js';

describe('beacon advertising data', () => {
  it('encodes flags + 128-bit service data with port and IPv4 in 28 bytes, and decodes it back', () => {
    const ad = encodeBeacon({ trackerPort: 7879, host: '10.44.0.1' });
    expect(ad.length).toBe(28);
    expect([...ad.subarray(0, 3)]).toEqual([0x02, 0x01, 0x06]);
    expect([...ad.subarray(3, 5)]).toEqual([0x18, 0x21]);
    expect(ad.subarray(5, 21).equals(uuidToLeBytes(SUPERDIST_BEACON_UUID))).toBe(true);
    expect(ad.subarray(5, 7).toString('hex')).toBe('0100'); // little-endian: the UUID's last bytes first
    expect(ad.subarray(21).toString('hex')).toBe('011ec70a2c0001');
    expect(decodeBeacon(ad)).toEqual({ ok: true, beacon: { trackerPort: 7879, host: '10.44.0.1' } });
    expect(decodeBeacon(encodeBeacon({ trackerPort: 1, host: '' }))).toEqual({ ok: true, beacon: { trackerPort: 1, host: '' } });
  });

  it('finds the beacon among other AD structures and ignores padding', () => {
    const name = Buffer.from([0x05, 0x09, 0x62, 0x6f, 0x78, 0x31]); // Complete Local Name "box1"
    const ad = Buffer.concat([name, encodeBeacon({ trackerPort: 9000, host: '192.168.4.1' }).subarray(3)]);
    expect(decodeBeacon(ad)).toEqual({ ok: true, beacon: { trackerPort: 9000, host: '192.168.4.1' } });
    const padded = Buffer.concat([encodeBeacon({ trackerPort: 9000, host: '' }), Buffer.alloc(2)]);
    expect(parseAdStructures(padded)?.length).toBe(2);
    expect(decodeBeacon(padded).ok).toBe(true);
  });

  it('refuses foreign and malformed data with a reason', () => {
    const good = encodeBeacon({ trackerPort: 7879, host: '10.0.0.1' });
    expect(decodeBeacon(Buffer.from([0x02, 0x01, 0x06]))).toEqual({ ok: false, reason: 'no superdist service data' });
    expect(decodeBeacon(Buffer.from([0x09, 0x01, 0x06]))).toMatchObject({ ok: false, reason: /malformed/ });
    const otherUuid = Buffer.from(good);
    otherUuid[6] = (otherUuid[6] as number) ^ 0xff;
    expect(decodeBeacon(otherUuid)).toEqual({ ok: false, reason: 'no superdist service data' });
    const badVersion = Buffer.from(good);
    badVersion[21] = 9;
    expect(decodeBeacon(badVersion)).toEqual({ ok: false, reason: 'unsupported beacon version 9' });
    const zeroPort = Buffer.from(good);
    zeroPort.writeUInt16BE(0, 22);
    expect(decodeBeacon(zeroPort).ok).toBe(false);
    expect(decodeBeacon(Buffer.alloc(40)).ok).toBe(false);
    expect(() => encodeBeacon({ trackerPort: 0, host: '' })).toThrow(/trackerPort/);
    expect(() => encodeBeacon({ trackerPort: 1, host: '10.0.0.300' })).toThrow(/IPv4/);
  });
});

describe('HCI packets', () => {
  it('builds LE command packets with the right opcodes and parameters', () => {
    expect(leOpcode(LeCommand.SetAdvertisingEnable)).toBe(0x200a);
    expect(setAdvertisingEnable(true).toString('hex')).toBe('010a200101');
    expect(setScanEnable(true, false).toString('hex')).toBe('010c20020100');
    const params = setAdvertisingParameters(200);
    expect(params.toString('hex')).toBe('0106200f' + '4001' + '4001' + '03' + '00' + '00' + '000000000000' + '07' + '00');
    const data = setAdvertisingData(encodeBeacon({ trackerPort: 7879, host: '10.44.0.1' }));
    expect(data.length).toBe(4 + 32);
    expect(data[3]).toBe(32);
    expect(data[4]).toBe(28);
    expect(setScanParameters(100, 50).toString('hex')).toBe('010b2007' + '00' + 'a000' + '5000' + '00' + '00');
    expect(hciCommand(0x0001, Buffer.alloc(0)).toString('hex')).toBe('01012000');
    expect(hciEventFilter().toString('hex')).toBe('10000000' + '00c00000' + '00000040' + '0000');
  });

  it('parses LE advertising reports (and nothing else)', () => {
    const ad = encodeBeacon({ trackerPort: 7879, host: '10.44.0.1' });
    const report = Buffer.concat([Buffer.from([0x03, 0x00, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, ad.length]), ad, Buffer.from([0xc4])]);
    const pkt = Buffer.concat([Buffer.from([0x04, 0x3e, 2 + report.length, 0x02, 0x01]), report]);
    expect(parseAdvertisingReports(pkt)).toEqual([{ eventType: 3, address: '11:22:33:44:55:66', data: ad, rssi: -60 }]);
    expect(parseAdvertisingReports(pkt.subarray(0, pkt.length - 3))).toEqual([]);
    expect(parseAdvertisingReports(Buffer.from([0x04, 0x0e, 0x04, 0x01, 0x0a, 0x20, 0x00]))).toEqual([]);
  });
});

class FakeHci implements HciSocketLike {
  written: Buffer[] = [];
  private dataCb: ((b: Buffer) => void) | undefined;
  bound = -1;
  constructor(private readonly up = true) {}
  bindRaw(dev: number) { this.bound = dev; return dev; }
  isDevUp() { return this.up; }
  setFilter() {}
  start() {}
  stop() {}
  write(b: Buffer) { this.written.push(b); }
  on(ev: 'data' | 'error', cb: (x: never) => void) { if (ev === 'data') this.dataCb = cb as (b: Buffer) => void; return this; }
  emit(b: Buffer) { this.dataCb?.(b); }
}

describe('BleBeacon over an HCI socket', () => {
  it('advertises with the command sequence and disables advertising on stop', () => {
    const hci = new FakeHci();
    const beacon = new BleBeacon({ device: 1, factory: () => hci });
    expect(beacon.advertise({ trackerPort: 7879, host: '10.44.0.1' })).toBe(true);
    expect(hci.bound).toBe(1);
    expect(hci.written.map((b) => b.readUInt16LE(1))).toEqual([0x200a, 0x2006, 0x2008, 0x200a]);
    expect(beacon.state).toBe('advertising');
    beacon.stop();
    expect(hci.written.at(-1)?.toString('hex')).toBe('010a200100');
  });

  it('scans and reports superdist beacons only', () => {
    const hci = new FakeHci();
    const heard: unknown[] = [];
    const beacon = new BleBeacon({ device: 0, factory: () => hci });
    expect(beacon.scan((b, from) => heard.push({ ...b, from }))).toBe(true);
    const ad = encodeBeacon({ trackerPort: 7000, host: '10.1.2.3' });
    const report = (data: Buffer) => {
      const r = Buffer.concat([Buffer.from([0x03, 0x00, 1, 2, 3, 4, 5, 6, data.length]), data, Buffer.from([0xd0])]);
      return Buffer.concat([Buffer.from([0x04, 0x3e, 2 + r.length, 0x02, 0x01]), r]);
    };
    hci.emit(report(Buffer.from([0x02, 0x01, 0x06])));
    hci.emit(report(ad));
    expect(heard).toEqual([{ trackerPort: 7000, host: '10.1.2.3', from: '06:05:04:03:02:01' }]);
    expect(beacon.status()).toEqual({ state: 'scanning', beaconsHeard: 1 });
  });

  it('with no adapter (or no addon) says so once and stays off', () => {
    const reasons: string[] = [];
    const noBt = () => { throw Object.assign(new Error('EAFNOSUPPORT'), { code: 'EAFNOSUPPORT' }); };
    const beacon = new BleBeacon({ device: 0, factory: noBt, onUnavailable: (r) => reasons.push(r) });
    expect(beacon.advertise({ trackerPort: 1, host: '' })).toBe(false);
    expect(beacon.scan(() => undefined)).toBe(false);
    expect(reasons).toEqual(['this kernel has no Bluetooth']);
    expect(beacon.status()).toEqual({ state: 'unavailable', reason: 'this kernel has no Bluetooth' });
    const down = new BleBeacon({ device: 0, factory: () => new FakeHci(false), onUnavailable: (r) => reasons.push(r) });
    expect(down.advertise({ trackerPort: 1, host: '' })).toBe(false);
    expect(reasons.at(-1)).toBe('Bluetooth adapter hci0 is down');
    expect(loadHciAddon('@abandonware/no-such-addon')).toMatchObject({ reason: /not installed/ });
  });
});
