// The LAN announce/discovery datagram: pure encode/decode, no I/O.
//
// A local tracker (main node) announces itself on the local segment; a local node that just joined
// the segment asks "is there a tracker?" and waits for an announce. One datagram format for both:
//
//   offset  size  field
//   0       4     magic "SDLA" (superdist LAN announce)
//   4       1     version (LAN_DATAGRAM_VERSION)
//   5       1     kind: 1 = announce, 2 = query
//   6       2     tracker TCP port, big-endian (1..65535 in an announce, 0 in a query)
//   8       1+n   role: u8 byte length + UTF-8 (1..LAN_MAX_ROLE_BYTES)
//   .       1+n   peerId: u8 byte length + UTF-8 (1..255)
//   .       1     content id count (0..LAN_MAX_CONTENT_IDS)
//   .       1+n   each content id: u8 byte length + UTF-8 (1..255)
//
// Nothing may follow the last field, and the whole datagram is at most LAN_MAX_DATAGRAM_BYTES so it
// fits one Ethernet/Wi-Fi/PAN frame without IP fragmentation. In an announce the content ids are
// the contents the tracker currently serves; in a query they are a hint of what the asker wants.

export const LAN_DATAGRAM_MAGIC = Buffer.from('SDLA', 'latin1');
export const LAN_DATAGRAM_VERSION = 1;
/** Largest datagram we send or accept (bytes); fits a 1280-byte IPv6 minimum MTU with headers. */
export const LAN_MAX_DATAGRAM_BYTES = 1200;
export const LAN_MAX_ROLE_BYTES = 32;
export const LAN_MAX_ID_BYTES = 255;
export const LAN_MAX_CONTENT_IDS = 32;

const KIND_CODES = { announce: 1, query: 2 } as const;
export type LanDatagramKind = keyof typeof KIND_CODES;

export interface LanDatagram {
  kind: LanDatagramKind;
  /** Sender's role ('tracker', 'main', 'node', ...). */
  role: string;
  peerId: string;
  /** TCP port of the sender's tracker (announce); 0 in a query. */
  trackerPort: number;
  contentIds: string[];
}

export type LanDecodeResult = { ok: true; datagram: LanDatagram } | { ok: false; reason: string };

const HEADER_BYTES = 8;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function checkString(field: string, s: string, min: number, max: number): Buffer {
  if (typeof s !== 'string') throw new RangeError(`LAN datagram ${field}: not a string`);
  const b = Buffer.from(s, 'utf8');
  if (b.length < min || b.length > max) {
    throw new RangeError(`LAN datagram ${field}: ${b.length} bytes, must be ${min}..${max}`);
  }
  return b;
}

/**
 * Encodes a datagram. Throws a RangeError naming the field when the input cannot be encoded
 * (a programming or configuration error, never wire input).
 */
export function encodeLanDatagram(d: LanDatagram): Buffer {
  const kind = KIND_CODES[d.kind];
  if (kind === undefined) throw new RangeError(`LAN datagram kind: unknown kind ${String(d.kind)}`);
  const portOk = d.kind === 'announce'
    ? Number.isInteger(d.trackerPort) && d.trackerPort >= 1 && d.trackerPort <= 0xffff
    : d.trackerPort === 0;
  if (!portOk) {
    throw new RangeError(
      `LAN datagram trackerPort: ${String(d.trackerPort)} (must be 1..65535 in an announce, 0 in a query)`,
    );
  }
  const role = checkString('role', d.role, 1, LAN_MAX_ROLE_BYTES);
  const peerId = checkString('peerId', d.peerId, 1, LAN_MAX_ID_BYTES);
  if (d.contentIds.length > LAN_MAX_CONTENT_IDS) {
    throw new RangeError(`LAN datagram contentIds: ${d.contentIds.length} ids exceed limit ${LAN_MAX_CONTENT_IDS}`);
  }
  const ids = d.contentIds.map((c, i) => checkString(`contentIds[${i}]`, c, 1, LAN_MAX_ID_BYTES));
  const size = HEADER_BYTES + 1 + role.length + 1 + peerId.length + 1 + ids.reduce((n, b) => n + 1 + b.length, 0);
  if (size > LAN_MAX_DATAGRAM_BYTES) {
    throw new RangeError(`LAN datagram: ${size} bytes exceeds limit ${LAN_MAX_DATAGRAM_BYTES} (too many or too long content ids)`);
  }
  const out = Buffer.alloc(size);
  LAN_DATAGRAM_MAGIC.copy(out, 0);
  out.writeUInt8(LAN_DATAGRAM_VERSION, 4);
  out.writeUInt8(kind, 5);
  out.writeUInt16BE(d.trackerPort, 6);
  let off = HEADER_BYTES;
  for (const b of [role, peerId]) {
    out.writeUInt8(b.length, off);
    b.copy(out, off + 1);
    off += 1 + b.length;
  }
  out.writeUInt8(ids.length, off);
  off += 1;
  for (const b of ids) {
    out.writeUInt8(b.length, off);
    b.copy(out, off + 1);
    off += 1 + b.length;
  }
  return out;
}

