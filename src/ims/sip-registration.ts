// SIP registration (RFC 3261 §10.2, IMS flavour per 3GPP TS 24.229 §5.1.1): REGISTER with digest
// authentication, refresh before expiry (600 s before when the binding lasts over 1200 s, else at
// half time), retries with capped exponential backoff, de-registration (Expires: 0) on stop.
// Keeping the binding alive across a registrar restart: on TCP the lost connection triggers a new
// registration at once; on any transport a periodic binding query (REGISTER without Contact,
// RFC 3261 §10.2.3) notices that the registrar forgot us and registers again.
import { SipRequestError, randomToken, type RequestResult, type SipEndpoint } from './sip-endpoint.js';
import { headerValues, parseNameAddr } from './sip-headers.js';
import { getHeader, type SipHeader, type SipResponse } from './sip-message.js';
import type { SipClock, TimerHandle } from './sip-timers.js';
import { parseSipUri, sameContactUri } from './sip-uri.js';

export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed' | 'unregistering';
export type RegistrationErrorKind = 'auth-rejected' | 'auth-unsupported' | 'forbidden' | 'rejected' | 'timeout' | 'transport';

export class SipRegistrationError extends Error {
  override name = 'SipRegistrationError';
  constructor(readonly kind: RegistrationErrorKind, message: string, readonly status?: number) {
    super(message);
  }
}

export interface RegistrationInfo {
  aor: string;
  contact: string;
  expiresS: number;
  registeredAt: number;
  expiresAt: number;
  /** Service-Route set (RFC 3608): preloaded Route of our later requests. */
  serviceRoute: string[];
  /** P-Associated-URI (RFC 7315): our public identities. */
  associatedUris: string[];
  /** Path (RFC 3327) the registrar recorded. */
  path: string[];
  /** Other bindings of the AOR the registrar reported. */
  otherContacts: number;
}

export interface RegistrationSnapshot {
  state: RegistrationState;
  aor: string;
  info?: RegistrationInfo;
  /** Successful registrations (initial, refreshes, recoveries). */
  registrations: number;
  failures: number;
  /** Times a binding query found our binding gone. */
  bindingsLost: number;
  lastError?: string;
  lastErrorKind?: RegistrationErrorKind;
}

export interface SipRegistrationOptions {
  endpoint: SipEndpoint;
  clock: SipClock;
  /** Address of record, e.g. sip:alice@ims.example. */
  aor: string;
  /** Request-URI of REGISTER: the registrar domain, e.g. sip:ims.example. */
  registrarUri: string;
  /** User part of our Contact. */
  contactUser: string;
  expiresS: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Period of binding queries while registered; 0 = none. */
  bindingCheckMs: number;
  /** Longest wait for the de-registration answer on stop. */
  unregisterTimeoutMs: number;
  random?: () => number;
  onRegistered?: (info: RegistrationInfo, why: 'initial' | 'refresh' | 'recovery') => void;
  onFailed?: (err: SipRegistrationError, retryInMs: number | undefined) => void;
  onWarning?: (message: string) => void;
}

/** When to refresh a binding of `expiresS` seconds, in ms after it was granted (TS 24.229). */
export function refreshDelayMs(expiresS: number): number {
  return (expiresS > 1200 ? expiresS - 600 : expiresS / 2) * 1000;
}

export class SipRegistration {
  private stateValue: RegistrationState = 'unregistered';
  private info: RegistrationInfo | undefined;
  private readonly callId = `${randomToken(12)}@superdist`;
  private readonly fromTag = randomToken(6);
  private cseq = 1;
  private running = false;
  private refreshTimer: TimerHandle | undefined;
  private checkTimer: TimerHandle | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private consecutiveFailures = 0;
  private counters = { registrations: 0, failures: 0, bindingsLost: 0 };
  private lastError: SipRegistrationError | undefined;
  /** The contact of our last successful registration. */
  private lastContact: string | undefined;
  private hadBinding = false;

  constructor(private readonly opts: SipRegistrationOptions) {}

  get state(): RegistrationState {
    return this.stateValue;
  }

  get current(): RegistrationInfo | undefined {
    return this.info;
  }

  snapshot(): RegistrationSnapshot {
    const s: RegistrationSnapshot = { state: this.stateValue, aor: this.opts.aor, ...this.counters };
    if (this.info) s.info = { ...this.info };
    if (this.lastError) {
      s.lastError = this.lastError.message;
      s.lastErrorKind = this.lastError.kind;
    }
    return s;
  }

  /** One registration attempt (with authentication); throws SipRegistrationError. */
  registerOnce(): Promise<RegistrationInfo> {
    return this.serial(() => this.doRegister());
  }

  /** Registers now and keeps the binding alive until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.kick(0);
  }

  /** The (TCP) connection to the registrar was lost: register again over a new one. */
  transportLost(reason: string): void {
    if (!this.running || this.stateValue === 'unregistering') return;
    this.opts.onWarning?.(`connection to the registrar lost (${reason}); registering again`);
    this.info = undefined; // the binding named the lost connection
    this.kick(0);
  }

