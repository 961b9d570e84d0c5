// The web remote's HTTP server: static page from memory, the JSON API (web-api.ts), a server-sent
// event stream of status snapshots, and the channels phones watch (/hls/, hls-routes.ts), on one or
// more addresses (web-addresses.ts). It polls the control API's `status` handler once a second for
// the stream and the chart's history.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { hostname as osHostname } from 'node:os';
import type { ControlHandler } from '../control/control-server.js';
import type { Status } from '../control/status.js';
import { formatContact } from '../config/address.js';
import type { WebConfig } from '../config/web-config.js';
import type { Logger } from '../platform/logger.js';
import { HlsFileRoutes, type PhoneFileSource } from './hls-file-routes.js';
import { HlsRoutes, type PhoneMediaSource, type PhoneRequester } from './hls-routes.js';
import { PhoneApprovals } from './phone-approvals.js';
import { PhoneViewers } from './phone-viewers.js';
import { loadStaticAssets, type StaticAsset } from './static-assets.js';
import { OwnerCredential } from './owner-credential.js';
import { allowedHostNames, hostAllowed } from './request-guard.js';
import { SetupCode, makeSetupCode } from './setup-code.js';
import { StatusHistory, type Sample } from './status-history.js';
import { WebApi, type ApiResponse } from './web-api.js';
import { WebSettings } from './web-settings.js';
import { createDualServer, type DualServer } from './tls-port.js';
import { plainHttpAnswer, type PlainHttpMode } from './plain-http.js';
import type { Session } from './sessions.js';
import type { WebStatus } from './web-status.js';

const MAX_BODY_BYTES = 16 * 1024;
const MAX_EVENT_CLIENTS = 64;
/** HTTPS only for a year on this origin (browsers ignore it for IP addresses and untrusted certificates). */
const HSTS = 'max-age=31536000';
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface WebServerOptions {
  config: WebConfig;
  /** HOST:PORT addresses to listen on (resolved by the caller: web.listen or web-addresses.ts). */
  addresses: Array<{ host: string; port: number }>;
  handlers: Record<string, ControlHandler>;
  stateDir: string;
  log: Logger;
  now?: () => number;
  /** Status poll period (the stream's and the chart's resolution). */
  sampleMs?: number;
  hostname?: string;
  /** The channels this box receives, for phones (/hls/); without it every channel is 404. */
  media?: PhoneMediaSource;
  /** Completed files this box holds, for phones (/hls/file/, on demand). */
  files?: PhoneFileSource;
  /** How many browser sessions the owner may approve for protected channels (the domain's room; 0 without rights). */
  phoneSlots?: () => number;
  /**
   * The box's key and certificate (box-certificate.ts): the page is HTTPS on each address, and plain
   * HTTP on the same port only redirects (`plainHttp: 'redirect'`) or serves what a viewer may see
   * (`'viewer'`); without it the page is plain HTTP.
   */
  tls?: { keyPem: string; certPem: string; fingerprint: string; spkiSha256: string; notAfter: string };
  plainHttp?: PlainHttpMode;
  /** What was wrong with the certificate files found (replaced or fixed), for status. */
  tlsWarnings?: string[];
  /**
   * Looks at the certificate again (box-certificate.ts: renewed within 30 days of expiry, or when an
   * address is new) every `tlsCheckMs` (6 h); a new one is served from then on.
   */
  recheckTls?: () => WebTls & { warnings: string[] };
  tlsCheckMs?: number;
}

export type WebTls = NonNullable<WebServerOptions['tls']>;

interface EventClient {
  res: ServerResponse;
  cookie: string | undefined;
}

