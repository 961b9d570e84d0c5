// Rough on-the-wire size of a message, for the simulator's bandwidth model. Close to the framed
// binary encoding (header + fields) without depending on the codec; exactness is not needed.
import type { Contact, MemberInfo, Message } from '../protocol/messages.js';

/** Framing overhead: start marker, version, type, length, CRC32. */
const FRAME_BYTES = 12;

const str = (s: string): number => 1 + s.length;
const contact = (c: Contact): number => str(c.host) + 2;
const member = (m: MemberInfo): number => str(m.peerId) + contact(m.contact) + 4 + 4 + 2;

export function estimateMessageBytes(msg: Message): number {
  const base = FRAME_BYTES + str(msg.peerId) + str(msg.contentId);
  switch (msg.type) {
    case 'Hello':
      return base + contact(msg.contact) + str(msg.role);
    case 'Membership':
      return base + 2 + msg.activeContents.reduce((n, c) => n + str(c), 0) + 4 + contact(msg.contact) + 4 + 2;
    case 'MembersReq':
      return base + 2;
    case 'MembersResp':
    case 'TrackerMembers':
      return base + 2 + msg.members.reduce((n, m) => n + member(m), 0);
    case 'PartnershipResp':
      return base + 1 + str(msg.reason);
    case 'BufferMapInfo':
      return base + 4 + 4 + 2 + msg.bits.length;
    case 'BufferMapDelta':
      return base + 4 + 4 + 2 + 1 + msg.bits.length;
    case 'DataChunkReq':
    case 'DataChunkCancel':
      return base + 4;
    case 'DataChunkDue':
      return base + 4 + 4;
    case 'Features':
      return base + 2 + msg.names.reduce((n, f) => n + str(f), 0);
    case 'DataChunkResp':
      return base + 4 + 8 + 1 + msg.signature.length + 4 + msg.data.length;
    case 'DataChunkReject':
      return base + 4 + str(msg.reason);
    case 'SubstreamSub':
      return base + 1 + 4 + 4;
    case 'SubstreamAck':
      return base + 1 + 4 + 1 + msg.hops.length;
    case 'ContentsReq':
      return base + str(msg.word);
    case 'ContentsResp':
      return base + 2 + msg.contents.reduce((n, c) => n + str(c.contentId) + 1 + str(c.title) + 8, 0);
    case 'TrackerJoin':
      return base + contact(msg.contact) + 2 + 2 + msg.ticket.length;
    case 'TrackerRedirect':
      return base + member(msg.deputy);
    case 'Error':
      return base + 2 + 2 + msg.message.length;
    default:
      return base;
  }
}

/** Whether a message carries media data (everything else is control overhead). */
export function isDataMessage(msg: Message): boolean {
  return msg.type === 'DataChunkResp';
}
