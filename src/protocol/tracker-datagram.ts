// The tracker's datagram (UDP) exchange, after BEP 15 (BitTorrent's UDP tracker): pure encode/decode.
// The body is the repository's one codec (codec.ts): a datagram carries ordinary messages
// (TrackerJoin, Membership, TrackerLeave; answers TrackerMembers, TrackerRedirect, Error), each as
// its type code, a u16 length and its codec payload. Only the header is new:
//
//   offset  size  field
//   0       4     magic "SDTU" (superdist tracker UDP)
//   4       1     version (TRACKER_DATAGRAM_VERSION)
//   5       1     action: 0 connect, 1 connected, 2 announce, 3 answer
//   6       4     transaction id (u32, chosen by the client, echoed in the answer)
//   10      8     connection id (zero in a connect; the tracker's id in connected/announce/answer)
//   18      1     message count (0 in connect/connected, 1..TRACKER_DATAGRAM_MAX_MESSAGES otherwise)
//   .       3+n   each message: u8 type code, u16 payload length, codec payload
//
// A connect asks for a connection id; `connected` carries it (derived by the tracker from the
// client's address and a rotating secret, docs/tracker-scale.md); every announce must carry it, so
// an announce from a spoofed source address is dropped (its sender never saw the id). Nothing may
// follow the last message, and a datagram is at most TRACKER_DATAGRAM_MAX_BYTES (no IP
// fragmentation). Decode failures throw ProtocolError naming the field, as the codec does.
import { decodePayload, encodePayload, payloadByteLength, typeCodeOf } from './codec.js';
import { ProtocolError } from './errors.js';
import type { Message } from './messages.js';
import { BufferReader } from './wire-buffer.js';

export const TRACKER_DATAGRAM_MAGIC = Buffer.from('SDTU', 'latin1');
export const TRACKER_DATAGRAM_VERSION = 1;
/** Largest datagram sent or accepted: fits a 1280-byte IPv6 minimum MTU with IP and UDP headers. */
export const TRACKER_DATAGRAM_MAX_BYTES = 1200;
export const TRACKER_DATAGRAM_HEADER_BYTES = 19;
/** Bytes a message adds beyond its payload (type code + u16 length). */
export const TRACKER_DATAGRAM_MESSAGE_OVERHEAD = 3;
export const TRACKER_DATAGRAM_MAX_MESSAGES = 16;
export const CONNECTION_ID_BYTES = 8;

export const DatagramAction = { connect: 0, connected: 1, announce: 2, answer: 3 } as const;
export type DatagramActionName = keyof typeof DatagramAction;
const ACTION_BY_CODE: DatagramActionName[] = ['connect', 'connected', 'announce', 'answer'];

/** Which messages each action may carry. */
const ALLOWED: Record<DatagramActionName, ReadonlySet<string>> = {
  connect: new Set(),
  connected: new Set(),
  announce: new Set(['TrackerJoin', 'Membership', 'TrackerLeave']),
  answer: new Set(['TrackerMembers', 'TrackerRedirect', 'Error']),
};

export interface TrackerDatagram {
  action: DatagramActionName;
  transactionId: number;
  /** CONNECTION_ID_BYTES bytes (all zero in a connect). */
  connectionId: Uint8Array;
  messages: Message[];
}

const ZERO_ID = new Uint8Array(CONNECTION_ID_BYTES);

/** Encodes a datagram. Throws ProtocolError naming the field when it cannot be put on the wire. */
export function encodeTrackerDatagram(d: TrackerDatagram): Buffer {
  const action = DatagramAction[d.action];
  if (action === undefined) throw new ProtocolError('bad-value', 'TrackerDatagram.action', `unknown action ${String(d.action)}`);
  if (!Number.isInteger(d.transactionId) || d.transactionId < 0 || d.transactionId > 0xffff_ffff) {
    throw new ProtocolError('bad-value', 'TrackerDatagram.transactionId', `${String(d.transactionId)} is not an integer in 0..4294967295`);
  }
  const id = d.connectionId ?? ZERO_ID;
  if (!(id instanceof Uint8Array) || id.length !== CONNECTION_ID_BYTES) {
    throw new ProtocolError('bad-value', 'TrackerDatagram.connectionId', `must be ${CONNECTION_ID_BYTES} bytes`);
  }
  checkMessages(d.action, d.messages.map((m) => m?.type as string), 'TrackerDatagram.messages');
  const bodies = d.messages.map((m) => ({ code: typeCodeOf(m), payload: encodePayload(m) }));
  const size = TRACKER_DATAGRAM_HEADER_BYTES + bodies.reduce((n, b) => n + TRACKER_DATAGRAM_MESSAGE_OVERHEAD + b.payload.length, 0);
  if (size > TRACKER_DATAGRAM_MAX_BYTES) throw new ProtocolError('too-long', 'TrackerDatagram', `${size} bytes exceeds limit ${TRACKER_DATAGRAM_MAX_BYTES}`);
  const out = Buffer.allocUnsafe(size);
  TRACKER_DATAGRAM_MAGIC.copy(out, 0);
  out[4] = TRACKER_DATAGRAM_VERSION;
  out[5] = action;
  out.writeUInt32BE(d.transactionId, 6);
  out.set(id, 10);
  out[18] = bodies.length;
  let off = TRACKER_DATAGRAM_HEADER_BYTES;
  for (const b of bodies) {
    out[off] = b.code;
    out.writeUInt16BE(b.payload.length, off + 1);
    out.set(b.payload, off + 3);
    off += TRACKER_DATAGRAM_MESSAGE_OVERHEAD + b.payload.length;
  }
  return out;
}

