// The shared-uplink coordination datagrams on the local segment: pure encode/decode, no I/O.
//
// Main nodes report to the local tracker (the elected main node) every reportIntervalMs which
// contents they fetch over their uplink and whether the uplink works; the local tracker answers every
// report with the plan: which contents the segment wants and, per content, the ordered list of main
// nodes sharing its uplink download (main i of k fetches the chunks whose id ≡ i mod k).
//
//   offset  size  field
//   0       4     magic "SDSP" (superdist segment plan)
//   4       1     version (SHARE_DATAGRAM_VERSION)
//   5       1     kind: 1 = report, 2 = plan
//   report: str8 peerId, u8 uplinkUp (0|1), u8 count, count × str8 contentId (relayed over the uplink)
//   plan:   str8 leaderId, u32 epoch, u8 count, count × str8 wanted contentId,
//           u8 shares, shares × (str8 contentId, u8 mains, mains × str8 peerId)
//
// str8 = u8 byte length (1..255) + UTF-8. Nothing may follow the last field; at most
// SHARE_MAX_DATAGRAM_BYTES (one frame on Ethernet, Wi-Fi or a Bluetooth PAN).

export const SHARE_MAGIC = Buffer.from('SDSP', 'latin1');
export const SHARE_DATAGRAM_VERSION = 1;
export const SHARE_MAX_DATAGRAM_BYTES = 1200;
/** Most contents in a report or a plan, and most main nodes per content. */
export const SHARE_MAX_CONTENTS = 8;
export const SHARE_MAX_MAINS = 16;

export interface ShareReport {
  kind: 'report';
  peerId: string;
  uplinkUp: boolean;
  contents: string[];
}

export interface ContentShare {
  contentId: string;
  /** Main nodes sharing the content's uplink download, in slot order. */
  mains: string[];
}

export interface SharePlan {
  kind: 'plan';
  leaderId: string;
  /** Grows whenever the plan changes. */
  epoch: number;
  /** Contents some peer on the segment watches: every main node with an uplink relays them. */
  wanted: string[];
  shares: ContentShare[];
}

export type ShareDatagram = ShareReport | SharePlan;
export type ShareDecodeResult = { ok: true; datagram: ShareDatagram } | { ok: false; reason: string };

class Writer {
  private readonly parts: Buffer[] = [];
  raw(b: Buffer): void {
    this.parts.push(b);
  }
  u8(v: number): void {
    this.parts.push(Buffer.from([v]));
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
  }
  str(field: string, s: string): void {
    const b = Buffer.from(String(s), 'utf8');
    if (b.length < 1 || b.length > 255) throw new RangeError(`share datagram ${field}: ${b.length} bytes, must be 1..255`);
    this.u8(b.length);
    this.parts.push(b);
  }
  list(field: string, items: string[], max: number): void {
    if (items.length > max) throw new RangeError(`share datagram ${field}: ${items.length} entries exceed ${max}`);
    this.u8(items.length);
    items.forEach((s, i) => this.str(`${field}[${i}]`, s));
  }
  finish(): Buffer {
    const out = Buffer.concat(this.parts);
    if (out.length > SHARE_MAX_DATAGRAM_BYTES) throw new RangeError(`share datagram: ${out.length} bytes exceeds ${SHARE_MAX_DATAGRAM_BYTES}`);
    return out;
  }
}

