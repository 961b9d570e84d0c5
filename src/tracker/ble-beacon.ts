// The local tracker's BLE beacon, as bytes: pure encode/decode, no I/O (the HCI socket lives in
// src/platform/ble-hci.ts).
//
// A main node advertises non-connectable LE advertising data that a local node scans for:
//
//   AD structure 1: Flags (0x01) = 0x06 (LE General Discoverable, BR/EDR not supported)
//   AD structure 2: Service Data - 128-bit UUID (0x21): SUPERDIST_BEACON_UUID (little-endian on air)
//                   followed by the beacon payload:
//     offset 0  u8   version (BEACON_VERSION)
//     offset 1  u16  tracker TCP port, big-endian
//     offset 3  4    tracker IPv4 address (0.0.0.0 when the scanner should use the advertiser's
//                    segment gateway / link, e.g. the PAN NAP)
//
// 3 + 2 + 16 + 7 = 28 bytes, within the 31 bytes of legacy advertising data.
//
// The HCI side: command packets (type 0x01, opcode = OGF << 10 | OCF, little-endian, length,
// parameters) for the LE controller commands the beacon needs, the raw-socket event filter, and the
// parser of LE Advertising Report events (type 0x04, event 0x3E, subevent 0x02).

/** superdist's beacon service UUID (random, version 4). */
export const SUPERDIST_BEACON_UUID = '5d7c0b3e-8f0a-4c1e-9a57-53d15e7a0001';
export const BEACON_VERSION = 1;
/** Legacy advertising data is at most this long. */
export const AD_MAX_BYTES = 31;

const AD_FLAGS = 0x01;
const AD_SERVICE_DATA_128 = 0x21;
const FLAGS_LE_GENERAL_NO_BREDR = 0x06;
const PAYLOAD_BYTES = 7;

export interface BeaconInfo {
  /** TCP port of the local tracker. */
  trackerPort: number;
  /** IPv4 address of the local tracker on the segment; '' when not given (0.0.0.0 on air). */
  host: string;
}

export type BeaconDecodeResult = { ok: true; beacon: BeaconInfo } | { ok: false; reason: string };

/** UUID text → 16 bytes in the little-endian order BLE puts on air. */
export function uuidToLeBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a 128-bit UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(hex, 'hex').reverse();
}

function ipv4Bytes(host: string): Buffer {
  if (host === '') return Buffer.alloc(4);
  const parts = host.split('.');
  const nums = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  if (nums.length !== 4 || nums.some((n) => !(n >= 0 && n <= 255))) throw new RangeError(`beacon host: not an IPv4 address: ${JSON.stringify(host)}`);
  return Buffer.from(nums);
}

/** Advertising data (at most 31 bytes) announcing a local tracker. Throws a RangeError naming a bad field. */
export function encodeBeacon(b: BeaconInfo, uuid = SUPERDIST_BEACON_UUID): Buffer {
  if (!Number.isInteger(b.trackerPort) || b.trackerPort < 1 || b.trackerPort > 0xffff) {
    throw new RangeError(`beacon trackerPort: ${String(b.trackerPort)} (must be 1..65535)`);
  }
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  payload.writeUInt8(BEACON_VERSION, 0);
  payload.writeUInt16BE(b.trackerPort, 1);
  ipv4Bytes(b.host).copy(payload, 3);
  const uuidBytes = uuidToLeBytes(uuid);
  const serviceData = Buffer.concat([Buffer.from([1 + uuidBytes.length + payload.length, AD_SERVICE_DATA_128]), uuidBytes, payload]);
  return Buffer.concat([Buffer.from([2, AD_FLAGS, FLAGS_LE_GENERAL_NO_BREDR]), serviceData]);
}

/** AD structures of advertising data as [type, data]; stops at a zero length; undefined when malformed. */
export function parseAdStructures(data: Buffer): Array<{ type: number; data: Buffer }> | undefined {
  const out: Array<{ type: number; data: Buffer }> = [];
  let off = 0;
  while (off < data.length) {
    const len = data[off] as number;
    if (len === 0) break; // padding
    if (off + 1 + len > data.length) return undefined;
    out.push({ type: data[off + 1] as number, data: data.subarray(off + 2, off + 1 + len) });
    off += 1 + len;
  }
  return out;
}

/** Finds superdist's beacon in advertising data, or says why it is not one. Never throws. */
export function decodeBeacon(data: Buffer, uuid = SUPERDIST_BEACON_UUID): BeaconDecodeResult {
  if (data.length > AD_MAX_BYTES) return { ok: false, reason: `${data.length} bytes exceeds the ${AD_MAX_BYTES}-byte advertising data` };
  const ads = parseAdStructures(data);
  if (!ads) return { ok: false, reason: 'malformed AD structure (length runs past the end)' };
  const want = uuidToLeBytes(uuid);
  const sd = ads.find((a) => a.type === AD_SERVICE_DATA_128 && a.data.length >= 16 && a.data.subarray(0, 16).equals(want));
  if (!sd) return { ok: false, reason: 'no superdist service data' };
  const p = sd.data.subarray(16);
  if (p.length !== PAYLOAD_BYTES) return { ok: false, reason: `beacon payload of ${p.length} bytes (expected ${PAYLOAD_BYTES})` };
  if (p[0] !== BEACON_VERSION) return { ok: false, reason: `unsupported beacon version ${p[0]}` };
  const trackerPort = p.readUInt16BE(1);
  if (trackerPort === 0) return { ok: false, reason: 'beacon with tracker port 0' };
  const ip = [...p.subarray(3, 7)];
  return { ok: true, beacon: { trackerPort, host: ip.every((x) => x === 0) ? '' : ip.join('.') } };
}

