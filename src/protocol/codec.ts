// Pure binary encode/decode of every message in messages.ts: one encode function (writeFields) and
// one decode switch (readFields). No JSON and no I/O. The type code is not part of the payload — it
// travels in the frame header (framing.ts).
//
// Every payload starts with peerId and contentId (str8). Field order per type is the order of the
// statements below and is documented in docs/protocol.md; changing it changes the wire format.
//
// Copy policy on decode: DataChunkResp.data and DataChunkResp.signature are VIEWS into the payload
// bytes (zero copy; the caller must not reuse or mutate the buffer it decoded from, and the views keep
// that buffer alive). Every other byte field (BufferMapInfo.bits, TrackerJoin.ticket,
// ManifestResp.manifest) is copied so a long-lived value does not pin a network read buffer. On
// encode, chunk data is copied once, straight into the output buffer.
import { ProtocolError } from './errors.js';
import {
  MessageType,
  WireLimits,
  type ContentInfo,
  type Message,
  type MessageTypeName,
} from './messages.js';
import { BufferReader, BufferWriter, ByteCounter, type WireSink } from './wire-buffer.js';
import { checkObject, checkList, writeContact, writeKind, writeReach, writeMember, writeMembers, writeContent, readContact, readKind, readReach, readMember, readMembers, readContent, writeSubstreamSub, readSubstreamSub, writeSubstreamAck, readSubstreamAck, writeNames, readNames, writeBufferMap, readBufferMap, writeMapDelta, readMapDelta } from './codec-fields.js';

const L = WireLimits;
/** Chunk data has no limit of its own: the frame's maxPayloadBytes bounds it. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;


/** Type name by wire code (index 0..255); undefined where no message has that code. */
const NAME_BY_CODE: (MessageTypeName | undefined)[] = new Array(256).fill(undefined);
for (const [name, code] of Object.entries(MessageType)) NAME_BY_CODE[code] = name as MessageTypeName;

/** Which type codes a Relay may carry: any message but a Relay, Hello or KeepAlive (transport's own). */
const RELAYABLE: boolean[] = NAME_BY_CODE.map((n) => n !== undefined && n !== 'Relay' && n !== 'Hello' && n !== 'KeepAlive');

// ---------------------------------------------------------------------------------------------
// Type codes

/** Wire type code of a message. Throws ProtocolError('unknown-type') for a `type` no message has. */
export function typeCodeOf(msg: Message): number {
  const type: unknown = (msg as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !Object.hasOwn(MessageType, type)) {
    throw new ProtocolError('unknown-type', 'type', `unknown message type ${JSON.stringify(type)}`);
  }
  return MessageType[type as MessageTypeName];
}

