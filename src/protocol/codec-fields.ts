// Field codecs shared by the message codec (codec.ts): the composite fields several messages carry
// (contact, content kind, reachability, member record, content record), each written and read in one
// place with errors naming the field. Pure; the wire order is documented in docs/protocol.md.
import { ProtocolError } from './errors.js';
import { WireLimits, type Contact, type ContentInfo, type ContentKind, type MemberInfo, type Reachability, type SubstreamAck, type SubstreamSub, type BufferMapInfo, type BufferMapDelta } from './messages.js';
import type { BufferReader, WireSink } from './wire-buffer.js';

const L = WireLimits;
/** Longest BufferMapInfo.bits in bytes, derived from the bit limit. */
const MAX_BITMAP_BYTES = Math.ceil(L.maxBufferMapBits / 8);

/** ContentKind on the wire (u8). */
const KIND_CODES: Record<ContentKind, number> = { live: 0, download: 1 };
const KIND_BY_CODE: readonly ContentKind[] = ['live', 'download'];
/** Reachability on the wire (u8). */
const REACH_CODES: Record<Reachability, number> = { unknown: 0, public: 1, mapped: 2, nat: 3 };
const REACH_BY_CODE: readonly Reachability[] = ['unknown', 'public', 'mapped', 'nat'];

export function checkObject(field: string, v: unknown): void {
  if (typeof v !== 'object' || v === null) throw new ProtocolError('bad-value', field, `${typeof v} is not an object`);
}

export function checkList(field: string, v: unknown, limit: number): asserts v is unknown[] {
  if (!Array.isArray(v)) throw new ProtocolError('bad-value', field, `${typeof v} is not an array`);
  if (v.length > limit) throw new ProtocolError('too-long', field, `count ${v.length} exceeds limit ${limit}`);
}

export function writeContact(w: WireSink, field: string, c: Contact): void {
  checkObject(field, c);
  w.str8(`${field}.host`, c.host, L.maxStringBytes);
  w.u16(`${field}.port`, c.port);
}

export function writeKind(w: WireSink, field: string, kind: ContentKind): void {
  const code = Object.hasOwn(KIND_CODES, kind) ? KIND_CODES[kind] : undefined;
  if (code === undefined) throw new ProtocolError('bad-value', field, `unknown content kind ${JSON.stringify(kind)}`);
  w.u8(field, code);
}

export function writeReach(w: WireSink, field: string, r: Reachability): void {
  const code = Object.hasOwn(REACH_CODES, r) ? REACH_CODES[r] : undefined;
  if (code === undefined) throw new ProtocolError('bad-value', field, `unknown reachability ${JSON.stringify(r)}`);
  w.u8(field, code);
}

export function writeMember(w: WireSink, field: string, m: MemberInfo): void {
  checkObject(field, m);
  w.str8(`${field}.peerId`, m.peerId, L.maxStringBytes);
  writeContact(w, `${field}.contact`, m.contact);
  w.u32(`${field}.seq`, m.seq);
  w.u48(`${field}.ttlMs`, m.ttlMs);
  w.u16(`${field}.partnerCount`, m.partnerCount);
  writeReach(w, `${field}.reachability`, m.reachability);
}

export function writeMembers(w: WireSink, field: string, list: MemberInfo[]): void {
  checkList(field, list, L.maxMembers);
  w.u16(field, list.length);
  for (let i = 0; i < list.length; i++) writeMember(w, `${field}[${i}]`, list[i]!);
}

export function writeContent(w: WireSink, field: string, c: ContentInfo): void {
  checkObject(field, c);
  w.str8(`${field}.contentId`, c.contentId, L.maxStringBytes);
  writeKind(w, `${field}.kind`, c.kind);
  w.str8(`${field}.title`, c.title, L.maxStringBytes);
  w.u48(`${field}.sizeBytes`, c.sizeBytes);
}

export function readContact(r: BufferReader, field: string): Contact {
  // port is a u16 on the wire, so it is always within 0..65535.
  return { host: r.str8(`${field}.host`, L.maxStringBytes), port: r.u16(`${field}.port`) };
}

