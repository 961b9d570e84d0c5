// IMS access for one superdist process, built from the `ims` config for its role:
// - node roles (node, main, local): register sip:USER@DOMAIN, then obtain a tracker ticket from
//   the superdist service through the IMS core and keep renewing it; ticketFor() feeds
//   PeerEngine's TrackerJoin, trackerContact() tells where the tracker is.
// - tracker: register as the service identity sip:SERVICEUSER@DOMAIN, issue tickets for MESSAGE
//   requests the core routes to it, and check them on joins (createTicketAdmission()).
// The SIP pieces live beside this file; this class only composes them and reports status.
import { formatContact, parseHostPort } from '../config/address.js';
import type { Contact } from '../protocol/messages.js';
import { imsIdentity, imsServiceUri, type ImsConfig } from './ims-config.js';
import { resolveImsPassword } from './ims-credentials.js';
import { ImsUserAgent } from './ims-user-agent.js';
import { randomToken, type SipEndpointOptions } from './sip-endpoint.js';
import type { RegistrationInfo } from './sip-registration.js';
import { systemSipClock, type SipClock } from './sip-timers.js';
import { createTicketAdmission, type AdmissionDecision, type TicketAdmitFn } from './ticket-admission.js';
import { TicketClient, type HeldTicket } from './ticket-client.js';
import { TicketIssuer } from './ticket-issuer.js';
import { loadOrCreateTicketKey, type TicketSigningKey } from './ticket-keys.js';
import { buildImsStatus, type ImsStatus } from './ims-status.js';

export { formatImsStatusLine, type ImsStatus } from './ims-status.js';

/** The subset of pino's Logger this module uses. */
export interface ImsLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silentLog: ImsLog = { debug() {}, info() {}, warn() {}, error() {} };
const EMPTY_TICKET = new Uint8Array(0);

export interface ImsServiceOptions {
  /** The process role; 'tracker' issues and checks tickets, every other role fetches one. */
  role: string;
  peerId: string;
  stateDir: string;
  /** Tracker role: its advertised peer-protocol contact, written into tickets. */
  trackerContact?: Contact;
  log?: ImsLog;
  clock?: SipClock;
  /** User-Agent / Server header value, e.g. 'superdist/0.1.0'. */
  userAgent?: string;
  env?: NodeJS.ProcessEnv;
  /** A new ticket is held (node roles): re-join contents the tracker refused. */
  onTicket?: (ticket: { tracker: Contact | undefined; expiresAt: number }) => void;
  /** Test seam for the SIP transport. */
  createTransport?: SipEndpointOptions['createTransport'];
}

export class ImsService {
  private readonly clock: SipClock;
  private readonly log: ImsLog;
  private readonly isTracker: boolean;
  private ua: ImsUserAgent | undefined;
  private client: TicketClient | undefined;
  private issuer: TicketIssuer | undefined;
  private key: TicketSigningKey | undefined;
  private credentialSource: string | undefined;
  private readonly admission = { admitted: 0, refused: 0, lastRefusal: undefined as string | undefined };
  private started = false;

