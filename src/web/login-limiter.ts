// Rate limiting of owner logins (and setup-code tries): per client address, a few free failures, then
// a lockout that doubles with every further failure; and a cap on failures from everyone together
// per minute, so many addresses cannot share the guessing.
export interface LoginLimiterOptions {
  now: () => number;
  /** Failures a client may make before it is locked out. */
  freeFailures?: number;
  /** First lockout; doubles per further failure, up to maxLockMs. */
  lockMs?: number;
  maxLockMs?: number;
  /** A client's failures are forgotten this long after its last one. */
  forgetMs?: number;
  /** Failures from all clients together per minute before every login waits. */
  globalPerMinute?: number;
  /** Clients remembered at most (oldest forgotten first). */
  maxClients?: number;
}

interface ClientRecord {
  failures: number;
  last: number;
  lockedUntil: number;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterS: number };

export class LoginLimiter {
  private readonly clients = new Map<string, ClientRecord>();
  private globalFailures: number[] = [];
  private readonly free: number;
  private readonly lockMs: number;
  private readonly maxLockMs: number;
  private readonly forgetMs: number;
  private readonly globalPerMinute: number;
  private readonly maxClients: number;

  constructor(private readonly o: LoginLimiterOptions) {
    this.free = o.freeFailures ?? 5;
    this.lockMs = o.lockMs ?? 30_000;
    this.maxLockMs = o.maxLockMs ?? 15 * 60_000;
    this.forgetMs = o.forgetMs ?? 60 * 60_000;
    this.globalPerMinute = o.globalPerMinute ?? 30;
    this.maxClients = o.maxClients ?? 10_000;
  }

  check(client: string): LimitDecision {
    const now = this.o.now();
    this.globalFailures = this.globalFailures.filter((t) => now - t < 60_000);
    if (this.globalFailures.length >= this.globalPerMinute) {
      const oldest = this.globalFailures[0] as number;
      return { allowed: false, retryAfterS: Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000)) };
    }
    const r = this.record(client, now);
    if (r && r.lockedUntil > now) return { allowed: false, retryAfterS: Math.max(1, Math.ceil((r.lockedUntil - now) / 1000)) };
    return { allowed: true };
  }

  failure(client: string): void {
    const now = this.o.now();
    this.globalFailures.push(now);
    const r = this.record(client, now) ?? { failures: 0, last: now, lockedUntil: 0 };
    r.failures++;
    r.last = now;
    if (r.failures >= this.free) r.lockedUntil = now + Math.min(this.maxLockMs, this.lockMs * 2 ** (r.failures - this.free));
    this.clients.delete(client);
    this.clients.set(client, r);
    while (this.clients.size > this.maxClients) this.clients.delete(this.clients.keys().next().value as string);
  }

  success(client: string): void {
    this.clients.delete(client);
  }

  private record(client: string, now: number): ClientRecord | undefined {
    const r = this.clients.get(client);
    if (r && now - r.last > this.forgetMs && r.lockedUntil <= now) {
      this.clients.delete(client);
      return undefined;
    }
    return r;
  }
}