/** Encoded size of one message inside a datagram (for fitting an answer under the size limit). */
export function datagramMessageBytes(m: Message): number {
  return TRACKER_DATAGRAM_MESSAGE_OVERHEAD + payloadByteLength(m);
}

/** Decodes one received datagram. Throws ProtocolError naming the field on anything wrong. */
export function decodeTrackerDatagram(buf: Uint8Array): TrackerDatagram {
  if (buf.length > TRACKER_DATAGRAM_MAX_BYTES) throw new ProtocolError('too-long', 'TrackerDatagram', `${buf.length} bytes exceeds limit ${TRACKER_DATAGRAM_MAX_BYTES}`);
  const r = new BufferReader(buf);
  for (let i = 0; i < TRACKER_DATAGRAM_MAGIC.length; i++) {
    if (r.u8('TrackerDatagram.magic') !== TRACKER_DATAGRAM_MAGIC[i]) throw new ProtocolError('bad-value', 'TrackerDatagram.magic', 'not a superdist tracker datagram');
  }
  const version = r.u8('TrackerDatagram.version');
  if (version !== TRACKER_DATAGRAM_VERSION) throw new ProtocolError('bad-value', 'TrackerDatagram.version', `unsupported version ${version} (expected ${TRACKER_DATAGRAM_VERSION})`);
  const code = r.u8('TrackerDatagram.action');
  const action = ACTION_BY_CODE[code];
  if (action === undefined) throw new ProtocolError('bad-value', 'TrackerDatagram.action', `unknown action ${code}`);
  const transactionId = r.u32('TrackerDatagram.transactionId');
  const connectionId = new Uint8Array(CONNECTION_ID_BYTES);
  for (let i = 0; i < CONNECTION_ID_BYTES; i++) connectionId[i] = r.u8('TrackerDatagram.connectionId');
  const n = r.u8('TrackerDatagram.messages');
  const limit = action === 'connect' || action === 'connected' ? 0 : TRACKER_DATAGRAM_MAX_MESSAGES;
  if (n > limit) throw new ProtocolError('too-long', 'TrackerDatagram.messages', `count ${n} exceeds limit ${limit} for ${action}`);
  const messages: Message[] = [];
  for (let i = 0; i < n; i++) {
    const field = `TrackerDatagram.messages[${i}]`;
    const type = r.u8(`${field}.type`);
    const payload = r.bytes16(field, TRACKER_DATAGRAM_MAX_BYTES, true);
    messages.push(decodePayload(type, payload));
  }
  r.end('TrackerDatagram');
  checkMessages(action, messages.map((m) => m.type), 'TrackerDatagram.messages');
  return { action, transactionId, connectionId, messages };
}

function checkMessages(action: DatagramActionName, types: string[], field: string): void {
  const allowed = ALLOWED[action];
  if (action !== 'connect' && action !== 'connected' && types.length === 0) throw new ProtocolError('bad-value', field, `${action} without a message`);
  if (types.length > TRACKER_DATAGRAM_MAX_MESSAGES) throw new ProtocolError('too-long', field, `count ${types.length} exceeds limit ${TRACKER_DATAGRAM_MAX_MESSAGES}`);
  types.forEach((t, i) => {
    if (!allowed.has(t)) throw new ProtocolError('bad-value', `${field}[${i}]`, `a ${String(t)} cannot travel in a ${action} datagram`);
  });
}
