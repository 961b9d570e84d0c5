// The node side of service access: once registered, ask the superdist service (MESSAGE to
// sip:superdist@DOMAIN over the Service-Route) for a ticket, take the ticket MESSAGE that comes back,
// and renew it before it expires (retrying with backoff when the service or core fails).
import { randomToken, type Responder, type SipEndpoint } from './sip-endpoint.js';
import { getHeader, type SipRequest } from './sip-message.js';
import { aorOf, parseSipUri } from './sip-uri.js';
import { parseNameAddr } from './sip-headers.js';
import type { SipClock, TimerHandle } from './sip-timers.js';
import { decodeTicket, type TicketClaims } from './ticket.js';
import {
  TICKET_DELIVERY_TYPE, TICKET_REQUEST_TYPE, encodeBody, mediaTypeOf, parseTicketDelivery,
} from './ticket-messages.js';

export interface HeldTicket {
  bytes: Uint8Array;
  claims: TicketClaims;
  receivedAt: number;
}

export type TicketState = 'none' | 'requesting' | 'held' | 'failed';

export interface TicketSnapshot {
  state: TicketState;
  peerId: string;
  tracker?: string;
  keyId?: string;
  sip?: string;
  expiresAt?: number;
  obtained: number;
  failures: number;
  lastError?: string;
}

export class TicketRequestError extends Error {
  override name = 'TicketRequestError';
}

export interface TicketClientOptions {
  endpoint: SipEndpoint;
  clock: SipClock;
  /** Our IMS public identity (From of the request). */
  aor: string;
  /** The superdist service URI, e.g. sip:superdist@ims.example. */
  serviceUri: string;
  /** Current Service-Route set, used as preloaded Route (RFC 3608). */
  routeSet: () => string[];
  peerId: string;
  /** How long to wait for the ticket MESSAGE after the request was accepted. */
  deliveryTimeoutMs: number;
  /** Renew this long before expiry (at most half the ticket's lifetime). */
  renewBeforeMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  onTicket?: (t: HeldTicket) => void;
  onFailed?: (err: Error, retryInMs: number | undefined) => void;
}

interface Waiter {
  resolve: (t: HeldTicket) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

export class TicketClient {
  private held: HeldTicket | undefined;
  private stateValue: TicketState = 'none';
  private readonly waiters = new Map<string, Waiter>();
  private timer: TimerHandle | undefined;
  private running = false;
  private inFlight: Promise<HeldTicket> | undefined;
  private failuresInRow = 0;
  private counters = { obtained: 0, failures: 0 };
  private lastError: string | undefined;

  constructor(private readonly opts: TicketClientOptions) {}

  current(): HeldTicket | undefined {
    return this.held;
  }

  snapshot(): TicketSnapshot {
    const s: TicketSnapshot = { state: this.stateValue, peerId: this.opts.peerId, ...this.counters };
    if (this.held) {
      const c = this.held.claims;
      Object.assign(s, { tracker: c.tracker, keyId: c.kid, sip: c.sip, expiresAt: c.exp });
    }
    if (this.lastError) s.lastError = this.lastError;
    return s;
  }