/** Message type name of a wire code, or undefined when no message has that code. */
export function typeNameOf(code: number): MessageTypeName | undefined {
  return Number.isInteger(code) ? NAME_BY_CODE[code] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Encode

/**
 * THE encode function: writes the payload fields of `msg` to a sink (a ByteCounter to measure, a
 * BufferWriter to write). Throws ProtocolError ('bad-value', 'too-long', 'unknown-type') naming the
 * field for anything that cannot be encoded.
 */
export function writeFields(w: WireSink, msg: Message): void {
  typeCodeOf(msg); // rejects a non-object or an unknown `type` before anything is written
  const t = msg.type;
  w.str8(`${t}.peerId`, msg.peerId, L.maxStringBytes);
  w.str8(`${t}.contentId`, msg.contentId, L.maxStringBytes);
  switch (msg.type) {
    case 'Hello':
      writeContact(w, 'Hello.contact', msg.contact);
      w.str8('Hello.role', msg.role, L.maxStringBytes);
      writeContact(w, 'Hello.observed', msg.observed);
      return;
    case 'Membership': {
      writeNames(w, 'Membership.activeContents', msg.activeContents, L.maxContents);
      w.u32('Membership.seq', msg.seq);
      writeContact(w, 'Membership.contact', msg.contact);
      w.u48('Membership.ttlMs', msg.ttlMs);
      w.u16('Membership.partnerCount', msg.partnerCount);
      writeReach(w, 'Membership.reachability', msg.reachability);
      return;
    }
    case 'MembersReq':
      w.u16('MembersReq.max', msg.max);
      return;
    case 'MembersResp':
      writeMembers(w, 'MembersResp.members', msg.members);
      return;
    case 'PartnershipResp':
      w.bool('PartnershipResp.accepted', msg.accepted);
      w.str8('PartnershipResp.reason', msg.reason, L.maxStringBytes);
      return;
    case 'BufferMapInfo':
      return writeBufferMap(w, msg);
    case 'BufferMapDelta':
      return writeMapDelta(w, msg);
    case 'DataChunkReq':
      return w.u32('DataChunkReq.chunkId', msg.chunkId);
    case 'DataChunkResp':
      w.u32('DataChunkResp.chunkId', msg.chunkId);
      w.u48('DataChunkResp.timestampMs', msg.timestampMs);
      w.bytes8('DataChunkResp.signature', msg.signature, L.maxSignatureBytes);
      w.bytes32('DataChunkResp.data', msg.data, NO_LIMIT);
      return;
    case 'DataChunkReject':
      w.u32('DataChunkReject.chunkId', msg.chunkId);
      w.str8('DataChunkReject.reason', msg.reason, L.maxStringBytes);
      return;
    case 'ContentsReq':
      w.str8('ContentsReq.word', msg.word, L.maxStringBytes);
      return;
    case 'ContentsResp': {
      const list = msg.contents;
      checkList('ContentsResp.contents', list, L.maxContents);
      w.u16('ContentsResp.contents', list.length);
      for (let i = 0; i < list.length; i++) writeContent(w, `ContentsResp.contents[${i}]`, list[i]!);
      return;
    }
    case 'TrackerJoin':
      writeContact(w, 'TrackerJoin.contact', msg.contact);
      writeKind(w, 'TrackerJoin.kind', msg.kind);
      w.str8('TrackerJoin.title', msg.title, L.maxStringBytes);
      w.bool('TrackerJoin.allowRedirect', msg.allowRedirect);
      w.bytes16('TrackerJoin.ticket', msg.ticket, L.maxTicketBytes);
      return;
    case 'TrackerMembers':
      writeMembers(w, 'TrackerMembers.members', msg.members);
      writeContact(w, 'TrackerMembers.observed', msg.observed);
      return;
    case 'TrackerRedirect':
      writeMember(w, 'TrackerRedirect.deputy', msg.deputy);
      return;
    case 'Error':
      w.u16('Error.code', msg.code);
      w.str16('Error.message', msg.message, L.maxTextBytes);
      return;
    case 'ManifestResp':
      w.bytes32('ManifestResp.manifest', msg.manifest, L.maxManifestBytes);
      return;
    case 'ContentAnnounce':
      writeKind(w, 'ContentAnnounce.kind', msg.kind);
      w.str8('ContentAnnounce.title', msg.title, L.maxStringBytes);
      w.u48('ContentAnnounce.sizeBytes', msg.sizeBytes);
      return;
    case 'ReachabilityReq':
      writeContact(w, 'ReachabilityReq.contact', msg.contact);
      return;
    case 'ReachabilityResp':
      writeContact(w, 'ReachabilityResp.contact', msg.contact);
      w.bool('ReachabilityResp.reachable', msg.reachable);
      writeContact(w, 'ReachabilityResp.observed', msg.observed);
      w.str8('ReachabilityResp.detail', msg.detail, L.maxStringBytes);
      return;
    case 'PunchReq':
      w.str8('PunchReq.target', msg.target, L.maxStringBytes);
      writeContact(w, 'PunchReq.contact', msg.contact);
      return;
    case 'PunchNow':
      w.str8('PunchNow.peer', msg.peer, L.maxStringBytes);
      writeContact(w, 'PunchNow.contact', msg.contact);
      return;
    case 'Relay': {
      w.str8('Relay.origin', msg.origin, L.maxStringBytes);
      w.str8('Relay.target', msg.target, L.maxStringBytes);
      const inner = msg.inner;
      checkObject('Relay.inner', inner);
      const code = typeCodeOf(inner);
      if (!RELAYABLE[code]) throw new ProtocolError('bad-value', 'Relay.inner', `a ${inner.type} cannot be relayed`);
      w.u8('Relay.innerType', code);
      // Same layout as a bytes32 field: u32 length, then the inner payload.
      w.u32('Relay.inner', payloadByteLength(inner));
      writeFields(w, inner);
      return;
    }
    case 'SubstreamSub':
      return writeSubstreamSub(w, msg);
    case 'SubstreamAck':
      return writeSubstreamAck(w, msg);
    case 'Features':
      return writeNames(w, 'Features.names', msg.names, L.maxFeatures);
    case 'DataChunkDue':
      w.u32('DataChunkDue.chunkId', msg.chunkId);
      return w.u32('DataChunkDue.dueInMs', msg.dueInMs);
    case 'DataChunkCancel':
      return w.u32('DataChunkCancel.chunkId', msg.chunkId);
    case 'KeepAlive':
    case 'PartnershipReq':
    case 'PartnershipRemove':
    case 'TrackerLeave':
    case 'ManifestReq':
      return; // no fields beyond peerId and contentId
  }
}

/** Exact payload size of `msg` in bytes (validates `msg` as encoding would). */
export function payloadByteLength(msg: Message): number {
  const counter = new ByteCounter();
  writeFields(counter, msg);
  return counter.length;
}

/** Encodes the payload of `msg` (no type byte, no frame). One allocation of the exact size. */
export function encodePayload(msg: Message): Buffer {
  const w = new BufferWriter(payloadByteLength(msg));
  writeFields(w, msg);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Decode

/** THE decode switch: reads the fields after peerId/contentId. Object literals list fields in wire order. */
function readFields(name: MessageTypeName, r: BufferReader, peerId: string, contentId: string): Message {
  switch (name) {
    case 'Hello':
      return {
        type: name,
        peerId,
        contentId,
        contact: readContact(r, 'Hello.contact'),
        role: r.str8('Hello.role', L.maxStringBytes),
        observed: readContact(r, 'Hello.observed'),
      };
    case 'Membership':
      return {
        type: name,
        peerId,
        contentId,
        activeContents: readNames(r, 'Membership.activeContents', L.maxContents),
        seq: r.u32('Membership.seq'),
        contact: readContact(r, 'Membership.contact'),
        ttlMs: r.u48('Membership.ttlMs'),
        partnerCount: r.u16('Membership.partnerCount'),
        reachability: readReach(r, 'Membership.reachability'),
      };
    case 'MembersReq':
      return { type: name, peerId, contentId, max: r.u16('MembersReq.max') };
    case 'MembersResp':
      return { type: name, peerId, contentId, members: readMembers(r, 'MembersResp.members') };
    case 'PartnershipResp':
      return {
        type: name,
        peerId,
        contentId,
        accepted: r.bool('PartnershipResp.accepted'),
        reason: r.str8('PartnershipResp.reason', L.maxStringBytes),
      };
    case 'BufferMapInfo':
      return { type: name, peerId, contentId, ...readBufferMap(r) };
    case 'BufferMapDelta':
      return { type: name, peerId, contentId, ...readMapDelta(r) };
    case 'DataChunkReq':
      return { type: name, peerId, contentId, chunkId: r.u32('DataChunkReq.chunkId') };
    case 'DataChunkResp':
      return {
        type: name,
        peerId,
        contentId,
        chunkId: r.u32('DataChunkResp.chunkId'),
        timestampMs: r.u48('DataChunkResp.timestampMs'),
        signature: r.bytes8('DataChunkResp.signature', L.maxSignatureBytes, true),
        data: r.bytes32('DataChunkResp.data', NO_LIMIT, true),
      };
    case 'DataChunkReject':
      return {
        type: name,
        peerId,
        contentId,
        chunkId: r.u32('DataChunkReject.chunkId'),
        reason: r.str8('DataChunkReject.reason', L.maxStringBytes),
      };
    case 'ContentsReq':
      return { type: name, peerId, contentId, word: r.str8('ContentsReq.word', L.maxStringBytes) };
    case 'ContentsResp': {
      const n = r.count('ContentsResp.contents', L.maxContents);
      const contents: ContentInfo[] = [];
      for (let i = 0; i < n; i++) contents.push(readContent(r, `ContentsResp.contents[${i}]`));
      return { type: name, peerId, contentId, contents };
    }
    case 'TrackerJoin':
      return {
        type: name,
        peerId,
        contentId,
        contact: readContact(r, 'TrackerJoin.contact'),
        kind: readKind(r, 'TrackerJoin.kind'),
        title: r.str8('TrackerJoin.title', L.maxStringBytes),
        allowRedirect: r.bool('TrackerJoin.allowRedirect'),
        ticket: r.bytes16('TrackerJoin.ticket', L.maxTicketBytes, false),
      };
    case 'TrackerMembers':
      return {
        type: name,
        peerId,
        contentId,
        members: readMembers(r, 'TrackerMembers.members'),
        observed: readContact(r, 'TrackerMembers.observed'),
      };
    case 'TrackerRedirect':
      return { type: name, peerId, contentId, deputy: readMember(r, 'TrackerRedirect.deputy') };
    case 'Error':
      return {
        type: name,
        peerId,
        contentId,
        code: r.u16('Error.code'),
        message: r.str16('Error.message', L.maxTextBytes),
      };
    case 'ManifestResp':
      return { type: name, peerId, contentId, manifest: r.bytes32('ManifestResp.manifest', L.maxManifestBytes, false) };
    case 'ContentAnnounce':
      return {
        type: name,
        peerId,
        contentId,
        kind: readKind(r, 'ContentAnnounce.kind'),
        title: r.str8('ContentAnnounce.title', L.maxStringBytes),
        sizeBytes: r.u48('ContentAnnounce.sizeBytes'),
      };
    case 'ReachabilityReq':
      return { type: name, peerId, contentId, contact: readContact(r, 'ReachabilityReq.contact') };
    case 'ReachabilityResp':
      return {
        type: name,
        peerId,
        contentId,
        contact: readContact(r, 'ReachabilityResp.contact'),
        reachable: r.bool('ReachabilityResp.reachable'),
        observed: readContact(r, 'ReachabilityResp.observed'),
        detail: r.str8('ReachabilityResp.detail', L.maxStringBytes),
      };
    case 'PunchReq':
      return { type: name, peerId, contentId, target: r.str8('PunchReq.target', L.maxStringBytes), contact: readContact(r, 'PunchReq.contact') };
    case 'PunchNow':
      return { type: name, peerId, contentId, peer: r.str8('PunchNow.peer', L.maxStringBytes), contact: readContact(r, 'PunchNow.contact') };
    case 'Relay': {
      const origin = r.str8('Relay.origin', L.maxStringBytes);
      const target = r.str8('Relay.target', L.maxStringBytes);
      const code = r.u8('Relay.innerType');
      if (!RELAYABLE[code]) throw new ProtocolError('bad-value', 'Relay.innerType', `type code ${code} cannot be relayed`);
      const payload = r.bytes32('Relay.inner', NO_LIMIT, true);
      let inner: Message;
      try {
        inner = decodePayload(code, payload);
      } catch (e) {
        if (e instanceof ProtocolError) throw new ProtocolError(e.kind, `Relay.inner.${e.field}`, e.message.slice(e.field.length + 2));
        throw e;
      }
      return { type: name, peerId, contentId, origin, target, inner };
    }
    case 'SubstreamSub':
      return { type: name, peerId, contentId, ...readSubstreamSub(r) };
    case 'SubstreamAck':
      return { type: name, peerId, contentId, ...readSubstreamAck(r) };
    case 'Features':
      return { type: name, peerId, contentId, names: readNames(r, 'Features.names', L.maxFeatures) };
    case 'DataChunkDue':
      return { type: name, peerId, contentId, chunkId: r.u32('DataChunkDue.chunkId'), dueInMs: r.u32('DataChunkDue.dueInMs') };
    case 'DataChunkCancel':
      return { type: name, peerId, contentId, chunkId: r.u32('DataChunkCancel.chunkId') };
    case 'KeepAlive':
    case 'PartnershipReq':
    case 'PartnershipRemove':
    case 'TrackerLeave':
    case 'ManifestReq':
      return { type: name, peerId, contentId };
  }
}

/**
 * Decodes one payload whose frame carried `typeCode`. Throws ProtocolError on anything wrong:
 * unknown type code, truncation, trailing bytes, a length or count over WireLimits (checked before
 * allocating), bool not 0/1, unknown content kind, buffer-map length beyond its bits.
 */
export function decodePayload(typeCode: number, payload: Uint8Array): Message {
  const name = typeNameOf(typeCode);
  if (name === undefined) throw new ProtocolError('unknown-type', 'type', `unknown message type code ${typeCode}`);
  const r = new BufferReader(payload);
  const peerId = r.str8(`${name}.peerId`, L.maxStringBytes);
  const contentId = r.str8(`${name}.contentId`, L.maxStringBytes);
  const msg = readFields(name, r, peerId, contentId);
  r.end(name);
  return msg;
}