  /** Stops refreshing and removes our binding (best effort, bounded by unregisterTimeoutMs). */
  async stop(): Promise<void> {
    this.running = false;
    this.clearTimers();
    let timer: TimerHandle | undefined;
    const timeout = new Promise<void>((r) => {
      timer = this.opts.clock.setTimer(r, this.opts.unregisterTimeoutMs);
    });
    await Promise.race([this.unregister().catch(() => undefined), timeout]);
    this.opts.clock.clearTimer(timer);
    if (this.stateValue !== 'unregistering') this.stateValue = 'unregistered';
  }

  /** REGISTER with Expires: 0 for our contact. */
  unregister(): Promise<void> {
    return this.serial(async () => {
      if (!this.info) return;
      this.stateValue = 'unregistering';
      try {
        await this.send(0, true);
      } finally {
        this.info = undefined;
        this.stateValue = 'unregistered';
      }
    });
  }

  // ---- internals --------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private clearTimers(): void {
    this.opts.clock.clearTimer(this.refreshTimer);
    this.opts.clock.clearTimer(this.checkTimer);
    this.refreshTimer = this.checkTimer = undefined;
  }

  /** Schedules a (re-)registration in `delayMs`, replacing any scheduled one. */
  private kick(delayMs: number): void {
    this.opts.clock.clearTimer(this.refreshTimer);
    this.refreshTimer = this.opts.clock.setTimer(() => {
      this.refreshTimer = undefined;
      void this.serial(() => this.keepAlive()).catch(() => undefined);
    }, delayMs);
  }

  private async keepAlive(): Promise<void> {
    if (!this.running) return;
    const why = this.info ? 'refresh' : this.hadBinding ? 'recovery' : 'initial';
    try {
      const info = await this.doRegister();
      this.consecutiveFailures = 0;
      this.hadBinding = true;
      this.opts.onRegistered?.(info, why);
      if (!this.running) return;
      this.kick(refreshDelayMs(info.expiresS));
      this.scheduleCheck();
    } catch (err) {
      const e = err instanceof SipRegistrationError ? err : new SipRegistrationError('transport', String(err));
      this.consecutiveFailures++;
      const permanent = e.kind === 'auth-rejected' || e.kind === 'auth-unsupported' || e.kind === 'forbidden';
      const base = permanent ? this.opts.retryMaxMs : Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** (this.consecutiveFailures - 1));
      const delay = Math.round(base * (0.8 + 0.2 * (this.opts.random ?? Math.random)()));
      this.opts.onFailed?.(e, this.running ? delay : undefined);
      if (this.running) this.kick(delay);
    }
  }

  private scheduleCheck(): void {
    this.opts.clock.clearTimer(this.checkTimer);
    this.checkTimer = undefined;
    if (!this.opts.bindingCheckMs || !this.running) return;
    this.checkTimer = this.opts.clock.setTimer(() => {
      this.checkTimer = undefined;
      void this.serial(() => this.checkBinding()).catch(() => undefined);
    }, this.opts.bindingCheckMs);
  }

  /** Queries our bindings; registers again when ours is gone or the query fails. */
  private async checkBinding(): Promise<void> {
    if (!this.running || !this.info || this.stateValue !== 'registered') return;
    const contact = this.info.contact;
    let res: SipResponse;
    try {
      res = (await this.exchange([])).response;
    } catch (err) {
      this.opts.onWarning?.(`binding query failed (${(err as Error).message}); registering again`);
      this.info = undefined;
      this.kick(0);
      return;
    }
    if (res.status >= 200 && res.status < 300 && this.findOurBinding(res, contact)) {
      this.scheduleCheck();
      return;
    }
    this.counters.bindingsLost++;
    this.opts.onWarning?.(`registrar no longer holds our binding (${res.status} ${res.reason}; restarted?); registering again`);
    this.info = undefined;
    this.kick(0);
  }

  private contactUri(): string {
    const l = this.opts.endpoint.local();
    const host = l.host.includes(':') ? `[${l.host}]` : l.host;
    const tcp = this.opts.endpoint.transport.name === 'tcp' ? ';transport=tcp' : '';
    return `sip:${this.opts.contactUser}@${host}:${l.port}${tcp}`;
  }

  private async doRegister(): Promise<RegistrationInfo> {
    this.stateValue = 'registering';
    try {
      let expires = this.opts.expiresS;
      for (let attempt = 0; ; attempt++) {
        const res = await this.send(expires, false);
        if (res.status === 423 && attempt === 0) {
          const min = Number(getHeader(res, 'Min-Expires'));
          if (Number.isInteger(min) && min > expires) {
            expires = min;
            continue;
          }
        }
        const info = this.accept(res, expires);
        this.info = info;
        this.counters.registrations++;
        this.lastError = undefined;
        this.stateValue = 'registered';
        return info;
      }
    } catch (err) {
      const e = err instanceof SipRegistrationError ? err : new SipRegistrationError('transport', (err as Error).message);
      this.counters.failures++;
      this.lastError = e;
      this.info = undefined;
      this.stateValue = 'failed';
      throw e;
    }
  }

  private async exchange(extra: SipHeader[]): Promise<RequestResult> {
    await this.opts.endpoint.open();
    try {
      const r = await this.opts.endpoint.request({
        method: 'REGISTER',
        requestUri: this.opts.registrarUri,
        from: `<${this.opts.aor}>;tag=${this.fromTag}`,
        to: `<${this.opts.aor}>`,
        callId: this.callId,
        cseq: this.cseq,
        headers: [...extra, { name: 'Supported', value: 'path' }, { name: 'Allow', value: 'MESSAGE, OPTIONS' }],
      });
      this.cseq = r.cseq + 1;
      return r;
    } catch (err) {
      this.cseq++;
      if (err instanceof SipRequestError) throw new SipRegistrationError(err.kind, err.message);
      throw err;
    }
  }

  /** One REGISTER (expires 0 = remove our binding); returns the final response or throws on failures. */
  private async send(expiresS: number, removing: boolean): Promise<SipResponse> {
    await this.opts.endpoint.open();
    const contact = removing && this.info ? this.info.contact : this.contactUri();
    // A binding of an earlier connection (TCP reconnected on a new port) is removed in passing.
    const stale = !removing && this.lastContact !== undefined && this.lastContact !== contact ? this.lastContact : undefined;
    const r = await this.exchange([
      { name: 'Contact', value: `<${contact}>` },
      ...(stale ? [{ name: 'Contact', value: `<${stale}>;expires=0` }] : []),
      { name: 'Expires', value: String(expiresS) },
    ]);
    const res = r.response;
    if (res.status >= 200 && res.status < 300) {
      this.lastContact = removing ? undefined : contact;
      return res;
    }
    if (res.status === 423) return res;
    throw this.errorFor(r);
  }

  private errorFor(r: RequestResult): SipRegistrationError {
    const res = r.response;
    const where = `registrar ${this.opts.endpoint.proxyText()}`;
    const warning = getHeader(res, 'Warning');
    const detail = warning ? ` (Warning: ${warning})` : '';
    if (r.authFailure?.kind === 'rejected') {
      return new SipRegistrationError(
        'auth-rejected',
        `${where} rejected the credentials for ${this.opts.aor} (realm "${r.authFailure.realm}"): ${res.status} ${res.reason} again after digest authentication — wrong user name or password`,
        res.status,
      );
    }
    if (r.authFailure?.kind === 'unsupported') {
      return new SipRegistrationError(
        'auth-unsupported',
        `${where} asked for authentication superdist cannot answer (offered: ${r.authFailure.offered}; supported: Digest MD5, SHA-256, SHA-512-256 with qop=auth)`,
        res.status,
      );
    }
    if (res.status === 403) {
      return new SipRegistrationError('forbidden', `${where} refused the registration of ${this.opts.aor}: 403 ${res.reason}${detail}`, 403);
    }
    return new SipRegistrationError('rejected', `${where} answered ${res.status} ${res.reason} to REGISTER for ${this.opts.aor}${detail}`, res.status);
  }

  private findOurBinding(res: SipResponse, contact: string): { expires?: number } | undefined {
    const ours = parseSipUri(contact);
    if (!ours) return undefined;
    for (const v of headerValues(res, 'Contact')) {
      const na = parseNameAddr(v);
      const uri = na ? parseSipUri(na.uri) : undefined;
      if (!na || !uri || !sameContactUri(uri, ours)) continue;
      const e = na.params.get('expires');
      return e !== undefined && e !== null && /^\d+$/.test(e) ? { expires: Number(e) } : {};
    }
    return undefined;
  }

  private accept(res: SipResponse, requested: number): RegistrationInfo {
    const contact = this.contactUri();
    const binding = this.findOurBinding(res, contact);
    const headerExpires = Number(getHeader(res, 'Expires'));
    const expiresS = binding?.expires ?? (Number.isInteger(headerExpires) && headerExpires > 0 ? headerExpires : requested);
    if (!binding) this.opts.onWarning?.(`200 OK to REGISTER did not list our contact ${contact}; assuming ${expiresS} s`);
    const now = this.opts.clock.now();
    return {
      aor: this.opts.aor,
      contact,
      expiresS,
      registeredAt: now,
      expiresAt: now + expiresS * 1000,
      serviceRoute: headerValues(res, 'Service-Route'),
      associatedUris: headerValues(res, 'P-Associated-URI'),
      path: headerValues(res, 'Path'),
      otherContacts: Math.max(0, headerValues(res, 'Contact').length - (binding ? 1 : 0)),
    };
  }
}
