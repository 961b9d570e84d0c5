// Whether the rights issuer's database is reachable, for the PostgreSQL store. The first failed
// round trip marks it down (logged once, naming the database and the cause); from then on requests
// are refused at once with DrmError 'unavailable' (HTTP 503) instead of each waiting for a connect
// timeout, while a probe retries with exponential backoff and marks it up again (logged with the
// outage's length). Nothing is served from memory meanwhile: the database is the only state.
import { DrmError } from './encoding.js';

/** Errors that mean "cannot talk to the database" rather than "the database refused this". */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'].includes(code)) return true;
  // SQLSTATE class 08 (connection exception), 57P01-57P03 (server shutting down, crashed, starting).
  if (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code)) return true;
  const m = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection error|not queryable/i.test(m);
}

export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] };
  // AggregateError (net's happy eyeballs) carries the real causes.
  const msg = typeof e?.message === 'string' && e.message ? e.message : Array.isArray(e?.errors) && e.errors.length ? String((e.errors[0] as Error).message) : String(err);
  return typeof e?.code === 'string' && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}

export interface DbHealthOptions {
  /** "postgres 10.0.0.5:5432/ri" */
  what: string;
  /** One round trip; resolves when the database answers. */
  probe: () => Promise<void>;
  log: (message: string) => void;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export class DbHealth {
  private downSince: number | undefined;
  private cause = '';
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: DbHealthOptions) {}

  get up(): boolean {
    return this.downSince === undefined;
  }

  /** Throws 'unavailable' while the database is marked down. */
  check(): void {
    if (this.downSince === undefined) return;
    const s = Math.round((Date.now() - this.downSince) / 1000);
    throw new DrmError('unavailable', `the rights issuer's database (${this.o.what}) is unreachable (${this.cause}) since ${s} s; retrying in the background: try again shortly`);
  }

  /** A round trip failed for a connection reason: mark down and start probing. */
  failed(err: unknown): void {
    if (this.closed) return;
    this.cause = describeError(err);
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.attempt = 0;
    this.o.log(`rights issuer database ${this.o.what} unreachable: ${this.cause}; answering 503 and retrying`);
    this.schedule();
  }

  private schedule(): void {
    const min = this.o.minDelayMs ?? 250;
    const delay = Math.min(this.o.maxDelayMs ?? 2000, min * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    this.timer = setTimeout(() => void this.retry(), delay);
  }

  private async retry(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    try {
      await this.o.probe();
    } catch (err) {
      if (this.closed) return;
      this.cause = describeError(err);
      // Every attempt while the delay grows, then one line in ten.
      if (this.attempt <= 4 || this.attempt % 10 === 0) this.o.log(`rights issuer database ${this.o.what} still unreachable (attempt ${this.attempt}): ${this.cause}; retrying`);
      this.schedule();
      return;
    }
    const s = ((Date.now() - (this.downSince ?? Date.now())) / 1000).toFixed(1);
    this.downSince = undefined;
    this.o.log(`rights issuer database ${this.o.what} reachable again after ${s} s; serving`);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