/** Encodes a datagram; throws a RangeError naming the field that cannot be encoded. */
export function encodeShareDatagram(d: ShareDatagram): Buffer {
  const w = new Writer();
  w.raw(SHARE_MAGIC);
  w.raw(Buffer.from([SHARE_DATAGRAM_VERSION, d.kind === 'report' ? 1 : 2]));
  if (d.kind === 'report') {
    w.str('peerId', d.peerId);
    w.u8(d.uplinkUp ? 1 : 0);
    w.list('contents', d.contents, SHARE_MAX_CONTENTS);
  } else {
    w.str('leaderId', d.leaderId);
    if (!Number.isInteger(d.epoch) || d.epoch < 0 || d.epoch > 0xffff_ffff) throw new RangeError(`share datagram epoch: ${d.epoch}`);
    w.u32(d.epoch);
    w.list('wanted', d.wanted, SHARE_MAX_CONTENTS);
    if (d.shares.length > SHARE_MAX_CONTENTS) throw new RangeError(`share datagram shares: ${d.shares.length} entries exceed ${SHARE_MAX_CONTENTS}`);
    w.u8(d.shares.length);
    d.shares.forEach((s, i) => {
      w.str(`shares[${i}].contentId`, s.contentId);
      w.list(`shares[${i}].mains`, s.mains, SHARE_MAX_MAINS);
    });
  }
  return w.finish();
}

/** Bounds-checked reader; every failure is thrown as a reason string and caught by decode. */
class Reader {
  off = 6;
  constructor(private readonly buf: Buffer) {}
  u8(field: string): number {
    if (this.off + 1 > this.buf.length) throw `truncated at ${field}`;
    return this.buf.readUInt8(this.off++);
  }
  u32(field: string): number {
    if (this.off + 4 > this.buf.length) throw `truncated at ${field}`;
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  str(field: string): string {
    const len = this.u8(`${field} length`);
    if (len < 1) throw `${field}: empty`;
    if (this.off + len > this.buf.length) throw `truncated in ${field}`;
    const bytes = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw `${field}: invalid UTF-8`;
    }
  }
  list(field: string, max: number): string[] {
    const n = this.u8(`${field} count`);
    if (n > max) throw `${field}: ${n} entries exceed ${max}`;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.str(`${field}[${i}]`));
    return out;
  }
}

/** Decodes a received datagram, or says why it is refused. Never throws. */
export function decodeShareDatagram(buf: Buffer): ShareDecodeResult {
  if (buf.length > SHARE_MAX_DATAGRAM_BYTES) return { ok: false, reason: `${buf.length} bytes exceeds ${SHARE_MAX_DATAGRAM_BYTES}` };
  if (buf.length < 6 || !buf.subarray(0, 4).equals(SHARE_MAGIC)) return { ok: false, reason: 'not a superdist share datagram' };
  if (buf[4] !== SHARE_DATAGRAM_VERSION) return { ok: false, reason: `unsupported version ${buf[4]}` };
  const r = new Reader(buf);
  try {
    let datagram: ShareDatagram;
    if (buf[5] === 1) {
      const peerId = r.str('peerId');
      const up = r.u8('uplinkUp');
      if (up > 1) throw `uplinkUp ${up} is not 0 or 1`;
      datagram = { kind: 'report', peerId, uplinkUp: up === 1, contents: r.list('contents', SHARE_MAX_CONTENTS) };
    } else if (buf[5] === 2) {
      const leaderId = r.str('leaderId');
      const epoch = r.u32('epoch');
      const wanted = r.list('wanted', SHARE_MAX_CONTENTS);
      const n = r.u8('shares count');
      if (n > SHARE_MAX_CONTENTS) throw `shares: ${n} entries exceed ${SHARE_MAX_CONTENTS}`;
      const shares: ContentShare[] = [];
      for (let i = 0; i < n; i++) shares.push({ contentId: r.str(`shares[${i}].contentId`), mains: r.list(`shares[${i}].mains`, SHARE_MAX_MAINS) });
      datagram = { kind: 'plan', leaderId, epoch, wanted, shares };
    } else {
      return { ok: false, reason: `unknown kind ${buf[5]}` };
    }
    if (r.off !== buf.length) return { ok: false, reason: `${buf.length - r.off} trailing bytes` };
    return { ok: true, datagram };
  } catch (reason) {
    return { ok: false, reason: String(reason) };
  }
}