export function readKind(r: BufferReader, field: string): ContentKind {
  const code = r.u8(field);
  const kind = KIND_BY_CODE[code];
  if (kind === undefined) throw new ProtocolError('bad-value', field, `unknown content kind code ${code}`);
  return kind;
}

export function readReach(r: BufferReader, field: string): Reachability {
  const code = r.u8(field);
  const reach = REACH_BY_CODE[code];
  if (reach === undefined) throw new ProtocolError('bad-value', field, `unknown reachability code ${code}`);
  return reach;
}

export function readMember(r: BufferReader, field: string): MemberInfo {
  return {
    peerId: r.str8(`${field}.peerId`, L.maxStringBytes),
    contact: readContact(r, `${field}.contact`),
    seq: r.u32(`${field}.seq`),
    ttlMs: r.u48(`${field}.ttlMs`),
    partnerCount: r.u16(`${field}.partnerCount`),
    reachability: readReach(r, `${field}.reachability`),
  };
}

export function readMembers(r: BufferReader, field: string): MemberInfo[] {
  const n = r.count(field, L.maxMembers);
  const list: MemberInfo[] = [];
  for (let i = 0; i < n; i++) list.push(readMember(r, `${field}[${i}]`));
  return list;
}

export function readContent(r: BufferReader, field: string): ContentInfo {
  return {
    contentId: r.str8(`${field}.contentId`, L.maxStringBytes),
    kind: readKind(r, `${field}.kind`),
    title: r.str8(`${field}.title`, L.maxStringBytes),
    sizeBytes: r.u48(`${field}.sizeBytes`),
  };
}

/** Sub-stream count (u8, 1..maxSubstreams) and mask (u32, only bits below the count). */
function writeSubstreamSet(w: WireSink, name: string, count: number, mask: number): void {
  if (!Number.isInteger(count) || count < 1 || count > L.maxSubstreams) {
    throw new ProtocolError('bad-value', `${name}.count`, `${String(count)} is not a sub-stream count in 1..${L.maxSubstreams}`);
  }
  w.u8(`${name}.count`, count);
  w.u32(`${name}.mask`, mask);
  if (count < 32 && mask >>> count !== 0) throw new ProtocolError('bad-value', `${name}.mask`, `mask ${mask} names sub-streams beyond count ${count}`);
}

function readSubstreamSet(r: BufferReader, name: string): { count: number; mask: number } {
  const count = r.u8(`${name}.count`);
  if (count < 1 || count > L.maxSubstreams) throw new ProtocolError('bad-value', `${name}.count`, `${count} is not a sub-stream count in 1..${L.maxSubstreams}`);
  const mask = r.u32(`${name}.mask`);
  if (count < 32 && mask >>> count !== 0) throw new ProtocolError('bad-value', `${name}.mask`, `mask ${mask} names sub-streams beyond count ${count}`);
  return { count, mask };
}

export function writeSubstreamSub(w: WireSink, m: SubstreamSub): void {
  writeSubstreamSet(w, 'SubstreamSub', m.count, m.mask);
  w.u32('SubstreamSub.uploadBps', m.uploadBps);
}

export function readSubstreamSub(r: BufferReader): Omit<SubstreamSub, 'type' | 'peerId' | 'contentId'> {
  const { count, mask } = readSubstreamSet(r, 'SubstreamSub');
  return { count, mask, uploadBps: r.u32('SubstreamSub.uploadBps') };
}

export function writeSubstreamAck(w: WireSink, m: SubstreamAck): void {
  writeSubstreamSet(w, 'SubstreamAck', m.count, m.mask);
  w.bytes8('SubstreamAck.hops', m.hops, L.maxSubstreams);
  if (m.hops.length !== m.count) throw new ProtocolError('bad-value', 'SubstreamAck.hops', `${m.hops.length} entries for ${m.count} sub-streams`);
}