  constructor(readonly config: ImsConfig, private readonly opts: ImsServiceOptions) {
    this.clock = opts.clock ?? systemSipClock();
    this.log = opts.log ?? silentLog;
    this.isTracker = opts.role === 'tracker';
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Our IMS public identity. */
  get identity(): string {
    return imsIdentity({ user: this.isTracker ? this.config.serviceUser : this.config.user, domain: this.config.domain });
  }

  /**
   * Starts registering (and, on nodes, fetching the ticket). Resolves once the first attempts are
   * done or ims.startWaitMs passed; later failures are retried in the background and shown in
   * status(). Throws ImsConfigError when the configuration cannot work (no password, bad file).
   */
  async start(): Promise<void> {
    if (!this.config.enabled || this.started) return;
    this.started = true;
    const cfg = this.config;
    const secret = resolveImsPassword(cfg, this.opts.env ?? process.env);
    this.credentialSource = secret.source;
    for (const w of secret.warnings) this.log.warn({ ims: true }, w);

    let settle: () => void = () => {};
    const ready = new Promise<void>((r) => (settle = r));
    const ua = new ImsUserAgent({
      cfg,
      user: this.isTracker ? cfg.serviceUser : cfg.user,
      password: secret.password,
      clock: this.clock,
      userAgent: this.opts.userAgent ?? 'superdist',
      onRequest: (req, respond) => {
        if (this.issuer && TicketIssuer.isTicketRequest(req)) this.issuer.handle(req, respond);
        else if (this.client?.handleDelivery(req, respond)) return;
        else respond(415, 'Unsupported Media Type');
      },
      onWarning: (message) => this.log.warn({ ims: true }, message),
      onRegistered: (info, why) => {
        this.logRegistered(info, why);
        if (this.client) this.client.start();
        else settle();
      },
      onRegistrationFailed: (err, retryInMs) => {
        const level = err.kind === 'timeout' || err.kind === 'transport' ? 'warn' : 'error';
        this.log[level]({ ims: true, kind: err.kind, retryInMs }, `IMS registration failed: ${err.message}`);
        settle();
      },
      ...(this.opts.createTransport ? { createTransport: this.opts.createTransport } : {}),
    });
    this.ua = ua;
    if (this.isTracker) {
      const tracker = this.opts.trackerContact;
      if (!tracker) throw new Error('ImsService: the tracker role needs options.trackerContact');
      this.issuer = new TicketIssuer({
        key: this.signingKey(),
        trackerContact: formatContact(tracker),
        lifetimeMs: cfg.ticketLifetimeS * 1000,
        clock: this.clock,
        deliver: async (to, body, contentType) =>
          (
            await ua.endpoint.request({
              method: 'MESSAGE',
              requestUri: to,
              from: `<${ua.aor}>;tag=${randomToken(6)}`,
              to: `<${to}>`,
              callId: `${randomToken(12)}@superdist`,
              cseq: 1,
              headers: [
                ...(ua.registration.current?.serviceRoute ?? []).map((value) => ({ name: 'Route', value })),
                { name: 'Content-Type', value: contentType },
              ],
              body,
            })
          ).response,
        onIssued: (c) => this.log.info({ ims: true, peerId: c.peerId, sip: c.sip, expiresAt: new Date(c.exp).toISOString() }, 'IMS ticket issued'),
        onWarning: (message) => this.log.warn({ ims: true }, message),
      });
    } else {
      this.client = new TicketClient({
        endpoint: ua.endpoint,
        clock: this.clock,
        aor: ua.aor,
        serviceUri: imsServiceUri(cfg),
        routeSet: () => ua.registration.current?.serviceRoute ?? [],
        peerId: this.opts.peerId,
        deliveryTimeoutMs: cfg.ticketTimeoutMs,
        renewBeforeMs: cfg.ticketRenewBeforeS * 1000,
        retryMinMs: cfg.retryMinMs,
        retryMaxMs: cfg.retryMaxMs,
        onTicket: (t) => {
          this.logTicket(t);
          settle();
          this.opts.onTicket?.({ tracker: trackerOf(t), expiresAt: t.claims.exp });
        },
        onFailed: (err, retryInMs) => {
          this.log.warn({ ims: true, retryInMs }, `IMS ticket request failed: ${err.message}`);
          settle();
        },
      });
    }
    ua.registration.start();
    const timer = this.clock.setTimer(settle, cfg.startWaitMs);
    await ready;
    this.clock.clearTimer(timer);
  }

  /** Stops renewals, de-registers (bounded by ims.unregisterTimeoutMs) and closes the SIP transport. */
  async stop(): Promise<void> {
    this.client?.stop();
    const ua = this.ua;
    this.ua = undefined;
    if (ua) {
      await ua.close();
      this.log.info({ ims: true, identity: ua.aor }, 'IMS de-registered');
    }
  }

  status(): ImsStatus {
    return buildImsStatus({
      config: this.config,
      identity: this.identity,
      role: this.isTracker ? 'tracker' : 'node',
      now: this.clock.now(),
      ...(this.credentialSource ? { credentials: this.credentialSource } : {}),
      ...(this.ua ? { registration: this.ua.registration.snapshot() } : {}),
      ...(this.client ? { ticket: this.client.snapshot() } : {}),
      ...(this.issuer ? { issuer: this.issuer.snapshot() } : {}),
      ...(this.isTracker ? { admission: { ...this.admission } } : {}),
    });
  }

  /** The ticket to put into TrackerJoin (PeerEngineDeps.ticketFor); empty while none is held. */
  ticketFor(_contentId: string): Uint8Array {
    return this.client?.current()?.bytes ?? EMPTY_TICKET;
  }

  /** The tracker contact named by the held ticket (node roles). */
  trackerContact(): Contact | undefined {
    const t = this.client?.current();
    return t ? trackerOf(t) : undefined;
  }

  /** Asks for a new ticket now (e.g. after the tracker refused the current one). */
  async refreshTicket(): Promise<void> {
    if (!this.client) throw new Error('refreshTicket: not a node role, or IMS not started');
    await this.client.request();
  }

  /**
   * Tracker role: the TrackerEngine `admit` hook. Admits a TrackerJoin only with a valid ticket
   * signed by this tracker's key, unexpired, and issued to the joining peer id. Usable before
   * start() (the key is loaded on first use).
   */
  createTicketAdmission(options: { checkTrackerContact?: boolean } = {}): TicketAdmitFn {
    if (!this.isTracker) throw new Error('createTicketAdmission: only the tracker role admits peers');
    const key = this.signingKey();
    const tracker = options.checkTrackerContact && this.opts.trackerContact ? formatContact(this.opts.trackerContact) : undefined;
    return createTicketAdmission({
      keys: [{ keyId: key.keyId, publicKey: key.publicKey }],
      clock: this.clock,
      ...(tracker ? { tracker } : {}),
      onDecision: (d) => this.onAdmission(d),
    });
  }

  private onAdmission(d: AdmissionDecision): void {
    if (d.admitted) {
      this.admission.admitted++;
      this.log.debug({ ims: true, peerId: d.peerId, contentId: d.contentId, sip: d.claims?.sip }, 'IMS ticket accepted');
      return;
    }
    this.admission.refused++;
    this.admission.lastRefusal = `${d.peerId}: ${d.reason}`;
    this.log.info({ ims: true, peerId: d.peerId, contentId: d.contentId, code: d.code }, `join refused: ${d.reason}`);
  }

  private signingKey(): TicketSigningKey {
    if (!this.key) {
      const file = this.config.ticketKeyFile || `${this.opts.stateDir.replace(/\/+$/, '')}/ims-ticket-key.pem`;
      this.key = loadOrCreateTicketKey(file, (m) => this.log.warn({ ims: true }, m));
    }
    return this.key;
  }

  private logRegistered(info: RegistrationInfo, why: string): void {
    const msg = why === 'refresh' ? 'IMS registration refreshed' : why === 'recovery' ? 'IMS registered again' : 'IMS registered';
    const level = why === 'refresh' ? 'debug' : 'info';
    this.log[level]({ ims: true, identity: info.aor, contact: info.contact, expiresS: info.expiresS, serviceRoute: info.serviceRoute }, msg);
  }

  private logTicket(t: HeldTicket): void {
    this.log.info({ ims: true, tracker: t.claims.tracker, peerId: t.claims.peerId, expiresAt: new Date(t.claims.exp).toISOString() }, 'IMS ticket obtained');
  }
}

function trackerOf(t: HeldTicket): Contact | undefined {
  const c = parseHostPort(t.claims.tracker);
  return typeof c === 'string' ? undefined : c;
}
