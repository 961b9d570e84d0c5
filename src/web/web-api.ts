// The JSON API behind the page. Every control action goes to the SAME handlers the unix socket serves
// (POST /api/call {method, params}); this file adds only who may call what (method-policy.ts),
// sessions, CSRF, Origin/Host checks and login. Transport-free: web-server.ts feeds it requests.
import type { ControlHandler } from '../control/control-server.js';
import { LoginLimiter } from './login-limiter.js';
import { needOf, permission, type Need, type Permission } from './method-policy.js';
import { MAX_PASSWORD_LENGTH, passwordProblem, type OwnerCredential } from './owner-credential.js';
import type { PhoneApprovals } from './phone-approvals.js';
import { hostAllowed, originAllowed } from './request-guard.js';
import { csrfMatches, readCookie, SESSION_COOKIE, sessionCookie, SessionStore, type Session } from './sessions.js';
import type { SetupCode } from './setup-code.js';
import type { StatusHistory } from './status-history.js';
import type { WebSettings } from './web-settings.js';

export interface ApiRequest {
  method: string;
  path: string;
  host?: string;
  origin?: string;
  cookie?: string;
  csrf?: string;
  contentType?: string;
  /** The client's address (login rate limiting). */
  client: string;
  /** Parsed JSON body of a POST (undefined when there was none). */
  body?: unknown;
  /** Why the body could not be parsed (answered after the Origin, session and CSRF checks). */
  bodyError?: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  setCookie?: string;
  headers?: Record<string, string>;
}

export interface WebApiDeps {
  /** The control API's handlers (looked up at call time: methods added later are seen). */
  handlers: Record<string, ControlHandler>;
  credential: OwnerCredential;
  setupCode: SetupCode;
  settings: WebSettings;
  history: StatusHistory;
  hostNames: ReadonlySet<string>;
  now: () => number;
  sessionIdleS: number;
  /** Browser sessions the owner let watch protected channels (phone-approvals.ts). */
  approvals: PhoneApprovals;
  onEvent?: (message: string, fields?: Record<string, unknown>) => void;
}