  /** Gets a ticket now and keeps one until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    this.opts.clock.clearTimer(this.timer);
    this.timer = undefined;
    for (const [id, w] of this.waiters) {
      this.opts.clock.clearTimer(w.timer);
      w.reject(new TicketRequestError('stopped'));
      this.waiters.delete(id);
    }
  }

  /** Asks for a ticket now (concurrent callers share one request). */
  request(): Promise<HeldTicket> {
    this.inFlight ??= this.doRequest().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Handles a MESSAGE from the core; returns false when it is not a ticket delivery. */
  handleDelivery(req: SipRequest, respond: Responder): boolean {
    if (req.method !== 'MESSAGE' || mediaTypeOf(getHeader(req, 'Content-Type')) !== TICKET_DELIVERY_TYPE) return false;
    const from = parseNameAddr(getHeader(req, 'From') ?? '');
    const fromUri = from ? parseSipUri(from.uri) : undefined;
    const service = parseSipUri(this.opts.serviceUri);
    if (!fromUri || !service || aorOf(fromUri) !== aorOf(service)) {
      respond(403, 'Forbidden', [{ name: 'Warning', value: '399 superdist "tickets are accepted from the superdist service only"' }]);
      return true;
    }
    let held: HeldTicket;
    let requestId: string;
    try {
      const d = parseTicketDelivery(req.body);
      requestId = d.requestId;
      const bytes = new Uint8Array(Buffer.from(d.ticket, 'base64'));
      const { claims } = decodeTicket(bytes);
      if (claims.peerId !== this.opts.peerId) throw new Error(`ticket is for peer ${claims.peerId}, we are ${this.opts.peerId}`);
      if (claims.exp <= this.opts.clock.now()) throw new Error('ticket already expired');
      held = { bytes, claims, receivedAt: this.opts.clock.now() };
    } catch (err) {
      respond(400, 'Bad Request', [{ name: 'Warning', value: `399 superdist "${(err as Error).message.replace(/["\\]/g, "'")}"` }]);
      return true;
    }
    respond(200, 'OK');
    const w = this.waiters.get(requestId);
    if (w) {
      this.waiters.delete(requestId);
      this.opts.clock.clearTimer(w.timer);
      w.resolve(held);
    } else if (!this.held || held.claims.exp > this.held.claims.exp) {
      this.adopt(held); // a late delivery is still a good ticket
    }
    return true;
  }

  private async doRequest(): Promise<HeldTicket> {
    if (this.stateValue !== 'held') this.stateValue = 'requesting';
    const requestId = randomToken(8);
    const delivered = new Promise<HeldTicket>((resolve, reject) => {
      const timer = this.opts.clock.setTimer(() => {
        this.waiters.delete(requestId);
        reject(new TicketRequestError(`the ticket did not arrive within ${this.opts.deliveryTimeoutMs} ms after the service accepted the request`));
      }, this.opts.deliveryTimeoutMs);
      this.waiters.set(requestId, { resolve, reject, timer });
    });
    delivered.catch(() => undefined);
    try {
      const r = await this.opts.endpoint.request({
        method: 'MESSAGE',
        requestUri: this.opts.serviceUri,
        from: `<${this.opts.aor}>;tag=${randomToken(6)}`,
        to: `<${this.opts.serviceUri}>`,
        callId: `${randomToken(12)}@superdist`,
        cseq: 1,
        headers: [
          ...this.opts.routeSet().map((value) => ({ name: 'Route', value })),
          { name: 'Content-Type', value: TICKET_REQUEST_TYPE },
        ],
        body: encodeBody({ requestId, peerId: this.opts.peerId }),
      });
      const res = r.response;
      if (res.status >= 300) {
        const warning = getHeader(res, 'Warning');
        const hint =
          r.authFailure ? ` (the IMS core rejected our credentials: ${r.authFailure.offered})`
          : res.status === 404 || res.status === 480 ? ' (is the tracker registered with the IMS core?)'
          : warning ? ` (${warning})` : '';
        throw new TicketRequestError(`ticket service ${this.opts.serviceUri} answered ${res.status} ${res.reason}${hint}`);
      }
      const held = await delivered;
      this.adopt(held);
      return held;
    } catch (err) {
      const w = this.waiters.get(requestId);
      if (w) {
        this.opts.clock.clearTimer(w.timer);
        this.waiters.delete(requestId);
      }
      this.counters.failures++;
      this.lastError = (err as Error).message;
      if (!this.held || this.held.claims.exp <= this.opts.clock.now()) this.stateValue = 'failed';
      throw err;
    }
  }

  private adopt(held: HeldTicket): void {
    this.held = held;
    this.stateValue = 'held';
    this.counters.obtained++;
    this.lastError = undefined;
    this.opts.onTicket?.(held);
  }

  private schedule(delayMs: number): void {
    this.opts.clock.clearTimer(this.timer);
    this.timer = this.opts.clock.setTimer(() => {
      this.timer = undefined;
      void this.cycle();
    }, delayMs);
  }

  private async cycle(): Promise<void> {
    if (!this.running) return;
    try {
      const t = await this.request();
      this.failuresInRow = 0;
      if (!this.running) return;
      const lifetime = t.claims.exp - t.claims.iat;
      const renewAt = t.claims.exp - Math.min(this.opts.renewBeforeMs, lifetime / 2);
      this.schedule(Math.max(0, renewAt - this.opts.clock.now()));
    } catch (err) {
      this.failuresInRow++;
      const delay = Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** (this.failuresInRow - 1));
      this.opts.onFailed?.(err as Error, this.running ? delay : undefined);
      if (this.running) this.schedule(delay);
    }
  }
}