// ---- HCI packets ------------------------------------------------------------------------------

export const HCI_COMMAND_PKT = 0x01;
export const HCI_EVENT_PKT = 0x04;
export const EVT_CMD_COMPLETE = 0x0e;
export const EVT_CMD_STATUS = 0x0f;
export const EVT_LE_META = 0x3e;
export const LE_ADVERTISING_REPORT = 0x02;
const OGF_LE = 0x08;

export const LeCommand = {
  SetAdvertisingParameters: 0x0006,
  SetAdvertisingData: 0x0008,
  SetAdvertisingEnable: 0x000a,
  SetScanParameters: 0x000b,
  SetScanEnable: 0x000c,
} as const;

/** Opcode of an LE controller command. */
export function leOpcode(ocf: number): number {
  return (OGF_LE << 10) | ocf;
}

/** A complete HCI command packet. */
export function hciCommand(ocf: number, params: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt8(HCI_COMMAND_PKT, 0);
  head.writeUInt16LE(leOpcode(ocf), 1);
  head.writeUInt8(params.length, 3);
  return Buffer.concat([head, params]);
}

/** Advertising interval in controller units (0.625 ms), clamped to the legal 20 ms .. 10.24 s. */
function advUnits(ms: number): number {
  return Math.min(0x4000, Math.max(0x0020, Math.round(ms / 0.625)));
}

/** LE Set Advertising Parameters: non-connectable undirected (ADV_NONCONN_IND), all channels. */
export function setAdvertisingParameters(intervalMs: number): Buffer {
  const p = Buffer.alloc(15);
  p.writeUInt16LE(advUnits(intervalMs), 0);
  p.writeUInt16LE(advUnits(intervalMs), 2);
  p.writeUInt8(0x03, 4); // ADV_NONCONN_IND
  p.writeUInt8(0x00, 5); // own address: public
  p.writeUInt8(0x00, 6); // peer address type (unused)
  // 7..12 peer address (unused, zero)
  p.writeUInt8(0x07, 13); // channels 37, 38, 39
  p.writeUInt8(0x00, 14); // no filter
  return hciCommand(LeCommand.SetAdvertisingParameters, p);
}

/** LE Set Advertising Data: length + data padded to 31 bytes. */
export function setAdvertisingData(data: Buffer): Buffer {
  if (data.length > AD_MAX_BYTES) throw new RangeError(`advertising data of ${data.length} bytes exceeds ${AD_MAX_BYTES}`);
  const p = Buffer.alloc(1 + AD_MAX_BYTES);
  p.writeUInt8(data.length, 0);
  data.copy(p, 1);
  return hciCommand(LeCommand.SetAdvertisingData, p);
}

export function setAdvertisingEnable(on: boolean): Buffer {
  return hciCommand(LeCommand.SetAdvertisingEnable, Buffer.from([on ? 1 : 0]));
}

/** LE Set Scan Parameters: passive scan, interval/window in ms, public own address, accept all. */
export function setScanParameters(intervalMs: number, windowMs: number): Buffer {
  const p = Buffer.alloc(7);
  const units = (ms: number) => Math.min(0x4000, Math.max(0x0004, Math.round(ms / 0.625)));
  p.writeUInt8(0x00, 0);
  p.writeUInt16LE(units(intervalMs), 1);
  p.writeUInt16LE(Math.min(units(windowMs), units(intervalMs)), 3);
  p.writeUInt8(0x00, 5);
  p.writeUInt8(0x00, 6);
  return hciCommand(LeCommand.SetScanParameters, p);
}

export function setScanEnable(on: boolean, filterDuplicates = false): Buffer {
  return hciCommand(LeCommand.SetScanEnable, Buffer.from([on ? 1 : 0, filterDuplicates ? 1 : 0]));
}

/** The raw socket's filter (struct hci_filter): event packets; command complete/status and LE meta events. */
export function hciEventFilter(): Buffer {
  const f = Buffer.alloc(14);
  f.writeUInt32LE(1 << HCI_EVENT_PKT, 0);
  f.writeUInt32LE(((1 << EVT_CMD_COMPLETE) | (1 << EVT_CMD_STATUS)) >>> 0, 4);
  f.writeUInt32LE((1 << (EVT_LE_META - 32)) >>> 0, 8);
  f.writeUInt16LE(0, 12);
  return f;
}

export interface AdvertisingReport {
  eventType: number;
  /** Advertiser address as aa:bb:cc:dd:ee:ff. */
  address: string;
  data: Buffer;
  rssi: number;
}

/** LE Advertising Reports in an HCI event packet (empty for any other packet or a malformed one). */
export function parseAdvertisingReports(packet: Buffer): AdvertisingReport[] {
  if (packet.length < 5 || packet[0] !== HCI_EVENT_PKT || packet[1] !== EVT_LE_META) return [];
  const plen = packet[2] as number;
  if (3 + plen > packet.length || packet[3] !== LE_ADVERTISING_REPORT) return [];
  const end = 3 + plen;
  const n = packet[4] as number;
  const out: AdvertisingReport[] = [];
  let off = 5;
  for (let i = 0; i < n; i++) {
    if (off + 9 > end) return out;
    const eventType = packet[off] as number;
    const address = [...packet.subarray(off + 2, off + 8)].reverse().map((b) => b.toString(16).padStart(2, '0')).join(':');
    const len = packet[off + 8] as number;
    if (off + 9 + len + 1 > end) return out;
    const data = Buffer.from(packet.subarray(off + 9, off + 9 + len));
    const rssi = packet.readInt8(off + 9 + len);
    out.push({ eventType, address, data, rssi });
    off += 10 + len;
  }
  return out;
}