export class WebServer {
  readonly api: WebApi;
  private readonly assets: Map<string, StaticAsset>;
  private readonly history: StatusHistory;
  private readonly settings: WebSettings;
  private readonly credential: OwnerCredential;
  private readonly setupCode: SetupCode;
  private readonly servers: DualServer[] = [];
  /** Responses on HTTPS connections: their cookies are `Secure`. */
  private readonly secureResponses = new WeakSet<ServerResponse>();
  /** Responses over plain HTTP beside HTTPS: their JSON names the page's HTTPS address (the page sends the owner there to log in). */
  private readonly upgradeUrls = new WeakMap<ServerResponse, string>();
  private readonly clients = new Set<EventClient>();
  private readonly urls: string[] = [];
  private readonly errors: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private tlsTimer: NodeJS.Timeout | undefined;
  private tls: WebTls | undefined;
  private tlsWarnings: string[];
  private readonly now: () => number;
  private readonly hostNames: Set<string>;
  private readonly hls: HlsRoutes;
  private readonly hlsFiles: HlsFileRoutes;
  private readonly approvals: PhoneApprovals;

  constructor(private readonly o: WebServerOptions) {
    this.now = o.now ?? Date.now;
    this.tls = o.tls;
    this.tlsWarnings = o.tlsWarnings ?? [];
    this.assets = loadStaticAssets();
    this.history = new StatusHistory(Math.ceil((o.config.historyS * 1000) / (o.sampleMs ?? 1000)));
    this.settings = new WebSettings(o.stateDir, { viewersMayBrowse: o.config.viewersMayBrowse, viewersMaySwitch: o.config.viewersMaySwitch, viewersMayWatch: o.config.viewersMayWatch }, (m) => o.log.warn(m));
    const viewers = new PhoneViewers(o.config.maxViewers, this.now);
    this.hls = new HlsRoutes(o.media, viewers);
    this.hlsFiles = new HlsFileRoutes(o.files, viewers);
    this.approvals = new PhoneApprovals(o.phoneSlots ?? (() => 0), this.now);
    this.credential = new OwnerCredential(o.stateDir);
    this.setupCode = new SetupCode(this.credential.isSet() ? undefined : makeSetupCode());
    this.hostNames = allowedHostNames(o.hostname ?? osHostname(), o.config.hostNames);
    this.api = new WebApi({
      handlers: o.handlers,
      credential: this.credential,
      setupCode: this.setupCode,
      settings: this.settings,
      history: this.history,
      hostNames: this.hostNames,
      now: this.now,
      sessionIdleS: o.config.sessionIdleS,
      approvals: this.approvals,
      onEvent: (message, fields) => o.log.info({ component: 'web', ...fields }, message),
    });
  }