/** Bounds-checked reader over one datagram; every failure is a reason string, never a throw. */
class Reader {
  off = HEADER_BYTES;
  constructor(private readonly buf: Buffer) {}

  u8(field: string): number | string {
    if (this.off + 1 > this.buf.length) return `truncated at ${field} (offset ${this.off})`;
    return this.buf.readUInt8(this.off++);
  }

  str(field: string, min: number, max: number): { value: string } | string {
    const len = this.u8(`${field} length`);
    if (typeof len === 'string') return len;
    if (len < min || len > max) return `${field}: length ${len} outside ${min}..${max}`;
    if (this.off + len > this.buf.length) {
      return `truncated in ${field}: needs ${len} bytes, ${this.buf.length - this.off} left`;
    }
    const bytes = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    try {
      return { value: utf8.decode(bytes) };
    } catch {
      return `${field}: invalid UTF-8`;
    }
  }
}

/** Decodes one received datagram, or says precisely why it is refused. Never throws. */
export function decodeLanDatagram(buf: Buffer): LanDecodeResult {
  const fail = (reason: string): LanDecodeResult => ({ ok: false, reason });
  if (buf.length > LAN_MAX_DATAGRAM_BYTES) return fail(`${buf.length} bytes exceeds limit ${LAN_MAX_DATAGRAM_BYTES}`);
  if (buf.length < HEADER_BYTES) return fail(`${buf.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  if (!buf.subarray(0, 4).equals(LAN_DATAGRAM_MAGIC)) return fail('bad magic (not a superdist LAN datagram)');
  const version = buf.readUInt8(4);
  if (version !== LAN_DATAGRAM_VERSION) return fail(`unsupported version ${version} (expected ${LAN_DATAGRAM_VERSION})`);
  const code = buf.readUInt8(5);
  const kind = code === KIND_CODES.announce ? 'announce' : code === KIND_CODES.query ? 'query' : undefined;
  if (kind === undefined) return fail(`unknown kind ${code}`);
  const trackerPort = buf.readUInt16BE(6);
  if (kind === 'announce' && trackerPort === 0) return fail('announce with tracker port 0');
  if (kind === 'query' && trackerPort !== 0) return fail(`query with non-zero tracker port ${trackerPort}`);

  const r = new Reader(buf);
  const role = r.str('role', 1, LAN_MAX_ROLE_BYTES);
  if (typeof role === 'string') return fail(role);
  const peerId = r.str('peerId', 1, LAN_MAX_ID_BYTES);
  if (typeof peerId === 'string') return fail(peerId);
  const count = r.u8('content id count');
  if (typeof count === 'string') return fail(count);
  if (count > LAN_MAX_CONTENT_IDS) return fail(`content id count ${count} exceeds limit ${LAN_MAX_CONTENT_IDS}`);
  const contentIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.str(`contentIds[${i}]`, 1, LAN_MAX_ID_BYTES);
    if (typeof id === 'string') return fail(id);
    contentIds.push(id.value);
  }
  if (r.off !== buf.length) return fail(`${buf.length - r.off} trailing bytes after the last field`);
  return { ok: true, datagram: { kind, role: role.value, peerId: peerId.value, trackerPort, contentIds } };
}