const fail = (status: number, error: string, headers?: Record<string, string>): ApiResponse => ({ status, body: { error }, ...(headers ? { headers } : {}) });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class WebApi {
  readonly sessions: SessionStore;
  private readonly limiter: LoginLimiter;

  constructor(private readonly d: WebApiDeps) {
    this.sessions = new SessionStore({ now: d.now, idleMs: d.sessionIdleS * 1000 });
    this.limiter = new LoginLimiter({ now: d.now });
  }

  /** The request's session, dropping owner sessions of an older password. */
  session(cookie: string | undefined): Session | undefined {
    const s = this.sessions.get(readCookie(cookie, SESSION_COOKIE));
    if (s?.role === 'owner') {
      let current: string | undefined;
      try {
        current = this.d.credential.current()?.id;
      } catch {
        current = undefined;
      }
      if (s.credentialId !== current) {
        this.sessions.destroy(s.token);
        return undefined;
      }
    }
    return s;
  }

  /** May this session (or none) read what `need` guards? Used by the event stream too. */
  allowed(s: Session | undefined, need: Need): boolean {
    return this.permit(s, need).ok;
  }

  /** allowed(), with the reason when not. */
  permit(s: Session | undefined, need: Need): Permission {
    return permission(need, s?.role ?? 'viewer', this.d.settings.get());
  }

  async handle(r: ApiRequest): Promise<ApiResponse> {
    if (!hostAllowed(r.host, this.d.hostNames)) return fail(421, `this box does not answer to the host name ${JSON.stringify(r.host ?? '')}; use its IP address`);
    if (r.method === 'GET') {
      if (r.path === '/api/session') return this.sessionInfo(r);
      if (r.path === '/api/history') {
        const s = this.session(r.cookie);
        if (!this.allowed(s, 'browse')) return fail(403, 'the owner has not allowed viewers to browse: log in as the owner');
        return { status: 200, body: { samples: this.d.history.all() } };
      }
      if (r.path === '/api/phone') {
        const s = this.session(r.cookie);
        return { status: 200, body: { request: s ? (this.d.approvals.of(s.token) ?? null) : null } };
      }
      if (r.path === '/api/phones') {
        if (this.session(r.cookie)?.role !== 'owner') return fail(403, 'only the owner sees phone requests: log in as the owner');
        return { status: 200, body: { requests: this.d.approvals.list(), slots: this.d.approvals.limit } };
      }
      return fail(404, `no such API route: GET ${r.path}`);
    }
    if (r.method !== 'POST') return fail(405, `method ${r.method} not allowed`, { Allow: 'GET, POST' });
    // Every state-changing request: same origin, JSON, a session and its CSRF token.
    if (!originAllowed(r.origin, r.host)) return fail(403, 'cross-origin request refused (Origin must be this page)');
    if (!(r.contentType ?? '').toLowerCase().startsWith('application/json')) return fail(415, 'send JSON (Content-Type: application/json)');
    const s = this.session(r.cookie);
    if (!s) return fail(401, 'no session: load the page again');
    if (!csrfMatches(r.csrf, s.csrf)) return fail(403, 'missing or wrong CSRF token (X-CSRF-Token): load the page again');
    if (r.bodyError) return fail(400, r.bodyError);
    const body = isObject(r.body) ? r.body : {};
    switch (r.path) {
      case '/api/call':
        return this.call(s, body);
      case '/api/login':
        return this.login(r, s, body);
      case '/api/logout':
        this.sessions.destroy(s.token);
        return { status: 200, body: { role: 'viewer' }, setCookie: sessionCookie('', 0) };
      case '/api/setup':
        return this.setup(r, s, body);
      case '/api/phone/request': {
        if (!this.allowed(s, 'watch')) return fail(403, 'the owner has turned phone viewing off');
        const r = this.d.approvals.request(s.token, typeof body.label === 'string' ? body.label : '');
        this.d.onEvent?.('web: a phone asks to watch protected channels', { id: r.id, label: r.label });
        return { status: 200, body: { request: r } };
      }
      case '/api/phones/decide':
        if (s.role !== 'owner') return fail(403, 'only the owner may let a phone watch protected channels: log in as the owner');
        if (typeof body.id !== 'string' || typeof body.approve !== 'boolean') return fail(400, 'body: {id: string, approve: boolean}');
        try {
          const r = this.d.approvals.decide(body.id, body.approve);
          this.d.onEvent?.(`web: phone ${r.state}`, { id: r.id, label: r.label });
          return { status: 200, body: { request: r } };
        } catch (err) {
          return fail(409, (err as Error).message);
        }
      case '/api/settings':
        if (s.role !== 'owner') return fail(403, 'only the owner may change settings: log in as the owner');
        try {
          const settings = this.d.settings.update(body);
          this.d.onEvent?.('web settings changed', { ...settings });
          return { status: 200, body: { settings } };
        } catch (err) {
          return fail(400, (err as Error).message);
        }
      default:
        return fail(404, `no such API route: POST ${r.path}`);
    }
  }

  private sessionInfo(r: ApiRequest): ApiResponse {
    let s = this.session(r.cookie);
    let setCookie: string | undefined;
    if (!s) {
      s = this.sessions.create('viewer');
      setCookie = sessionCookie(s.token, this.d.sessionIdleS);
    }
    const settings = this.d.settings.get();
    const methods = Object.keys(this.d.handlers).filter((m) => permission(needOf(m), s.role, settings).ok);
    return {
      status: 200,
      body: {
        role: s.role,
        csrf: s.csrf,
        ownerSet: this.d.credential.isSet(),
        setupNeeded: !this.d.credential.isSet() && this.d.setupCode.active,
        settings,
        methods,
        rights: Object.hasOwn(this.d.handlers, 'drm.pending'),
      },
      ...(setCookie ? { setCookie } : {}),
    };
  }

  private async call(s: Session, body: Record<string, unknown>): Promise<ApiResponse> {
    const method = body.method;
    if (typeof method !== 'string' || !method) return fail(400, 'body.method must be a control method name');
    if (body.params !== undefined && !isObject(body.params)) return fail(400, 'body.params must be an object');
    const handler = Object.hasOwn(this.d.handlers, method) ? this.d.handlers[method] : undefined;
    if (!handler) return fail(404, `unknown method ${JSON.stringify(method)}`);
    const p = permission(needOf(method), s.role, this.d.settings.get());
    if (!p.ok) return fail(p.status, p.error);
    try {
      const result = await handler((body.params as Record<string, unknown> | undefined) ?? {});
      if (needOf(method) !== 'browse') this.d.onEvent?.(`web: ${method}`, { role: s.role, params: body.params ?? {} });
      return { status: 200, body: { result: result ?? null } };
    } catch (err) {
      return fail(400, (err as Error).message);
    }
  }

  private limited(client: string): ApiResponse | undefined {
    const d = this.limiter.check(client);
    if (d.allowed) return undefined;
    return fail(429, `too many wrong attempts: try again in ${d.retryAfterS} s`, { 'Retry-After': String(d.retryAfterS) });
  }

  private async login(r: ApiRequest, s: Session, body: Record<string, unknown>): Promise<ApiResponse> {
    const blocked = this.limited(r.client);
    if (blocked) return blocked;
    if (!this.d.credential.isSet()) return fail(409, 'no owner password is set yet: use the setup code from the journal, or run superdist web set-password');
    const pw = body.password;
    let credentialId: string | undefined;
    try {
      credentialId = typeof pw === 'string' && pw.length <= MAX_PASSWORD_LENGTH ? await this.d.credential.verify(pw) : undefined;
    } catch (err) {
      return fail(500, (err as Error).message);
    }
    if (!credentialId) {
      this.limiter.failure(r.client);
      this.d.onEvent?.('web: owner login failed', { client: r.client });
      return fail(401, 'wrong password');
    }
    this.limiter.success(r.client);
    return this.becomeOwner(s, credentialId, r.client);
  }

  private async setup(r: ApiRequest, s: Session, body: Record<string, unknown>): Promise<ApiResponse> {
    if (this.d.credential.isSet()) return fail(409, 'the owner password is already set: log in');
    const blocked = this.limited(r.client);
    if (blocked) return blocked;
    if (!this.d.setupCode.matches(body.code)) {
      this.limiter.failure(r.client);
      return fail(401, 'wrong setup code (it is in the service journal: superdist logs | grep "setup code")');
    }
    const problem = passwordProblem(body.password);
    if (problem) return fail(400, problem);
    this.limiter.success(r.client);
    const cred = await this.d.credential.set(body.password as string);
    this.d.setupCode.consume();
    this.d.onEvent?.('web: owner password set with the setup code', { client: r.client });
    return this.becomeOwner(s, cred.id, r.client);
  }

  /** A fresh session (new token and CSRF token) for the owner; the viewer session ends. */
  private becomeOwner(old: Session, credentialId: string, client: string): ApiResponse {
    this.sessions.destroy(old.token);
    const owner = this.sessions.create('owner', credentialId);
    this.d.onEvent?.('web: owner logged in', { client });
    return { status: 200, body: { role: 'owner', csrf: owner.csrf }, setCookie: sessionCookie(owner.token, this.d.sessionIdleS) };
  }
}
