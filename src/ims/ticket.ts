// IMS access tickets: what the superdist application service (the tracker's SIP side) hands an
// IMS-registered node, and what the tracker checks on TrackerJoin. Ed25519-signed by the tracker's
// ticket key (node:crypto). Wire form (fits WireLimits.maxTicketBytes):
//
//   "SDT1" | u16 BE claims length | claims (UTF-8 JSON) | Ed25519 signature (64 bytes)
//
// The signature covers everything before it. Claims: key id, tracker contact, peer id, SIP
// identity, issued-at and expiry (ms since the epoch).
import { sign, verify, type KeyObject } from 'node:crypto';

export interface TicketClaims {
  v: 1;
  /** Id of the tracker key that signed (ticket-keys.ts keyIdOf). */
  kid: string;
  /** The tracker's peer-protocol contact, HOST:PORT. */
  tracker: string;
  /** The P2P identity the ticket admits. */
  peerId: string;
  /** The IMS public identity it was issued to (sip:user@domain). */
  sip: string;
  iat: number;
  exp: number;
}

export type TicketRefusal = 'missing' | 'malformed' | 'unknown-key' | 'forged' | 'expired' | 'not-yet-valid' | 'foreign' | 'wrong-tracker';

export type TicketVerdict = { ok: true; claims: TicketClaims } | { ok: false; code: TicketRefusal; reason: string };

export class TicketFormatError extends Error {
  override name = 'TicketFormatError';
}

const MAGIC = Buffer.from('SDT1', 'ascii');
const SIGNATURE_BYTES = 64;
const HEADER_BYTES = MAGIC.length + 2;
/** Longest ticket we make or read (the protocol's WireLimits.maxTicketBytes). */
export const MAX_TICKET_BYTES = 2048;

export function signTicket(claims: TicketClaims, privateKey: KeyObject): Uint8Array {
  const json = Buffer.from(JSON.stringify(claims), 'utf8');
  const total = HEADER_BYTES + json.length + SIGNATURE_BYTES;
  if (total > MAX_TICKET_BYTES) throw new TicketFormatError(`ticket of ${total} bytes exceeds ${MAX_TICKET_BYTES}`);
  const head = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(head, 0);
  head.writeUInt16BE(json.length, MAGIC.length);
  const signed = Buffer.concat([head, json]);
  const signature = sign(null, signed, privateKey);
  return new Uint8Array(Buffer.concat([signed, signature]));
}

function isClaims(x: unknown): x is TicketClaims {
  const c = x as Record<string, unknown>;
  return (
    typeof c === 'object' && c !== null && c.v === 1 &&
    typeof c.kid === 'string' && typeof c.tracker === 'string' && typeof c.peerId === 'string' &&
    typeof c.sip === 'string' && Number.isSafeInteger(c.iat) && Number.isSafeInteger(c.exp)
  );
}

export interface DecodedTicket {
  claims: TicketClaims;
  signed: Buffer;
  signature: Buffer;
}

/** Splits and parses a ticket without checking its signature; throws TicketFormatError. */
export function decodeTicket(bytes: Uint8Array): DecodedTicket {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length > MAX_TICKET_BYTES) throw new TicketFormatError(`${buf.length} bytes, more than ${MAX_TICKET_BYTES}`);
  if (buf.length < HEADER_BYTES + SIGNATURE_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new TicketFormatError('not a superdist ticket (bad magic or too short)');
  }
  const len = buf.readUInt16BE(MAGIC.length);
  if (HEADER_BYTES + len + SIGNATURE_BYTES !== buf.length) throw new TicketFormatError('length field does not match the ticket size');
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.subarray(HEADER_BYTES, HEADER_BYTES + len).toString('utf8'));
  } catch {
    throw new TicketFormatError('claims are not JSON');
  }
  if (!isClaims(parsed)) throw new TicketFormatError('claims lack v/kid/tracker/peerId/sip/iat/exp');
  return { claims: parsed, signed: buf.subarray(0, HEADER_BYTES + len), signature: buf.subarray(HEADER_BYTES + len) };
}

export interface VerifyOptions {
  /** Public keys of the trackers whose tickets are accepted, by key id. */
  keys: ReadonlyMap<string, KeyObject>;
  now: number;
  /** The joining peer: the ticket must be its own. */
  peerId?: string;
  /** When set, the ticket must name this tracker contact. */
  tracker?: string;
  /** Clock difference tolerated for issued-at (ms). */
  maxSkewMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Checks format, key, signature, validity window, holder and tracker, in that order. */
export function verifyTicket(bytes: Uint8Array | undefined, o: VerifyOptions): TicketVerdict {
  if (!bytes || bytes.length === 0) {
    return { ok: false, code: 'missing', reason: 'IMS ticket required: this tracker admits only peers registered with the IMS core (get a ticket from the superdist service through IMS)' };
  }
  let t: DecodedTicket;
  try {
    t = decodeTicket(bytes);
  } catch (err) {
    return { ok: false, code: 'malformed', reason: `malformed IMS ticket: ${(err as Error).message}` };
  }
  const c = t.claims;
  const key = o.keys.get(c.kid);
  if (!key) return { ok: false, code: 'unknown-key', reason: `IMS ticket signed by unknown key ${JSON.stringify(c.kid.slice(0, 32))} (issued by another tracker?)` };
  let good = false;
  try {
    good = verify(null, t.signed, key, t.signature);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, code: 'forged', reason: 'IMS ticket signature is invalid (forged or altered ticket)' };
  const skew = o.maxSkewMs ?? 30_000;
  if (c.exp <= o.now) return { ok: false, code: 'expired', reason: `IMS ticket expired at ${iso(c.exp)} (now ${iso(o.now)}): renew it through IMS` };
  if (c.iat > o.now + skew) return { ok: false, code: 'not-yet-valid', reason: `IMS ticket issued in the future (${iso(c.iat)}, now ${iso(o.now)}): check the clocks` };
  if (o.peerId !== undefined && c.peerId !== o.peerId) {
    return { ok: false, code: 'foreign', reason: `IMS ticket belongs to peer ${JSON.stringify(c.peerId.slice(0, 64))}, not to ${JSON.stringify(o.peerId.slice(0, 64))}` };
  }
  if (o.tracker !== undefined && c.tracker !== o.tracker) {
    return { ok: false, code: 'wrong-tracker', reason: `IMS ticket is for tracker ${c.tracker.slice(0, 64)}, not this one (${o.tracker})` };
  }
  return { ok: true, claims: c };
}