export function readSubstreamAck(r: BufferReader): Omit<SubstreamAck, 'type' | 'peerId' | 'contentId'> {
  const { count, mask } = readSubstreamSet(r, 'SubstreamAck');
  const hops = r.bytes8('SubstreamAck.hops', L.maxSubstreams, false);
  if (hops.length !== count) throw new ProtocolError('bad-value', 'SubstreamAck.hops', `${hops.length} entries for ${count} sub-streams`);
  return { count, mask, hops };
}

/** A u16-counted list of str8 names (active contents, feature names), at most `limit`. */
export function writeNames(w: WireSink, field: string, names: readonly string[], limit: number): void {
  checkList(field, names, limit);
  w.u16(field, names.length);
  for (let i = 0; i < names.length; i++) w.str8(`${field}[${i}]`, names[i]!, L.maxStringBytes);
}

export function readNames(r: BufferReader, field: string, limit: number): string[] {
  const n = r.count(field, limit);
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(r.str8(`${field}[${i}]`, L.maxStringBytes));
  return names;
}

type MapFields = Omit<BufferMapInfo, 'type' | 'peerId' | 'contentId'>;
type DeltaFields = Omit<BufferMapDelta, 'type' | 'peerId' | 'contentId'>;

/** A bit count within the field's limit. */
function checkLength(field: string, length: number, limit: number): void {
  if (length > limit) throw new ProtocolError('too-long', `${field}.length`, `${length} bits exceeds limit ${limit}`);
}

/** A bit count the bits field holds. */
function checkHeld(field: string, length: number, bits: Uint8Array): void {
  if (length > bits.length * 8) throw new ProtocolError('bad-value', `${field}.length`, `${length} bits but bits holds only ${bits.length * 8}`);
}

export function writeBufferMap(w: WireSink, m: MapFields): void {
  w.u32('BufferMapInfo.baseId', m.baseId);
  w.u32('BufferMapInfo.length', m.length);
  checkLength('BufferMapInfo', m.length, L.maxBufferMapBits);
  w.bytes16('BufferMapInfo.bits', m.bits, MAX_BITMAP_BYTES);
  checkHeld('BufferMapInfo', m.length, m.bits);
}

export function readBufferMap(r: BufferReader): MapFields {
  const baseId = r.u32('BufferMapInfo.baseId');
  const length = r.u32('BufferMapInfo.length');
  checkLength('BufferMapInfo', length, L.maxBufferMapBits);
  const bits = r.bytes16('BufferMapInfo.bits', MAX_BITMAP_BYTES, false);
  checkHeld('BufferMapInfo', length, bits);
  return { baseId, length, bits };
}

const MAX_DELTA_BYTES = Math.ceil(L.maxMapDeltaBits / 8);

function checkFloor(floorId: number, baseId: number): void {
  if (baseId < floorId) throw new ProtocolError('bad-value', 'BufferMapDelta.baseId', `${baseId} is below floorId ${floorId}`);
}

export function writeMapDelta(w: WireSink, m: DeltaFields): void {
  w.u32('BufferMapDelta.floorId', m.floorId);
  w.u32('BufferMapDelta.baseId', m.baseId);
  checkFloor(m.floorId, m.baseId);
  w.u16('BufferMapDelta.length', m.length);
  checkLength('BufferMapDelta', m.length, L.maxMapDeltaBits);
  w.bytes8('BufferMapDelta.bits', m.bits, MAX_DELTA_BYTES);
  checkHeld('BufferMapDelta', m.length, m.bits);
}

export function readMapDelta(r: BufferReader): DeltaFields {
  const floorId = r.u32('BufferMapDelta.floorId');
  const baseId = r.u32('BufferMapDelta.baseId');
  checkFloor(floorId, baseId);
  const length = r.u16('BufferMapDelta.length');
  checkLength('BufferMapDelta', length, L.maxMapDeltaBits);
  const bits = r.bytes8('BufferMapDelta.bits', MAX_DELTA_BYTES, false);
  checkHeld('BufferMapDelta', length, bits);
  return { floorId, baseId, length, bits };
}
