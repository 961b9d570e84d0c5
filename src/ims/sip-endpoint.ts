// The transaction user's view of SIP: one endpoint per user agent, bound to one outbound proxy.
// request() builds a request (Via with a fresh branch, Max-Forwards, CSeq...), runs it in a
// non-INVITE client transaction and answers 401/407 digest challenges (keeping the nonce for
// later requests of the same method, nc incremented). Incoming requests from the proxy go
// through the server transaction table to onRequest, with a responder that mirrors the
// mandatory headers. Transport loss and ICMP unreachable fail pending transactions at once.
import { randomBytes } from 'node:crypto';
import { buildAuthorization, describeChallenges, selectChallenge, type DigestChallenge, type DigestCredentials } from './digest.js';
import { serializeSipMessage } from './sip-codec.js';
import { challengesOf, parseCSeq, parseVia } from './sip-headers.js';
import { getHeader, responseFor, type SipHeader, type SipRequest, type SipResponse } from './sip-message.js';
import { BRANCH_COOKIE, ServerTransactions } from './sip-server-transactions.js';
import type { SipClock, SipTimerValues } from './sip-timers.js';
import { NonInviteClientTransaction } from './sip-transaction.js';
import { createSipTransport, type SipTransport, type SipTransportEvents, type SipTransportName, type SipTransportOptions } from './sip-transport.js';

export type SipRequestFailure = 'timeout' | 'transport';

export class SipRequestError extends Error {
  override name = 'SipRequestError';
  constructor(readonly kind: SipRequestFailure, message: string) {
    super(message);
  }
}

export interface OutgoingRequest {
  method: string;
  requestUri: string;
  /** From value with its tag. */
  from: string;
  to: string;
  callId: string;
  /** CSeq of the first attempt; an authenticated retry uses the next number. */
  cseq: number;
  headers?: SipHeader[];
  body?: Buffer;
}

export interface AuthFailure {
  /** 'rejected': challenged again after sending credentials; 'unsupported': no answerable challenge. */
  kind: 'rejected' | 'unsupported';
  realm?: string;
  /** The challenges offered, for messages ('Digest AKAv1-MD5, Digest MD5'). */
  offered: string;
}

export interface RequestResult {
  response: SipResponse;
  /** CSeq of the last attempt: the caller's next request in the same call uses a higher one. */
  cseq: number;
  authFailure?: AuthFailure;
}

export type Responder = (status: number, reason: string, headers?: SipHeader[], body?: Buffer) => void;

export interface SipEndpointOptions {
  transport: SipTransportName;
  proxy: { host: string; port: number };
  localHost?: string;
  localPort?: number;
  clock: SipClock;
  timers: SipTimerValues;
  credentials: DigestCredentials;
  userAgent: string;
  /** A request the proxy sent us (MESSAGE, OPTIONS...). Must answer through `respond`. */
  onRequest?: (req: SipRequest, respond: Responder) => void;
  onWarning?: (message: string) => void;
  /** The (TCP) connection to the proxy is gone. */
  onClosed?: (reason: string) => void;
  /** Test seam: builds the transport. */
  createTransport?: (name: SipTransportName, opts: SipTransportOptions, events: SipTransportEvents) => SipTransport;
}

interface Pending {
  tx: NonInviteClientTransaction;
  method: string;
  fail: (err: SipRequestError) => void;
}

interface CachedAuth {
  header: 'Authorization' | 'Proxy-Authorization';
  challenge: DigestChallenge;
  nc: number;
}

/** Most authentication round trips for one request (stale nonces included). */
const MAX_AUTH_ATTEMPTS = 3;
const MAX_SERVER_TRANSACTIONS = 256;

