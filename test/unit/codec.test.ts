import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  payloadByteLength,
  typeCodeOf,
  typeNameOf,
} from '../../src/protocol/codec.js';
import { ProtocolError, type ProtocolErrorKind } from '../../src/protocol/errors.js';
import { MessageType, type Message, type MessageTypeName } from '../../src/protocol/messages.js';
import { BufferWriter } from '../../src/protocol/wire-buffer.js';
import { arbMessage, messageArbitraries, normalise } from './arbitraries.js';

const TYPE_NAMES = Object.keys(MessageType) as MessageTypeName[];
const roundTrip = (m: Message): Message => decodePayload(typeCodeOf(m), encodePayload(m));

/** Runs `f` and returns the ProtocolError it throws; fails the test on any other outcome. */
function protocolErrorOf(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

function expectProtocolError(f: () => unknown, kind: ProtocolErrorKind, messageStart: string): void {
  const e = protocolErrorOf(f);
  expect(e.kind).toBe(kind);
  expect(e.message.startsWith(messageStart), `"${e.message}" should start with "${messageStart}"`).toBe(true);
}

/** Hand-built payload: peerId/contentId then whatever `body` writes, with limits switched off. */
function rawPayload(body: (w: BufferWriter) => void, peerId = 'p', contentId = 'c'): Buffer {
  const w = new BufferWriter();
  w.str8('peerId', peerId, 255);
  w.str8('contentId', contentId, 255);
  body(w);
  return w.finish();
}

const base = { peerId: 'peer-1', contentId: 'chan-1' };
const contact = { host: '10.0.0.2', port: 7000 };
const member = { peerId: 'm', contact, seq: 1, ttlMs: 1000, partnerCount: 2, reachability: 'public' as const };

describe('codec round trip', () => {
  for (const name of TYPE_NAMES) {
    it(`decode(encode(m)) equals m for ${name}`, () => {
      fc.assert(
        fc.property(messageArbitraries[name], (m) => {
          const bytes = encodePayload(m);
          expect(bytes.length).toBe(payloadByteLength(m));
          expect(normalise(decodePayload(MessageType[name], bytes))).toEqual(normalise(m));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('DataChunkResp data is a view into the payload; BufferMapInfo bits are a copy', () => {
    const data = Buffer.alloc(1000, 0xab);
    const payload = encodePayload({ type: 'DataChunkResp', ...base, chunkId: 7, timestampMs: 1, signature: new Uint8Array(64), data });
    const chunk = decodePayload(MessageType.DataChunkResp, payload) as Extract<Message, { type: 'DataChunkResp' }>;
    expect(chunk.data.buffer).toBe(payload.buffer);
    expect(Buffer.from(chunk.data).equals(data)).toBe(true);

    const mapPayload = encodePayload({ type: 'BufferMapInfo', ...base, baseId: 1, length: 16, bits: new Uint8Array([1, 2]) });
    const map = decodePayload(MessageType.BufferMapInfo, mapPayload) as Extract<Message, { type: 'BufferMapInfo' }>;
    expect(map.bits.buffer).not.toBe(mapPayload.buffer);
  });

  it('accepts invalid UTF-8 as replacement characters', () => {
    const w = new BufferWriter();
    w.u8('len', 2);
    w.raw(new Uint8Array([0xff, 0xfe]));
    w.str8('contentId', '', 255);
    const m = decodePayload(MessageType.KeepAlive, w.finish());
    expect(m.peerId).toBe('\uFFFD\uFFFD');
  });
});

describe('type codes', () => {
  it('typeCodeOf and typeNameOf are inverse for every type', () => {
    for (const name of TYPE_NAMES) {
      expect(typeNameOf(MessageType[name])).toBe(name);
      expect(typeCodeOf({ type: name } as Message)).toBe(MessageType[name]);
    }
  });

  it('unknown codes and names', () => {
    for (const code of [0, 199, 255, 256, -1, 1.5]) expect(typeNameOf(code)).toBeUndefined();
    for (const code of [0, 199, 200, 255]) {
      expectProtocolError(() => decodePayload(code, rawPayload(() => {})), 'unknown-type', 'type: unknown message type code');
    }
    expectProtocolError(() => encodePayload({ ...base, type: 'Nope' } as unknown as Message), 'unknown-type', 'type:');
    expectProtocolError(() => encodePayload({ ...base, type: 'toString' } as unknown as Message), 'unknown-type', 'type:');
    expectProtocolError(() => encodePayload(null as unknown as Message), 'unknown-type', 'type:');
  });
});

describe('encode rejects what cannot go on the wire', () => {
  const long = 'x'.repeat(256);
  const cases: [string, Message, ProtocolErrorKind, string][] = [
    ['peerId over 255 bytes', { type: 'KeepAlive', peerId: long, contentId: '' }, 'too-long', 'KeepAlive.peerId: 256 bytes exceeds limit 255'],
    ['contentId over 255 UTF-8 bytes', { type: 'KeepAlive', peerId: '', contentId: 'é'.repeat(128) }, 'too-long', 'KeepAlive.contentId: 256 bytes'],
    ['host', { type: 'Hello', ...base, contact: { host: long, port: 1 }, role: 'node', observed: { host: '', port: 0 } }, 'too-long', 'Hello.contact.host'],
    ['role', { type: 'Hello', ...base, contact, role: long, observed: { host: '', port: 0 } }, 'too-long', 'Hello.role'],
    ['reason', { type: 'PartnershipResp', ...base, accepted: false, reason: long }, 'too-long', 'PartnershipResp.reason'],
    ['reject reason', { type: 'DataChunkReject', ...base, chunkId: 1, reason: long }, 'too-long', 'DataChunkReject.reason'],
    ['word', { type: 'ContentsReq', ...base, word: long }, 'too-long', 'ContentsReq.word'],
    ['error text', { type: 'Error', ...base, code: 1, message: 'x'.repeat(1025) }, 'too-long', 'Error.message: 1025 bytes exceeds limit 1024'],
    ['active content id', { type: 'Membership', ...base, activeContents: ['a', long], seq: 1, contact, ttlMs: 1, partnerCount: 0, reachability: 'unknown' }, 'too-long', 'Membership.activeContents[1]'],
    ['active contents count', { type: 'Membership', ...base, activeContents: new Array(257).fill('a'), seq: 1, contact, ttlMs: 1, partnerCount: 0, reachability: 'unknown' }, 'too-long', 'Membership.activeContents: count 257 exceeds limit 256'],
    ['members count', { type: 'MembersResp', ...base, members: new Array(257).fill(member) }, 'too-long', 'MembersResp.members: count 257 exceeds limit 256'],
    ['tracker members count', { type: 'TrackerMembers', ...base, members: new Array(300).fill(member), observed: { host: '', port: 0 } }, 'too-long', 'TrackerMembers.members: count 300'],
    ['contents count', { type: 'ContentsResp', ...base, contents: new Array(257).fill({ contentId: 'a', kind: 'live', title: 't', sizeBytes: 0 }) }, 'too-long', 'ContentsResp.contents: count 257'],
    ['content title', { type: 'ContentsResp', ...base, contents: [{ contentId: 'a', kind: 'live', title: long, sizeBytes: 0 }] }, 'too-long', 'ContentsResp.contents[0].title'],
    ['buffer map bits', { type: 'BufferMapInfo', ...base, baseId: 0, length: 8, bits: new Uint8Array(8193) }, 'too-long', 'BufferMapInfo.bits: 8193 bytes exceeds limit 8192'],
    ['buffer map length', { type: 'BufferMapInfo', ...base, baseId: 0, length: 65_537, bits: new Uint8Array(8192) }, 'too-long', 'BufferMapInfo.length: 65537 bits exceeds limit 65536'],
    ['buffer map length beyond bits', { type: 'BufferMapInfo', ...base, baseId: 0, length: 17, bits: new Uint8Array(2) }, 'bad-value', 'BufferMapInfo.length: 17 bits but bits holds only 16'],
    ['map delta below its floor', { type: 'BufferMapDelta', ...base, floorId: 10, baseId: 9, length: 0, bits: new Uint8Array(0) }, 'bad-value', 'BufferMapDelta.baseId: 9 is below floorId 10'],
    ['map delta length', { type: 'BufferMapDelta', ...base, floorId: 0, baseId: 0, length: 2041, bits: new Uint8Array(256) }, 'too-long', 'BufferMapDelta.length: 2041 bits exceeds limit 2040'],
    ['map delta length beyond bits', { type: 'BufferMapDelta', ...base, floorId: 0, baseId: 0, length: 9, bits: new Uint8Array(1) }, 'bad-value', 'BufferMapDelta.length: 9 bits but bits holds only 8'],
    ['signature', { type: 'DataChunkResp', ...base, chunkId: 0, timestampMs: 0, signature: new Uint8Array(129), data: new Uint8Array(0) }, 'too-long', 'DataChunkResp.signature: 129 bytes exceeds limit 128'],
    ['ticket', { type: 'TrackerJoin', ...base, contact, kind: 'live', title: '', allowRedirect: true, ticket: new Uint8Array(2049) }, 'too-long', 'TrackerJoin.ticket: 2049 bytes exceeds limit 2048'],
    ['port too big', { type: 'Hello', ...base, contact: { host: 'h', port: 65_536 }, role: '', observed: { host: '', port: 0 } }, 'bad-value', 'Hello.contact.port: 65536 is not an integer in 0..65535'],
    ['negative port', { type: 'TrackerJoin', ...base, contact: { host: 'h', port: -1 }, kind: 'live', title: '', allowRedirect: true, ticket: new Uint8Array(0) }, 'bad-value', 'TrackerJoin.contact.port'],
    ['fractional port', { type: 'Membership', ...base, activeContents: [], seq: 1, contact: { host: 'h', port: 80.5 }, ttlMs: 1, partnerCount: 0, reachability: 'unknown' }, 'bad-value', 'Membership.contact.port'],
    ['negative chunk id', { type: 'DataChunkReq', ...base, chunkId: -1 }, 'bad-value', 'DataChunkReq.chunkId: -1 is not an integer'],
    ['chunk id over u32', { type: 'DataChunkReq', ...base, chunkId: 2 ** 32 }, 'bad-value', 'DataChunkReq.chunkId'],
    ['fractional seq', { type: 'Membership', ...base, activeContents: [], seq: 1.5, contact, ttlMs: 1, partnerCount: 0, reachability: 'unknown' }, 'bad-value', 'Membership.seq: 1.5'],
    ['NaN baseId', { type: 'BufferMapInfo', ...base, baseId: NaN, length: 0, bits: new Uint8Array(0) }, 'bad-value', 'BufferMapInfo.baseId: NaN'],
    ['timestamp over u48', { type: 'DataChunkResp', ...base, chunkId: 0, timestampMs: 2 ** 48, signature: new Uint8Array(0), data: new Uint8Array(0) }, 'bad-value', 'DataChunkResp.timestampMs'],
    ['fractional timestamp', { type: 'DataChunkResp', ...base, chunkId: 0, timestampMs: 1.25, signature: new Uint8Array(0), data: new Uint8Array(0) }, 'bad-value', 'DataChunkResp.timestampMs: 1.25'],
    ['infinite ttl', { type: 'TrackerRedirect', ...base, deputy: { ...member, ttlMs: Infinity } }, 'bad-value', 'TrackerRedirect.deputy.ttlMs: Infinity'],
    ['negative ttl in list', { type: 'MembersResp', ...base, members: [member, { ...member, ttlMs: -5 }] }, 'bad-value', 'MembersResp.members[1].ttlMs: -5'],
    ['sub-stream count 0', { type: 'SubstreamSub', ...base, count: 0, mask: 0, uploadBps: 0 }, 'bad-value', 'SubstreamSub.count: 0 is not a sub-stream count in 1..32'],
    ['sub-stream count 33', { type: 'SubstreamAck', ...base, count: 33, mask: 0, hops: new Uint8Array(33) }, 'bad-value', 'SubstreamAck.count: 33'],
    ['sub-stream mask beyond the count', { type: 'SubstreamSub', ...base, count: 4, mask: 0b10000, uploadBps: 0 }, 'bad-value', 'SubstreamSub.mask: mask 16 names sub-streams beyond count 4'],
    ['hops not one per sub-stream', { type: 'SubstreamAck', ...base, count: 4, mask: 1, hops: new Uint8Array(3) }, 'bad-value', 'SubstreamAck.hops: 3 entries for 4 sub-streams'],
    ['33 feature names', { type: 'Features', ...base, names: Array.from({ length: 33 }, () => 'due') }, 'too-long', 'Features.names: count 33 exceeds limit 32'],
    ['fractional due time', { type: 'DataChunkDue', ...base, chunkId: 0, dueInMs: 2.5 }, 'bad-value', 'DataChunkDue.dueInMs: 2.5'],
    ['negative size', { type: 'ContentsResp', ...base, contents: [{ contentId: 'a', kind: 'download', title: 't', sizeBytes: -1 }] }, 'bad-value', 'ContentsResp.contents[0].sizeBytes'],
    ['unknown kind', { type: 'TrackerJoin', ...base, contact, kind: 'vod' as 'live', title: '', allowRedirect: true, ticket: new Uint8Array(0) }, 'bad-value', 'TrackerJoin.kind: unknown content kind "vod"'],
    ['non-boolean', { type: 'PartnershipResp', ...base, accepted: 1 as unknown as boolean, reason: '' }, 'bad-value', 'PartnershipResp.accepted: 1 is not a boolean'],
    ['missing contact', { type: 'Hello', ...base, contact: undefined as unknown as typeof contact, role: '', observed: { host: '', port: 0 } }, 'bad-value', 'Hello.contact: undefined is not an object'],
    ['string instead of bytes', { type: 'TrackerJoin', ...base, contact, kind: 'live', title: '', allowRedirect: true, ticket: 'abc' as unknown as Uint8Array }, 'bad-value', 'TrackerJoin.ticket: string is not a Uint8Array'],
    ['number instead of string', { type: 'ContentsReq', ...base, word: 5 as unknown as string }, 'bad-value', 'ContentsReq.word: 5 is not a string'],
    ['error code over u16', { type: 'Error', ...base, code: 70_000, message: '' }, 'bad-value', 'Error.code'],
    ['relayed Relay', { type: 'Relay', ...base, origin: 'a', target: 'b', inner: { type: 'Relay', ...base, origin: 'a', target: 'b', inner: { type: 'PartnershipReq', ...base } } }, 'bad-value', 'Relay.inner: a Relay cannot be relayed'],
    ['relayed Hello', { type: 'Relay', ...base, origin: 'a', target: 'b', inner: { type: 'Hello', ...base, contact, role: 'node', observed: contact } }, 'bad-value', 'Relay.inner: a Hello cannot be relayed'],
    ['relay target', { type: 'Relay', ...base, origin: 'a', target: long, inner: { type: 'PartnershipReq', ...base } }, 'too-long', 'Relay.target'],
    ['relay without inner', { type: 'Relay', ...base, origin: 'a', target: 'b', inner: undefined as unknown as Message }, 'bad-value', 'Relay.inner: undefined is not an object'],
    ['bad field inside a relay', { type: 'Relay', ...base, origin: 'a', target: 'b', inner: { type: 'DataChunkReq', ...base, chunkId: -1 } }, 'bad-value', 'DataChunkReq.chunkId'],
  ];
  for (const [what, msg, kind, start] of cases) {
    it(what, () => expectProtocolError(() => encodePayload(msg), kind, start));
  }
});

describe('decode rejects bad payloads', () => {
  const memberBytes = (w: BufferWriter): void => {
    w.str8('peerId', 'm', 255);
    w.str8('host', 'h', 255);
    w.u16('port', 1);
    w.u32('seq', 1);
    w.u48('ttl', 1);
    w.u16('partners', 1);
  };
  const cases: [string, MessageTypeName, Buffer, ProtocolErrorKind, string][] = [
    ['members count over limit', 'MembersResp', rawPayload((w) => w.u16('n', 9000)), 'too-long', 'MembersResp.members: count 9000 exceeds limit 256'],
    ['tracker members count', 'TrackerMembers', rawPayload((w) => w.u16('n', 257)), 'too-long', 'TrackerMembers.members: count 257 exceeds limit 256'],
    ['active contents count', 'Membership', rawPayload((w) => w.u16('n', 65_535)), 'too-long', 'Membership.activeContents: count 65535 exceeds limit 256'],
    ['contents count', 'ContentsResp', rawPayload((w) => w.u16('n', 1000)), 'too-long', 'ContentsResp.contents: count 1000 exceeds limit 256'],
    ['error text', 'Error', rawPayload((w) => { w.u16('code', 1); w.str16('msg', 'x'.repeat(2000), 65_535); }), 'too-long', 'Error.message: 2000 bytes exceeds limit 1024'],
    ['error text length checked before the bytes', 'Error', rawPayload((w) => { w.u16('code', 1); w.u16('len', 60_000); }), 'too-long', 'Error.message: 60000 bytes exceeds limit 1024'],
    ['signature', 'DataChunkResp', rawPayload((w) => { w.u32('id', 1); w.u48('ts', 1); w.bytes8('sig', new Uint8Array(200), 255); w.bytes32('data', new Uint8Array(0), 1e9); }), 'too-long', 'DataChunkResp.signature: 200 bytes exceeds limit 128'],
    ['ticket', 'TrackerJoin', rawPayload((w) => { w.str8('h', 'h', 255); w.u16('p', 1); w.u8('k', 0); w.str8('t', '', 255); w.u8('r', 1); w.u16('len', 3000); }), 'too-long', 'TrackerJoin.ticket: 3000 bytes exceeds limit 2048'],
    ['buffer map length', 'BufferMapInfo', rawPayload((w) => { w.u32('base', 0); w.u32('len', 70_000); w.bytes16('bits', new Uint8Array(0), 65_535); }), 'too-long', 'BufferMapInfo.length: 70000 bits exceeds limit 65536'],
    ['buffer map bits', 'BufferMapInfo', rawPayload((w) => { w.u32('base', 0); w.u32('len', 8); w.u16('n', 9000); }), 'too-long', 'BufferMapInfo.bits: 9000 bytes exceeds limit 8192'],
    ['buffer map length beyond bits', 'BufferMapInfo', rawPayload((w) => { w.u32('base', 0); w.u32('len', 17); w.bytes16('bits', new Uint8Array(2), 65_535); }), 'bad-value', 'BufferMapInfo.length: 17 bits but bits holds only 16'],
    ['map delta below its floor', 'BufferMapDelta', rawPayload((w) => { w.u32('floor', 5); w.u32('base', 4); w.u16('len', 0); w.bytes8('bits', new Uint8Array(0), 255); }), 'bad-value', 'BufferMapDelta.baseId: 4 is below floorId 5'],
    ['map delta length beyond bits', 'BufferMapDelta', rawPayload((w) => { w.u32('floor', 0); w.u32('base', 0); w.u16('len', 9); w.bytes8('bits', new Uint8Array(1), 255); }), 'bad-value', 'BufferMapDelta.length: 9 bits but bits holds only 8'],
    ['chunk data longer than the payload', 'DataChunkResp', rawPayload((w) => { w.u32('id', 1); w.u48('ts', 1); w.bytes8('sig', new Uint8Array(0), 255); w.u32('len', 0xffff_ffff); }), 'truncated', 'DataChunkResp.data: needs 4294967295 bytes'],
    ['bool 2', 'PartnershipResp', rawPayload((w) => { w.u8('b', 2); w.str8('r', '', 255); }), 'bad-value', 'PartnershipResp.accepted: bool byte is 2'],
    ['bool 255', 'TrackerJoin', rawPayload((w) => { w.str8('h', 'h', 255); w.u16('p', 1); w.u8('k', 1); w.str8('t', '', 255); w.u8('r', 255); w.u16('len', 0); }), 'bad-value', 'TrackerJoin.allowRedirect'],
    ['unknown kind', 'TrackerJoin', rawPayload((w) => { w.str8('h', 'h', 255); w.u16('p', 1); w.u8('k', 7); w.u8('r', 1); w.u16('len', 0); }), 'bad-value', 'TrackerJoin.kind: unknown content kind code 7'],
    ['unknown kind in list', 'ContentsResp', rawPayload((w) => { w.u16('n', 1); w.str8('id', 'a', 255); w.u8('k', 2); w.str8('t', '', 255); w.u48('s', 0); }), 'bad-value', 'ContentsResp.contents[0].kind'],
    ['truncated member in list', 'MembersResp', rawPayload((w) => { w.u16('n', 2); memberBytes(w); w.u8('half', 1); }), 'truncated', 'MembersResp.members[1].peerId'],
    ['sub-stream count 0', 'SubstreamSub', rawPayload((w) => { w.u8('n', 0); w.u32('m', 0); w.u32('up', 0); }), 'bad-value', 'SubstreamSub.count: 0 is not a sub-stream count in 1..32'],
    ['sub-stream mask beyond the count', 'SubstreamSub', rawPayload((w) => { w.u8('n', 2); w.u32('m', 0xff); w.u32('up', 0); }), 'bad-value', 'SubstreamSub.mask: mask 255 names sub-streams beyond count 2'],
    ['hops not one per sub-stream', 'SubstreamAck', rawPayload((w) => { w.u8('n', 4); w.u32('m', 1); w.bytes8('h', new Uint8Array(2), 255); }), 'bad-value', 'SubstreamAck.hops: 2 entries for 4 sub-streams'],
    ['hops over the limit', 'SubstreamAck', rawPayload((w) => { w.u8('n', 4); w.u32('m', 1); w.bytes8('h', new Uint8Array(40), 255); }), 'too-long', 'SubstreamAck.hops: 40 bytes exceeds limit 32'],
    ['33 feature names', 'Features', rawPayload((w) => w.u16('n', 33)), 'too-long', 'Features.names: count 33 exceeds limit 32'],
    ['truncated due time', 'DataChunkDue', rawPayload((w) => { w.u32('c', 1); w.u16('d', 0); }), 'truncated', 'DataChunkDue.dueInMs'],
    ['trailing bytes', 'KeepAlive', rawPayload((w) => w.u8('x', 0)), 'trailing-bytes', 'KeepAlive: 1 unexpected bytes'],
    ['empty payload', 'Hello', Buffer.alloc(0), 'truncated', 'Hello.peerId: needs 1 bytes, only 0 left'],
    ['relay of a Relay', 'Relay', rawPayload((w) => { w.str8('o', 'a', 255); w.str8('t', 'b', 255); w.u8('k', MessageType.Relay); w.bytes32('in', new Uint8Array(0), 1e9); }), 'bad-value', 'Relay.innerType: type code 27 cannot be relayed'],
    ['relay of a KeepAlive', 'Relay', rawPayload((w) => { w.str8('o', 'a', 255); w.str8('t', 'b', 255); w.u8('k', MessageType.KeepAlive); w.bytes32('in', new Uint8Array(2), 1e9); }), 'bad-value', 'Relay.innerType: type code 2 cannot be relayed'],
    ['relay of an unknown type', 'Relay', rawPayload((w) => { w.str8('o', 'a', 255); w.str8('t', 'b', 255); w.u8('k', 200); }), 'bad-value', 'Relay.innerType: type code 200'],
    ['relay inner longer than the payload', 'Relay', rawPayload((w) => { w.str8('o', 'a', 255); w.str8('t', 'b', 255); w.u8('k', MessageType.DataChunkReq); w.u32('len', 1000); }), 'truncated', 'Relay.inner: needs 1000 bytes'],
    ['truncated inner message', 'Relay', rawPayload((w) => { w.str8('o', 'a', 255); w.str8('t', 'b', 255); w.u8('k', MessageType.DataChunkReq); w.bytes32('in', Buffer.from([0, 0, 1, 2]), 1e9); }), 'truncated', 'Relay.inner.DataChunkReq.chunkId: needs 4 bytes'],
  ];
  for (const [what, name, payload, kind, start] of cases) {
    it(what, () => expectProtocolError(() => decodePayload(MessageType[name], payload), kind, start));
  }

  it('a truncated payload throws ProtocolError(truncated) at every cut point', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const bytes = encodePayload(m);
        const code = typeCodeOf(m);
        for (let cut = 0; cut < bytes.length; cut++) {
          const e = protocolErrorOf(() => decodePayload(code, bytes.subarray(0, cut)));
          expect(e.kind).toBe('truncated');
          expect(e.message.startsWith(`${m.type}.`)).toBe(true);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('trailing bytes are rejected for every type', () => {
    fc.assert(
      fc.property(arbMessage, fc.uint8Array({ minLength: 1, maxLength: 8 }), (m, extra) => {
        const bytes = Buffer.concat([encodePayload(m), extra]);
        const e = protocolErrorOf(() => decodePayload(typeCodeOf(m), bytes));
        expect(e.kind).toBe('trailing-bytes');
        expect(e.message).toBe(`${m.type}: ${extra.length} unexpected bytes after the last field`);
      }),
      { numRuns: 300 },
    );
  });

  it('random payloads for every type code only ever throw ProtocolError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 }), (code, bytes) => {
        try {
          decodePayload(code, bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('round trip is exact for a message decoded from a Uint8Array that is not a Buffer', () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const bytes = new Uint8Array(encodePayload(m));
        expect(normalise(decodePayload(typeCodeOf(m), bytes))).toEqual(normalise(m));
      }),
      { numRuns: 100 },
    );
    expect(normalise(roundTrip({ type: 'KeepAlive', peerId: '', contentId: '' }))).toEqual({ type: 'KeepAlive', peerId: '', contentId: '' });
  });
});
