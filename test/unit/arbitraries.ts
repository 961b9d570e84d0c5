// fast-check arbitraries for every protocol message, shared by the codec, framing and later tests.
// Values stay within WireLimits (strings by UTF-8 bytes) and hit the edges now and then: empty and
// 255-byte strings, 4-byte UTF-8 code points, 0 and max integers, empty and full byte fields.
import fc from 'fast-check';
import {
  WireLimits,
  type Contact,
  type ContentInfo,
  type MemberInfo,
  type Message,
  type MessageOf,
  type MessageTypeName,
} from '../../src/protocol/messages.js';

const L = WireLimits;

/** A string of at most maxStringBytes UTF-8 bytes. */
export const arbShortString: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ maxLength: 24 }) },
  // at most 4 bytes per code point: 60 × 4 = 240 ≤ 255
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  // exactly at the limit (one byte per character)
  { weight: 1, arbitrary: fc.string({ minLength: L.maxStringBytes, maxLength: L.maxStringBytes }) },
);

/** A string of at most maxTextBytes UTF-8 bytes. */
export const arbText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: L.maxTextBytes / 4 }),
  fc.string({ minLength: L.maxTextBytes, maxLength: L.maxTextBytes }),
);

export const arbU16 = fc.integer({ min: 0, max: 0xffff });
export const arbU32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const arbU48 = fc.integer({ min: 0, max: 2 ** 48 - 1 });

export const arbContact: fc.Arbitrary<Contact> = fc.record({ host: arbShortString, port: arbU16 });

export const arbReachability = fc.constantFrom('unknown' as const, 'public' as const, 'mapped' as const, 'nat' as const);

export const arbMemberInfo: fc.Arbitrary<MemberInfo> = fc.record({
  peerId: arbShortString,
  contact: arbContact,
  seq: arbU32,
  ttlMs: arbU48,
  partnerCount: arbU16,
  reachability: arbReachability,
});

export const arbContentKind = fc.constantFrom('live' as const, 'download' as const);

export const arbContentInfo: fc.Arbitrary<ContentInfo> = fc.record({
  contentId: arbShortString,
  kind: arbContentKind,
  title: arbShortString,
  sizeBytes: arbU48,
});

const arbMembers = fc.array(arbMemberInfo, { maxLength: 6 });

/** Bits of a buffer map with a consistent bit count (0 .. bits.length × 8, capped at the limit). */
const arbBufferMap = fc
  .oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 128 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: L.maxBufferMapBits / 8, maxLength: L.maxBufferMapBits / 8 }) },
  )
  .chain((bits) =>
    fc.record({
      bits: fc.constant(bits),
      length: fc.integer({ min: 0, max: Math.min(bits.length * 8, L.maxBufferMapBits) }),
    }),
  );

/** Sender and content, common to every message. */
const base = { peerId: arbShortString, contentId: arbShortString };

