// Port mapping on the home router (docs/nat.md): the listen port is mapped on start, renewed before
// its lease runs out, re-mapped when the reachability test finds the mapping gone (router reboot),
// and removed on shutdown. The router protocols (UPnP IGD, NAT-PMP) hide behind PortMapper
// (src/net/nat-port-mapper.ts is the real one), so this policy is tested with a fake.
import type { Contact } from '../protocol/messages.js';

/** What a router gave us for our listen port. */
export interface PortMappingLease {
  /** The address others dial: the router's external address and the mapped port. */
  external: Contact;
  /** How long the router keeps the mapping (ms). */
  lifetimeMs: number;
  /** Which protocol made it ('upnp', 'nat-pmp'). */
  method: string;
}

/** The router side, one implementation per protocol family (or a fake in tests). */
export interface PortMapper {
  /**
   * Maps TCP `internalPort` on the gateway for about `lifetimeMs`. Rejects with an Error naming the
   * problem (no gateway found, refused, garbage answer) — within `timeoutMs`.
   */
  map(internalPort: number, lifetimeMs: number, timeoutMs: number): Promise<PortMappingLease>;
  /** Removes the mapping (best effort, within `timeoutMs`). */
  unmap(internalPort: number, timeoutMs: number): Promise<void>;
}

export type PortMappingState = 'off' | 'mapping' | 'mapped' | 'failed';

export interface PortMappingStatus {
  state: PortMappingState;
  /** host:port others can dial, while mapped. */
  external: string | null;
  method: string | null;
  /** Why the last attempt failed (null when it did not). */
  error: string | null;
  /** Successful maps and renewals. */
  maps: number;
  failures: number;
}

export interface PortMappingOptions {
  mapper: PortMapper;
  internalPort: number;
  /** Lease asked for (ms). */
  lifetimeMs?: number;
  /** Longest a router may take to answer (ms). */
  timeoutMs?: number;
  /** After a failure, try again this long later (ms). */
  retryMs?: number;
  /** A mapping was made or renewed (its external contact may have changed) or lost. */
  onChange: (external: Contact | undefined) => void;
  warn: (code: string, message: string) => void;
  info?: (message: string) => void;
}

export const PORT_MAPPING_DEFAULTS = { lifetimeMs: 3_600_000, timeoutMs: 5_000, retryMs: 300_000 } as const;
/** A lease is renewed when this fraction of it is left. */
const RENEW_AT_FRACTION = 0.5;

export class PortMappingKeeper {
  private state: PortMappingState = 'mapping';
  private lease: PortMappingLease | undefined;
  private error: string | null = null;
  private maps = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private readonly lifetimeMs: number;
  private readonly timeoutMs: number;
  private readonly retryMs: number;

  constructor(private readonly opts: PortMappingOptions) {
    this.lifetimeMs = opts.lifetimeMs ?? PORT_MAPPING_DEFAULTS.lifetimeMs;
    this.timeoutMs = opts.timeoutMs ?? PORT_MAPPING_DEFAULTS.timeoutMs;
    this.retryMs = opts.retryMs ?? PORT_MAPPING_DEFAULTS.retryMs;
  }

  /** The external contact while a mapping holds. */
  get external(): Contact | undefined {
    return this.lease ? { ...this.lease.external } : undefined;
  }

  status(): PortMappingStatus {
    const l = this.lease;
    return {
      state: this.state,
      external: l ? `${l.external.host}:${l.external.port}` : null,
      method: l?.method ?? null,
      error: this.error,
      maps: this.maps,
      failures: this.failures,
    };
  }

  /** Maps now (start, renewal, or the mapping was found gone); resolves when the attempt is over. */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.inFlight ??= this.attempt().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops renewing and removes the mapping from the router. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
    if (!this.lease) return;
    this.lease = undefined;
    try {
      await this.opts.mapper.unmap(this.opts.internalPort, this.timeoutMs);
      this.opts.info?.(`port mapping of ${this.opts.internalPort} removed from the router`);
    } catch (err) {
      this.opts.warn('port-unmap-failed', `could not remove the port mapping of ${this.opts.internalPort}: ${errorText(err)} (it lapses with its lease)`);
    }
  }

  private async attempt(): Promise<void> {
    clearTimeout(this.timer);
    const before = this.lease?.external;
    let lease: PortMappingLease;
    try {
      // The mapper searches UPnP (v2 and v1 at once), then asks NAT-PMP, each step within timeoutMs.
      lease = checkLease(await withTimeout(this.opts.mapper.map(this.opts.internalPort, this.lifetimeMs, this.timeoutMs), this.timeoutMs * 4));
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      const repeated = this.error === errorText(err);
      this.error = errorText(err);
      this.state = 'failed';
      const had = this.lease !== undefined;
      this.lease = undefined;
      const line = `the router did not map port ${this.opts.internalPort}: ${this.error}; retrying every ${Math.round(this.retryMs / 1000)} s`;
      // The same refusal again (a router without IGD stays so) is not worth a warning each time.
      if (!repeated) this.opts.warn('port-mapping-failed', line);
      else this.opts.info?.(line);
      if (had) this.opts.onChange(undefined);
      this.schedule(this.retryMs);
      return;
    }
    if (this.stopped) return;
    this.maps++;
    this.lease = lease;
    this.error = null;
    this.state = 'mapped';
    const changed = !before || before.host !== lease.external.host || before.port !== lease.external.port;
    if (changed) {
      this.opts.info?.(`port ${this.opts.internalPort} mapped to ${lease.external.host}:${lease.external.port} by ${lease.method} for ${Math.round(lease.lifetimeMs / 1000)} s`);
      this.opts.onChange({ ...lease.external });
    }
    this.schedule(Math.max(1_000, lease.lifetimeMs * RENEW_AT_FRACTION));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh(), ms);
    this.timer.unref();
  }
}

/** Rejects a lease no one could dial (garbage from the router). */
function checkLease(l: PortMappingLease): PortMappingLease {
  const host = l?.external?.host;
  const port = l?.external?.port;
  if (typeof host !== 'string' || !/^[0-9a-fA-F.:]+$/.test(host) || host === '0.0.0.0' || host === '') {
    throw new Error(`the router answered an unusable external address ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`the router answered an unusable external port ${JSON.stringify(port)}`);
  const lifetimeMs = Number.isFinite(l.lifetimeMs) && l.lifetimeMs > 0 ? l.lifetimeMs : PORT_MAPPING_DEFAULTS.lifetimeMs;
  return { external: { host, port }, lifetimeMs, method: String(l.method ?? 'unknown') };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the router within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
