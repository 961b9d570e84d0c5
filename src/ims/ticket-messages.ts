// The SIP MESSAGE bodies of the ticket service (RFC 3428 page mode):
//
//   node → sip:superdist@DOMAIN   MESSAGE  application/vnd.superdist.ticket-request+json
//                                 ← 202 Accepted (RFC 3428: a 2xx to MESSAGE carries no body)
//   tracker → the node's AOR      MESSAGE  application/vnd.superdist.ticket+json
//                                 ← 200 OK
//
// Both legs cross the IMS core, which authenticates each sender and routes by registration.
import { MAX_TICKET_BYTES } from './ticket.js';

export const TICKET_REQUEST_TYPE = 'application/vnd.superdist.ticket-request+json';
export const TICKET_DELIVERY_TYPE = 'application/vnd.superdist.ticket+json';

export interface TicketRequestBody {
  /** Correlates the delivery with the request. */
  requestId: string;
  /** The P2P identity the node wants admitted. */
  peerId: string;
}

export interface TicketDeliveryBody {
  requestId: string;
  /** The signed ticket, base64. */
  ticket: string;
  tracker: string;
  peerId: string;
  keyId: string;
  expiresAt: number;
}

const PEER_ID_RE = /^[0-9a-zA-Z._-]{1,64}$/;
const REQUEST_ID_RE = /^[0-9a-zA-Z_-]{1,64}$/;

export class TicketBodyError extends Error {
  override name = 'TicketBodyError';
}

/** Media type of a Content-Type value, lower-cased, parameters dropped. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function parseJson(body: Buffer, what: string): Record<string, unknown> {
  if (body.length > 4 * MAX_TICKET_BYTES) throw new TicketBodyError(`${what} of ${body.length} bytes is too large`);
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new TicketBodyError(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TicketBodyError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

export function parseTicketRequest(body: Buffer): TicketRequestBody {
  const o = parseJson(body, 'ticket request');
  if (typeof o.requestId !== 'string' || !REQUEST_ID_RE.test(o.requestId)) throw new TicketBodyError('ticket request needs a requestId (1-64 letters, digits, _ -)');
  if (typeof o.peerId !== 'string' || !PEER_ID_RE.test(o.peerId)) throw new TicketBodyError('ticket request needs a peerId (1-64 letters, digits, . _ -)');
  return { requestId: o.requestId, peerId: o.peerId };
}

export function parseTicketDelivery(body: Buffer): TicketDeliveryBody {
  const o = parseJson(body, 'ticket delivery');
  const str = (k: string) => {
    const v = o[k];
    if (typeof v !== 'string' || v === '') throw new TicketBodyError(`ticket delivery lacks ${k}`);
    return v;
  };
  const expiresAt = o.expiresAt;
  if (!Number.isSafeInteger(expiresAt)) throw new TicketBodyError('ticket delivery lacks expiresAt');
  return {
    requestId: str('requestId'),
    ticket: str('ticket'),
    tracker: str('tracker'),
    peerId: str('peerId'),
    keyId: str('keyId'),
    expiresAt: expiresAt as number,
  };
}

export function encodeBody(body: TicketRequestBody | TicketDeliveryBody): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}