  /** Listens on every address it can; an address that fails is logged and reported in status. */
  async listen(): Promise<void> {
    for (const a of this.o.addresses) {
      const tls = this.tls ? { key: this.tls.keyPem, cert: this.tls.certPem } : undefined;
      const dual = createDualServer((req, res, secure) => void this.serve(req, res, secure), tls);
      const server = dual.net;
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(a.port, a.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        const addr = server.address();
        const port = typeof addr === 'object' && addr ? addr.port : a.port;
        this.servers.push(dual);
        this.urls.push(`${tls ? 'https' : 'http'}://${formatContact({ host: a.host, port })}/`);
      } catch (err) {
        const why = `cannot serve the web page on ${formatContact(a)}: ${(err as Error).message}`;
        this.errors.push(why);
        this.o.log.error({ component: 'web' }, why);
      }
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), this.o.sampleMs ?? 1000);
    const recheck = this.o.recheckTls;
    if (this.tls && recheck) {
      this.tlsTimer = setInterval(() => {
        try {
          this.useCertificate(recheck());
        } catch (err) {
          this.o.log.error({ component: 'web' }, `web certificate check failed: ${(err as Error).message}`);
        }
      }, this.o.tlsCheckMs ?? 6 * 3600_000);
      this.tlsTimer.unref();
    }
    if (this.urls.length) this.o.log.info({ component: 'web', urls: this.urls }, `web remote on ${this.urls.join(' ')}`);
    const code = this.setupCode.value();
    if (code && this.urls.length) {
      this.o.log.warn(
        { component: 'web', setupCode: code },
        `web: no owner password yet; open the page and enter the setup code ${code} to set it, or run: superdist web set-password --state-dir ${this.o.stateDir}`,
      );
    }
  }

  status(): WebStatus {
    const s = this.settings.get();
    const t = this.tls;
    const https = t ? { https: { fingerprint: t.fingerprint, spkiSha256: t.spkiSha256, notAfter: t.notAfter, selfSigned: true, plainHttp: this.o.plainHttp ?? 'redirect', warnings: [...this.tlsWarnings] } } : {};
    return { urls: [...this.urls], errors: [...this.errors], ownerPasswordSet: this.credential.isSet(), ...s, eventClients: this.clients.size, sessions: this.api.sessions.size, phones: this.hls.stats(), ...https };
  }

  /** Serves `c` from the next TLS handshake on, when it is another certificate than the one served. */
  private useCertificate(c: WebTls & { warnings: string[] }): void {
    if (!this.tls || c.fingerprint === this.tls.fingerprint) return;
    for (const s of this.servers) s.https?.setSecureContext({ key: c.keyPem, cert: c.certPem, minVersion: 'TLSv1.2' });
    this.tls = c;
    this.tlsWarnings = c.warnings;
    for (const w of c.warnings) this.o.log.warn({ component: 'web' }, `web certificate: ${w}`);
    this.o.log.warn({ component: 'web', fingerprint: c.fingerprint, notAfter: c.notAfter }, `web: new certificate SHA-256 ${c.fingerprint}; browsers warn once more`);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.tlsTimer);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    await Promise.all(
      this.servers.map((s) => {
        s.closeAllConnections();
        return new Promise<void>((r) => s.net.close(() => r()));
      }),
    );
    this.servers.length = 0;
  }

  private async sample(): Promise<void> {
    const statusHandler = this.o.handlers.status;
    if (!statusHandler) return;
    let status: Status;
    try {
      status = (await statusHandler({})) as Status;
    } catch (err) {
      this.o.log.debug({ component: 'web', err: (err as Error).message }, 'status for the web stream failed');
      return;
    }
    const sample = this.history.add(status, this.now());
    this.broadcast(status, sample);
  }

  private broadcast(status: Status, sample: Sample | undefined): void {
    const data = `event: status\ndata: ${JSON.stringify({ status, sample: sample ?? null })}\n\n`;
    for (const c of this.clients) {
      const s = this.api.session(c.cookie);
      if (!this.api.allowed(s, 'browse')) {
        this.clients.delete(c);
        c.res.end('event: denied\ndata: {}\n\n');
        continue;
      }
      c.res.write(data);
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (this.tls && secure) {
      res.setHeader('Strict-Transport-Security', HSTS);
      // Cookies set over HTTPS never travel over plain HTTP.
      this.secureResponses.add(res);
    }
    if (this.tls && !secure) {
      const refused = plainHttpAnswer(this.o.plainHttp ?? 'redirect', {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        host: req.headers.host,
        hostAllowed: hostAllowed(req.headers.host, this.hostNames),
        ownerSession: this.api.session(req.headers.cookie)?.role === 'owner',
      });
      if (refused) {
        // An owner's cookie that came over plain HTTP has been seen on the network: it ends.
        if (refused.burnSession) {
          const s = this.api.session(req.headers.cookie);
          if (s) this.api.sessions.destroy(s.token);
        }
        return this.send(res, refused.answer);
      }
      this.upgradeUrls.set(res, `https://${req.headers.host ?? ''}/`);
    }
    const url = new URL(req.url ?? '/', 'http://box');
    const path = url.pathname;
    try {
      if (path === '/api/events' && req.method === 'GET') return this.events(req, res);
      if (path.startsWith('/api/')) return await this.apiRequest(req, res, path);
      if (path.startsWith('/hls/')) return await this.phone(req, res, path);
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.send(res, { status: 405, body: { error: `method ${req.method} not allowed` }, headers: { Allow: 'GET, HEAD' } });
      if (!hostAllowed(req.headers.host, this.hostNames)) return this.send(res, { status: 421, body: { error: 'unknown host name; use the box\'s IP address' } });
      const asset = this.assets.get(path);
      if (!asset) return this.send(res, { status: 404, body: { error: `not found: ${path}` } });
      res.setHeader('ETag', asset.etag);
      res.setHeader('Cache-Control', 'no-cache');
      if (req.headers['if-none-match'] === asset.etag) {
        res.writeHead(304).end();
        return;
      }
      let body = asset.body;
      const headers: Record<string, string | number> = { 'Content-Type': asset.type };
      if (asset.gzip) {
        headers.Vary = 'Accept-Encoding';
        if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) headers['Content-Encoding'] = 'gzip';
        else body = gunzipSync(body);
      }
      headers['Content-Length'] = body.length;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.o.log.warn({ component: 'web', err: (err as Error).message, path }, 'web request failed');
      if (!res.headersSent) this.send(res, { status: 500, body: { error: 'internal error' } });
      else res.destroy();
    }
  }

  private async apiRequest(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    let body: unknown;
    let bodyError: string | undefined;
    if (req.method === 'POST') {
      const text = await readBody(req);
      if (text === undefined) return this.send(res, { status: 413, body: { error: `request body larger than ${MAX_BODY_BYTES} bytes` } });
      if (text.trim()) {
        try {
          body = JSON.parse(text);
        } catch {
          bodyError = 'request body is not valid JSON';
        }
      }
    }
    const h = req.headers;
    const answer = await this.api.handle({
      method: req.method ?? 'GET',
      path,
      client: req.socket.remoteAddress ?? 'unknown',
      ...(h.host ? { host: h.host } : {}),
      ...(typeof h.origin === 'string' ? { origin: h.origin } : {}),
      ...(h.cookie ? { cookie: h.cookie } : {}),
      ...(typeof h['x-csrf-token'] === 'string' ? { csrf: h['x-csrf-token'] } : {}),
      ...(h['content-type'] ? { contentType: h['content-type'] } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(bodyError ? { bodyError } : {}),
    });
    this.send(res, answer);
  }

  /** /hls/: who asks (the session, else the address), whether they may watch, approved or not. */
  private async phone(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (!hostAllowed(req.headers.host, this.hostNames)) return this.send(res, { status: 421, body: { error: 'unknown host name; use the box\'s IP address' } });
    const s = this.api.session(req.headers.cookie);
    const r: PhoneRequester = {
      who: s ? `session:${s.token}` : `address:${req.socket.remoteAddress ?? 'unknown'}`,
      permit: this.api.permit(s, 'watch'),
      approved: s !== undefined && (s.role === 'owner' || this.approvals.approved(s.token)),
    };
    if (path.startsWith('/hls/file/')) return this.hlsFiles.serve(req, res, path, r);
    this.hls.serve(req, res, path, r);
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    if (!hostAllowed(req.headers.host, this.hostNames)) return this.send(res, { status: 421, body: { error: 'unknown host name' } });
    const cookie = req.headers.cookie;
    const s: Session | undefined = this.api.session(cookie);
    if (!this.api.allowed(s, 'browse')) return this.send(res, { status: 403, body: { error: 'the owner has not allowed viewers to browse: log in as the owner' } });
    if (this.clients.size >= MAX_EVENT_CLIENTS) return this.send(res, { status: 503, body: { error: 'too many live pages open' }, headers: { 'Retry-After': '10' } });
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(`retry: 2000\nevent: history\ndata: ${JSON.stringify({ samples: this.history.all() })}\n\n`);
    const client: EventClient = { res, cookie };
    this.clients.add(client);
    req.socket.setTimeout(0);
    res.on('close', () => this.clients.delete(client));
  }

  private send(res: ServerResponse, a: ApiResponse): void {
    const upgrade = this.upgradeUrls.get(res);
    const body = JSON.stringify(upgrade && typeof a.body === 'object' && a.body !== null && !Array.isArray(a.body) ? { ...a.body, https: upgrade } : a.body);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body), ...a.headers };
    if (a.setCookie) headers['Set-Cookie'] = this.secureResponses.has(res) ? `${a.setCookie}; Secure` : a.setCookie;
    res.writeHead(a.status, headers).end(body);
  }
}

/** The request body as text, or undefined when it is longer than MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY_BYTES) over = true;
      else parts.push(d);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
