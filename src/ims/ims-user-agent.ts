// One IMS user agent from the `ims` config: an endpoint bound to the registrar (outbound proxy) and
// the registration of sip:USER@DOMAIN on it. Requests from the core go to `onRequest` (OPTIONS is
// answered here); a lost TCP connection makes the registration start over. Used by ImsService
// (node and tracker) and by `superdist ims register`.
import { parseHostPort } from '../config/address.js';
import { imsIdentity, type ImsConfig } from './ims-config.js';
import { SipEndpoint, type Responder, type SipEndpointOptions } from './sip-endpoint.js';
import type { SipRequest } from './sip-message.js';
import { SipRegistration, type RegistrationInfo, type SipRegistrationError } from './sip-registration.js';
import type { SipClock } from './sip-timers.js';

export interface ImsUserAgentOptions {
  cfg: ImsConfig;
  /** User part to register (default cfg.user; the tracker passes cfg.serviceUser). */
  user?: string;
  password: string;
  clock: SipClock;
  userAgent: string;
  onRequest?: (req: SipRequest, respond: Responder) => void;
  onWarning?: (message: string) => void;
  onRegistered?: (info: RegistrationInfo, why: 'initial' | 'refresh' | 'recovery') => void;
  onRegistrationFailed?: (err: SipRegistrationError, retryInMs: number | undefined) => void;
  /** Test seam. */
  createTransport?: SipEndpointOptions['createTransport'];
}

const ALLOW = 'MESSAGE, OPTIONS';

export class ImsUserAgent {
  readonly endpoint: SipEndpoint;
  readonly registration: SipRegistration;
  readonly aor: string;

  constructor(opts: ImsUserAgentOptions) {
    const { cfg } = opts;
    const user = opts.user ?? cfg.user;
    this.aor = imsIdentity({ user, domain: cfg.domain });
    const proxy = parseHostPort(cfg.registrar);
    if (typeof proxy === 'string') throw new Error(`ims.registrar: ${proxy}`);
    const endpointOpts: SipEndpointOptions = {
      transport: cfg.transport,
      proxy,
      clock: opts.clock,
      timers: { t1Ms: cfg.t1Ms, t2Ms: cfg.t2Ms, t4Ms: cfg.t4Ms, transactionTimeoutMs: cfg.transactionTimeoutMs },
      credentials: { username: cfg.authUser || user, password: opts.password },
      userAgent: opts.userAgent,
      onRequest: (req, respond) => this.dispatch(req, respond, opts.onRequest),
      onClosed: (reason) => this.registration.transportLost(reason),
    };
    if (cfg.localAddress) endpointOpts.localHost = cfg.localAddress;
    if (cfg.localPort) endpointOpts.localPort = cfg.localPort;
    if (opts.onWarning) endpointOpts.onWarning = opts.onWarning;
    if (opts.createTransport) endpointOpts.createTransport = opts.createTransport;
    this.endpoint = new SipEndpoint(endpointOpts);
    this.registration = new SipRegistration({
      endpoint: this.endpoint,
      clock: opts.clock,
      aor: this.aor,
      registrarUri: `sip:${cfg.domain}`,
      contactUser: user,
      expiresS: cfg.expiresS,
      retryMinMs: cfg.retryMinMs,
      retryMaxMs: cfg.retryMaxMs,
      bindingCheckMs: cfg.bindingCheckS * 1000,
      unregisterTimeoutMs: cfg.unregisterTimeoutMs,
      ...(opts.onRegistered ? { onRegistered: opts.onRegistered } : {}),
      ...(opts.onRegistrationFailed ? { onFailed: opts.onRegistrationFailed } : {}),
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    });
  }

  private dispatch(req: SipRequest, respond: Responder, next?: (req: SipRequest, respond: Responder) => void): void {
    if (req.method === 'OPTIONS') {
      respond(200, 'OK', [{ name: 'Allow', value: ALLOW }, { name: 'Accept', value: 'application/json' }]);
      return;
    }
    if (req.method !== 'MESSAGE' || !next) {
      respond(405, 'Method Not Allowed', [{ name: 'Allow', value: ALLOW }]);
      return;
    }
    next(req, respond);
  }

  /** Stops the registration (de-registering) and closes the transport. */
  async close(): Promise<void> {
    await this.registration.stop();
    await this.endpoint.close();
  }
}
