// The superdist application service on the tracker's SIP user agent: a ticket request (MESSAGE to
// sip:superdist@DOMAIN, routed by the IMS core to the tracker's registered contact) is answered
// 202 Accepted, and the signed ticket goes back to the requester's IMS identity in a MESSAGE.
// The identity is the one the core asserted (P-Asserted-Identity), else the authenticated From.
// A peer id stays bound to the identity that got it while its ticket is valid: another identity
// asking for the same peer id is refused.
import type { Responder } from './sip-endpoint.js';
import { headerValues, parseNameAddr } from './sip-headers.js';
import { getHeader, type SipRequest, type SipResponse } from './sip-message.js';
import { aorOf, parseSipUri } from './sip-uri.js';
import { signTicket, type TicketClaims } from './ticket.js';
import type { TicketSigningKey } from './ticket-keys.js';
import {
  TICKET_DELIVERY_TYPE, TICKET_REQUEST_TYPE, TicketBodyError, encodeBody, mediaTypeOf, parseTicketRequest,
} from './ticket-messages.js';

export interface TicketIssuerOptions {
  key: TicketSigningKey;
  /** The tracker's peer-protocol contact (HOST:PORT) written into tickets. */
  trackerContact: string;
  lifetimeMs: number;
  clock: { now(): number };
  /** Sends a MESSAGE to `toAor` through the IMS core; resolves with its final response. */
  deliver: (toAor: string, body: Buffer, contentType: string) => Promise<SipResponse>;
  onIssued?: (claims: TicketClaims) => void;
  onWarning?: (message: string) => void;
}

export interface TicketIssuerStats {
  keyId: string;
  requests: number;
  issued: number;
  refused: number;
  deliveryFailures: number;
  lastError?: string;
}

/** Most peer-id bindings remembered (oldest beyond it are dropped). */
const MAX_BINDINGS = 100_000;

export class TicketIssuer {
  private readonly bindings = new Map<string, { sip: string; until: number }>();
  private readonly stats: TicketIssuerStats;

  constructor(private readonly opts: TicketIssuerOptions) {
    this.stats = { keyId: opts.key.keyId, requests: 0, issued: 0, refused: 0, deliveryFailures: 0 };
  }

  snapshot(): TicketIssuerStats {
    return { ...this.stats };
  }

  /** Whether a request is for the ticket service (by media type). */
  static isTicketRequest(req: SipRequest): boolean {
    return req.method === 'MESSAGE' && mediaTypeOf(getHeader(req, 'Content-Type')) === TICKET_REQUEST_TYPE;
  }

  /** Handles a MESSAGE addressed to the service. */
  handle(req: SipRequest, respond: Responder): void {
    this.stats.requests++;
    if (mediaTypeOf(getHeader(req, 'Content-Type')) !== TICKET_REQUEST_TYPE) {
      this.refuse(respond, 415, 'Unsupported Media Type', `expected ${TICKET_REQUEST_TYPE}`, [{ name: 'Accept', value: TICKET_REQUEST_TYPE }]);
      return;
    }
    const identity = this.identityOf(req);
    if (!identity) {
      this.refuse(respond, 403, 'Forbidden', 'no usable SIP identity in P-Asserted-Identity or From');
      return;
    }
    let body;
    try {
      body = parseTicketRequest(req.body);
    } catch (err) {
      this.refuse(respond, 400, 'Bad Request', (err as Error).message);
      return;
    }
    const now = this.opts.clock.now();
    const bound = this.bindings.get(body.peerId);
    if (bound && bound.until > now && bound.sip !== identity) {
      this.refuse(respond, 403, 'Forbidden', `peer id ${body.peerId} is in use by another IMS identity`);
      return;
    }
    const claims: TicketClaims = {
      v: 1,
      kid: this.opts.key.keyId,
      tracker: this.opts.trackerContact,
      peerId: body.peerId,
      sip: identity,
      iat: now,
      exp: now + this.opts.lifetimeMs,
    };
    const ticket = signTicket(claims, this.opts.key.privateKey);
    this.bind(body.peerId, identity, claims.exp, now);
    respond(202, 'Accepted');
    this.stats.issued++;
    this.opts.onIssued?.(claims);
    const delivery = encodeBody({
      requestId: body.requestId,
      ticket: Buffer.from(ticket).toString('base64'),
      tracker: claims.tracker,
      peerId: claims.peerId,
      keyId: claims.kid,
      expiresAt: claims.exp,
    });
    this.opts.deliver(identity, delivery, TICKET_DELIVERY_TYPE).then(
      (res) => {
        if (res.status >= 300) this.deliveryFailed(`${identity} answered ${res.status} ${res.reason} to the ticket MESSAGE`);
      },
      (err: Error) => this.deliveryFailed(`ticket MESSAGE to ${identity} failed: ${err.message}`),
    );
  }

  private identityOf(req: SipRequest): string | undefined {
    const candidates = [...headerValues(req, 'P-Asserted-Identity'), getHeader(req, 'From') ?? ''];
    for (const c of candidates) {
      const na = parseNameAddr(c);
      const uri = na ? parseSipUri(na.uri) : undefined;
      if (uri?.user) return aorOf(uri);
    }
    return undefined;
  }

  private bind(peerId: string, sip: string, until: number, now: number): void {
    this.bindings.delete(peerId);
    this.bindings.set(peerId, { sip, until });
    if (this.bindings.size <= MAX_BINDINGS) return;
    for (const [id, b] of this.bindings) {
      if (this.bindings.size <= MAX_BINDINGS) break;
      if (b.until <= now || this.bindings.size > MAX_BINDINGS) this.bindings.delete(id);
    }
  }

  private refuse(respond: Responder, status: number, reason: string, detail: string, extra: { name: string; value: string }[] = []): void {
    this.stats.refused++;
    this.stats.lastError = `${status} ${reason}: ${detail}`;
    respond(status, reason, [{ name: 'Warning', value: `399 superdist "${detail.replace(/["\\]/g, "'")}"` }, ...extra]);
  }

  private deliveryFailed(message: string): void {
    this.stats.deliveryFailures++;
    this.stats.lastError = message;
    this.opts.onWarning?.(message);
  }
}