/** One arbitrary per message type, keyed by type name. */
export const messageArbitraries: { [K in MessageTypeName]: fc.Arbitrary<MessageOf<K>> } = {
  Hello: fc.record({ type: fc.constant('Hello'), ...base, contact: arbContact, role: arbShortString, observed: arbContact }),
  KeepAlive: fc.record({ type: fc.constant('KeepAlive'), ...base }),
  Membership: fc.record({
    type: fc.constant('Membership'),
    ...base,
    activeContents: fc.array(arbShortString, { maxLength: 6 }),
    seq: arbU32,
    contact: arbContact,
    ttlMs: arbU48,
    partnerCount: arbU16,
    reachability: arbReachability,
  }),
  MembersReq: fc.record({ type: fc.constant('MembersReq'), ...base, max: arbU16 }),
  MembersResp: fc.record({ type: fc.constant('MembersResp'), ...base, members: arbMembers }),
  PartnershipReq: fc.record({ type: fc.constant('PartnershipReq'), ...base }),
  PartnershipResp: fc.record({
    type: fc.constant('PartnershipResp'),
    ...base,
    accepted: fc.boolean(),
    reason: arbShortString,
  }),
  PartnershipRemove: fc.record({ type: fc.constant('PartnershipRemove'), ...base }),
  BufferMapInfo: fc
    .record({ type: fc.constant('BufferMapInfo'), ...base, baseId: arbU32, map: arbBufferMap })
    .map(({ map, ...rest }) => ({ ...rest, length: map.length, bits: map.bits })),
  BufferMapDelta: fc
    .record({
      type: fc.constant('BufferMapDelta'),
      ...base,
      floorId: fc.integer({ min: 0, max: 0xffff_ff00 }),
      above: fc.integer({ min: 0, max: 255 }),
      bits: fc.uint8Array({ maxLength: L.maxMapDeltaBits / 8 }),
      cut: fc.nat(7),
    })
    .map(({ above, cut, bits, ...rest }) => ({ ...rest, baseId: rest.floorId + above, length: Math.max(0, bits.length * 8 - cut), bits })),
  DataChunkReq: fc.record({ type: fc.constant('DataChunkReq'), ...base, chunkId: arbU32 }),
  DataChunkResp: fc.record({
    type: fc.constant('DataChunkResp'),
    ...base,
    chunkId: arbU32,
    timestampMs: arbU48,
    signature: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ maxLength: L.maxSignatureBytes })),
    data: fc.uint8Array({ maxLength: 2048 }),
  }),
  DataChunkReject: fc.record({ type: fc.constant('DataChunkReject'), ...base, chunkId: arbU32, reason: arbShortString }),
  ContentsReq: fc.record({ type: fc.constant('ContentsReq'), ...base, word: arbShortString }),
  ContentsResp: fc.record({
    type: fc.constant('ContentsResp'),
    ...base,
    contents: fc.array(arbContentInfo, { maxLength: 6 }),
  }),
  TrackerJoin: fc.record({
    type: fc.constant('TrackerJoin'),
    ...base,
    contact: arbContact,
    kind: arbContentKind,
    title: arbShortString,
    allowRedirect: fc.boolean(),
    ticket: fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.uint8Array({ minLength: L.maxTicketBytes, maxLength: L.maxTicketBytes })),
  }),
  TrackerMembers: fc.record({ type: fc.constant('TrackerMembers'), ...base, members: arbMembers, observed: arbContact }),
  TrackerRedirect: fc.record({ type: fc.constant('TrackerRedirect'), ...base, deputy: arbMemberInfo }),
  TrackerLeave: fc.record({ type: fc.constant('TrackerLeave'), ...base }),
  Error: fc.record({ type: fc.constant('Error'), ...base, code: arbU16, message: arbText }),
  ManifestReq: fc.record({ type: fc.constant('ManifestReq'), ...base }),
  ManifestResp: fc.record({
    type: fc.constant('ManifestResp'),
    ...base,
    // (the 2 MiB limit itself is exercised in download-codec tests; here sizes stay small)
    manifest: fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ maxLength: 4096 }) }, { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) }),
  }),
  ContentAnnounce: fc.record({
    type: fc.constant('ContentAnnounce'),
    ...base,
    kind: arbContentKind,
    title: arbShortString,
    sizeBytes: arbU48,
  }),
  ReachabilityReq: fc.record({ type: fc.constant('ReachabilityReq'), ...base, contact: arbContact }),
  ReachabilityResp: fc.record({
    type: fc.constant('ReachabilityResp'),
    ...base,
    contact: arbContact,
    reachable: fc.boolean(),
    observed: arbContact,
    detail: arbShortString,
  }),
  PunchReq: fc.record({ type: fc.constant('PunchReq'), ...base, target: arbShortString, contact: arbContact }),
  PunchNow: fc.record({ type: fc.constant('PunchNow'), ...base, peer: arbShortString, contact: arbContact }),
  SubstreamSub: fc.integer({ min: 1, max: 32 }).chain((count) =>
    fc.record({ type: fc.constant('SubstreamSub'), ...base, count: fc.constant(count), mask: fc.integer({ min: 0, max: 2 ** count - 1 }), uploadBps: fc.integer({ min: 0, max: 0xffffffff }) }),
  ),
  SubstreamAck: fc.integer({ min: 1, max: 32 }).chain((count) =>
    fc.record({ type: fc.constant('SubstreamAck'), ...base, count: fc.constant(count), mask: fc.integer({ min: 0, max: 2 ** count - 1 }), hops: fc.uint8Array({ minLength: count, maxLength: count }) }),
  ),
  Features: fc.record({ type: fc.constant('Features'), ...base, names: fc.array(arbShortString, { maxLength: 32 }) }),
  DataChunkDue: fc.record({ type: fc.constant('DataChunkDue'), ...base, chunkId: fc.integer({ min: 0, max: 0xffffffff }), dueInMs: fc.integer({ min: 0, max: 0xffffffff }) }),
  DataChunkCancel: fc.record({ type: fc.constant('DataChunkCancel'), ...base, chunkId: fc.integer({ min: 0, max: 0xffffffff }) }),
  Relay: fc.record({
    type: fc.constant('Relay'),
    ...base,
    origin: arbShortString,
    target: arbShortString,
    // Chosen at generation time (the table below is complete by then): any relayable message.
    inner: fc.constant(null).chain(() => fc.oneof(
      ...Object.entries(messageArbitraries).filter(([n]) => n !== 'Relay' && n !== 'Hello' && n !== 'KeepAlive').map(([, a]) => a as fc.Arbitrary<Message>),
    )),
  }),
};

/** Any message, every type equally likely. */
export const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  ...(Object.values(messageArbitraries) as fc.Arbitrary<Message>[]),
);

/**
 * Deep copy with every Uint8Array (Buffer included) replaced by a plain number array, so messages
 * can be compared with toEqual whether their byte fields are Buffers, views or Uint8Arrays.
 */
export function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Array.from(v) };
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  }
  return v;
}
