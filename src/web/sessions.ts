// Browser sessions of the web remote: every visitor gets one (a viewer until the owner logs in), held
// in memory only, named by a random token in an HttpOnly SameSite=Strict cookie, with its own CSRF
// token that state-changing requests must echo in a header.
import { randomBytes, timingSafeEqual } from 'node:crypto';

export type Role = 'owner' | 'viewer';

export interface Session {
  readonly token: string;
  readonly role: Role;
  readonly csrf: string;
  /** The owner credential this session logged in with (a new password ends older sessions). */
  readonly credentialId?: string;
  lastSeen: number;
}

export const SESSION_COOKIE = 'sd_session';

export interface SessionStoreOptions {
  now: () => number;
  /** A session unused for this long is gone. */
  idleMs: number;
  /** Oldest sessions are dropped beyond this many (a phone on a bar's hotspot makes one each). */
  maxSessions?: number;
  random?: (bytes: number) => Buffer;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly random: (bytes: number) => Buffer;
  private readonly max: number;

  constructor(private readonly o: SessionStoreOptions) {
    this.random = o.random ?? randomBytes;
    this.max = o.maxSessions ?? 2000;
  }

  create(role: Role, credentialId?: string): Session {
    const s: Session = {
      token: this.random(32).toString('base64url'),
      role,
      csrf: this.random(24).toString('base64url'),
      ...(credentialId ? { credentialId } : {}),
      lastSeen: this.o.now(),
    };
    this.sessions.set(s.token, s);
    // Over the cap, the least recently used viewer session goes first: a flood of new visitors
    // cannot log the owner out.
    while (this.sessions.size > this.max) {
      let victim: string | undefined;
      for (const [t, x] of this.sessions) {
        if (x.role === 'viewer') {
          victim = t;
          break;
        }
      }
      this.sessions.delete(victim ?? (this.sessions.keys().next().value as string));
    }
    return s;
  }

  /** The live session of a token (and it counts as used now), or undefined. */
  get(token: string | undefined): Session | undefined {
    if (!token) return undefined;
    const s = this.sessions.get(token);
    if (!s) return undefined;
    const now = this.o.now();
    if (now - s.lastSeen > this.o.idleMs) {
      this.sessions.delete(token);
      return undefined;
    }
    s.lastSeen = now;
    // Map order = least recently used first.
    this.sessions.delete(token);
    this.sessions.set(token, s);
    return s;
  }

  destroy(token: string): void {
    this.sessions.delete(token);
  }

  /** Ends owner sessions made with another credential than `credentialId` (the password changed). */
  revokeOwnersExcept(credentialId: string | undefined): number {
    let n = 0;
    for (const [t, s] of this.sessions) {
      if (s.role === 'owner' && s.credentialId !== credentialId) {
        this.sessions.delete(t);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.sessions.size;
  }
}

/** Constant-time comparison of the CSRF token a request sent with its session's. */
export function csrfMatches(sent: string | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The cookie's value from a Cookie header (the last one wins when a name repeats). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) found = part.slice(eq + 1).trim();
  }
  return found;
}

export function sessionCookie(token: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}`;
}