export function randomToken(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

export class SipEndpoint {
  readonly transport: SipTransport;
  private readonly pending = new Map<string, Pending>();
  private readonly server: ServerTransactions;
  /** Digest state per method: the last challenge answered for it. */
  private readonly auth = new Map<string, CachedAuth>();
  private opening: Promise<void> | undefined;

  constructor(private readonly opts: SipEndpointOptions) {
    const events: SipTransportEvents = {
      onMessage: (m) => (m.kind === 'response' ? this.onResponse(m) : this.onIncomingRequest(m)),
      onWarning: (message) => opts.onWarning?.(message),
      onUnreachable: () => this.failAll('transport', `${this.proxyText()} is not listening (ICMP port unreachable)`),
      onClosed: (reason) => {
        this.failAll('transport', `connection to ${this.proxyText()} lost: ${reason}`);
        opts.onClosed?.(reason);
      },
    };
    const make = opts.createTransport ?? createSipTransport;
    const topts: SipTransportOptions = { remote: opts.proxy };
    if (opts.localHost) topts.localHost = opts.localHost;
    if (opts.localPort) topts.localPort = opts.localPort;
    this.transport = make(opts.transport, topts, events);
    this.server = new ServerTransactions({
      clock: opts.clock,
      timers: opts.timers,
      reliable: this.transport.reliable,
      maxEntries: MAX_SERVER_TRANSACTIONS,
    });
  }

  /** 'udp 127.0.0.1:5060' — for messages. */
  proxyText(): string {
    return `${this.opts.proxy.host}:${this.opts.proxy.port} over ${this.opts.transport.toUpperCase()}`;
  }

  get isOpen(): boolean {
    return this.transport.isOpen;
  }

  /** Opens the transport (connects on TCP); concurrent calls share one attempt. */
  async open(): Promise<void> {
    if (this.transport.isOpen) return;
    this.opening ??= this.transport.open().finally(() => {
      this.opening = undefined;
    });
    try {
      await this.opening;
    } catch (err) {
      throw new SipRequestError('transport', `cannot reach ${this.proxyText()}: ${(err as Error).message}`);
    }
  }

  local(): { host: string; port: number } {
    return this.transport.local();
  }

  /** Sends a request and resolves with its final response (after answering digest challenges). */
  async request(req: OutgoingRequest): Promise<RequestResult> {
    await this.open();
    let cseq = req.cseq;
    let freshRealms = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const authHeaders = this.authHeadersFor(req.method, req.requestUri);
      const response = await this.transact(req, cseq, authHeaders);
      if (response.status !== 401 && response.status !== 407) return { response, cseq };
      const header = response.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
      const offered = challengesOf(response, header);
      const ch = selectChallenge(offered);
      if (!ch) return { response, cseq, authFailure: { kind: 'unsupported', offered: describeChallenges(offered) } };
      if ((freshRealms.has(ch.realm) && !ch.stale) || attempt >= MAX_AUTH_ATTEMPTS) {
        this.auth.delete(req.method);
        return { response, cseq, authFailure: { kind: 'rejected', realm: ch.realm, offered: describeChallenges(offered) } };
      }
      this.auth.set(req.method, { header: response.status === 401 ? 'Authorization' : 'Proxy-Authorization', challenge: ch, nc: 0 });
      freshRealms = new Set([ch.realm]);
      cseq++;
    }
  }

  private authHeadersFor(method: string, uri: string): SipHeader[] {
    const a = this.auth.get(method);
    if (!a) return [];
    a.nc++;
    return [{ name: a.header, value: buildAuthorization(a.challenge, this.opts.credentials, { method, uri, nc: a.nc }) }];
  }

  private viaValue(branch: string): string {
    const l = this.transport.local();
    const host = l.host.includes(':') ? `[${l.host}]` : l.host;
    const rport = this.transport.reliable ? '' : ';rport';
    return `SIP/2.0/${this.transport.name.toUpperCase()} ${host}:${l.port};branch=${branch}${rport}`;
  }

  private transact(req: OutgoingRequest, cseq: number, authHeaders: SipHeader[]): Promise<SipResponse> {
    const branch = `${BRANCH_COOKIE}${randomToken(10)}`;
    const msg: SipRequest = {
      kind: 'request',
      method: req.method,
      uri: req.requestUri,
      headers: [
        { name: 'Via', value: this.viaValue(branch) },
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: req.from },
        { name: 'To', value: req.to },
        { name: 'Call-ID', value: req.callId },
        { name: 'CSeq', value: `${cseq} ${req.method}` },
        { name: 'User-Agent', value: this.opts.userAgent },
        ...(req.headers ?? []),
        ...authHeaders,
      ],
      body: req.body ?? Buffer.alloc(0),
    };
    const bytes = serializeSipMessage(msg);
    return new Promise<SipResponse>((resolve, reject) => {
      const tx = new NonInviteClientTransaction({
        clock: this.opts.clock,
        timers: this.opts.timers,
        reliable: this.transport.reliable,
        send: () => {
          if (!this.transport.send(bytes)) this.failOne(branch, 'transport', `not connected to ${this.proxyText()}`);
        },
        onFinal: (res) => resolve(res),
        onTimeout: () =>
          reject(
            new SipRequestError(
              'timeout',
              `no answer to ${req.method} from ${this.proxyText()} within ${this.opts.timers.transactionTimeoutMs} ms (RFC 3261 timer F)`,
            ),
          ),
        onTerminated: () => this.pending.delete(branch),
      });
      this.pending.set(branch, { tx, method: req.method, fail: reject });
      tx.start();
    });
  }

  private failOne(branch: string, kind: SipRequestFailure, message: string): void {
    const p = this.pending.get(branch);
    if (!p) return;
    this.pending.delete(branch);
    p.tx.abort();
    p.fail(new SipRequestError(kind, message));
  }

  private failAll(kind: SipRequestFailure, message: string): void {
    for (const [branch, p] of [...this.pending]) {
      if (p.tx.state === 'trying' || p.tx.state === 'proceeding') this.failOne(branch, kind, message);
    }
  }

  private onResponse(res: SipResponse): void {
    const via = parseVia((getHeader(res, 'Via') ?? '').split(',')[0] ?? '');
    const branch = via?.params.get('branch');
    const cseq = parseCSeq(getHeader(res, 'CSeq') ?? '');
    const p = branch ? this.pending.get(branch) : undefined;
    if (!p || !cseq || cseq.method !== p.method) return; // stray or late response
    p.tx.receive(res);
  }

  private onIncomingRequest(req: SipRequest): void {
    if (req.method === 'ACK') return;
    const verdict = this.server.onRequest(req, (bytes) => this.transport.send(bytes));
    if (verdict === 'retransmission') return;
    const respond = this.responderFor(req);
    if (verdict === 'overloaded') {
      respond(503, 'Service Unavailable', [{ name: 'Retry-After', value: '5' }]);
      return;
    }
    if (!this.opts.onRequest) {
      respond(405, 'Method Not Allowed', [{ name: 'Allow', value: 'OPTIONS' }]);
      return;
    }
    try {
      this.opts.onRequest(req, respond);
    } catch (err) {
      this.opts.onWarning?.(`handler for ${req.method} failed: ${(err as Error).message}`);
      respond(500, 'Server Internal Error');
    }
  }

  private responderFor(req: SipRequest): Responder {
    let toTag: string | undefined;
    let final = false;
    return (status, reason, headers = [], body = Buffer.alloc(0)) => {
      if (final) return;
      let to = getHeader(req, 'To') ?? '';
      if (status > 100 && !/;\s*tag=/i.test(to)) {
        toTag ??= randomToken(6);
        to = `${to};tag=${toTag}`;
      }
      const res = responseFor(req, status, reason, to, [{ name: 'Server', value: this.opts.userAgent }, ...headers], body);
      const bytes = serializeSipMessage(res);
      this.transport.send(bytes);
      if (status >= 200) {
        final = true;
        this.server.onFinalResponse(req, bytes);
      }
    };
  }

  /** Fails what is pending, forgets auth state, closes the transport. */
  async close(): Promise<void> {
    this.failAll('transport', 'user agent stopped');
    this.server.clear();
    await this.transport.close();
  }

  /** Forgets cached digest nonces (after the proxy restarted, say). */
  forgetAuth(): void {
    this.auth.clear();
  }
}
