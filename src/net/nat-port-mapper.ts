// The real PortMapper: UPnP IGD v2 (found by SSDP) and NAT-PMP at the default gateway through
// @achingbrain/nat-port-mapper (the libp2p project's mapper; README "Dependencies and why"), and
// UPnP IGD v1, which that library does not speak, through upnp-igd1.ts.
import { readFileSync } from 'node:fs';
import * as dgram from 'node:dgram';
import { pmpNat, upnpNat, type Gateway } from '@achingbrain/nat-port-mapper';
import type { PortMapper, PortMappingLease } from './port-mapping.js';
import { Igd1Gateway } from './upnp-igd1.js';

const DESCRIPTION = 'superdist';
/** UPnP leases shorter than an hour are raised to an hour by the library. */
const UPNP_MIN_LEASE_MS = 3_600_000;

/** The IPv4 default gateway from /proc/net/route, or undefined. */
export function defaultGateway(routeTable = '/proc/net/route'): string | undefined {
  let text: string;
  try {
    text = readFileSync(routeTable, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || f[1] !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(f[2] ?? '')) continue;
    const n = parseInt(f[2] as string, 16);
    if (n === 0) continue;
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  return undefined;
}

/** Our own address on the interface that leads to `host` (what the router must forward to). */
async function localAddressTowards(host: string): Promise<string> {
  const s = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(9, host, () => resolve());
    });
    return s.address().address;
  } finally {
    s.close();
  }
}

/** A gateway that mapped for us, whatever its protocol: renewals and the unmap go to it. */
interface KnownGateway {
  method: string;
  map(internalPort: number, lifetimeMs: number, timeoutMs: number): Promise<PortMappingLease>;
  unmap(internalPort: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export class RouterPortMapper implements PortMapper {
  private known: KnownGateway | undefined;

  /** UPnP IGD v2, then IGD v1, then NAT-PMP; the first that maps is kept for renewals. */
  async map(internalPort: number, lifetimeMs: number, timeoutMs: number): Promise<PortMappingLease> {
    const problems: string[] = [];
    const known = this.known;
    if (known) {
      // Renewal on the gateway that mapped before; a failure (router rebooted, replaced) searches again.
      try {
        return await known.map(internalPort, lifetimeMs, timeoutMs);
      } catch (err) {
        problems.push(`${known.method}: ${text(err)}`);
        await this.forget();
      }
    }
    // Both UPnP generations are searched at once (a router without IGD costs one timeout, not two).
    const v2 = findUpnp(timeoutMs).then((g) => libGateway(g, 'upnp'));
    const v1 = Igd1Gateway.find(timeoutMs).then(igd1Gateway);
    v2.catch(() => undefined);
    v1.catch(() => undefined);
    const candidates: Array<[string, () => Promise<KnownGateway>]> = [
      ['UPnP IGD v2', () => v2],
      ['UPnP IGD v1', () => v1],
      ['NAT-PMP', async () => {
        const router = defaultGateway();
        if (!router) throw new Error('no default gateway');
        return libGateway(pmpNat(router, { autoRefresh: false, description: DESCRIPTION }), 'nat-pmp');
      }],
    ];
    for (const [what, open] of candidates) {
      let gw: KnownGateway | undefined;
      try {
        gw = await open();
        const lease = await gw.map(internalPort, lifetimeMs, timeoutMs);
        this.known = gw;
        return lease;
      } catch (err) {
        problems.push(`${what}: ${text(err)}`);
        await gw?.stop().catch(() => undefined);
      }
    }
    throw new Error(problems.join('; '));
  }

  async unmap(internalPort: number, timeoutMs: number): Promise<void> {
    const g = this.known;
    if (!g) return;
    try {
      await g.unmap(internalPort, timeoutMs);
    } finally {
      await this.forget();
    }
  }

  private async forget(): Promise<void> {
    const g = this.known;
    this.known = undefined;
    await g?.stop().catch(() => undefined);
  }
}

async function findUpnp(timeoutMs: number): Promise<Gateway> {
  const client = upnpNat({ autoRefresh: false, description: DESCRIPTION });
  for await (const gw of client.findGateways({ signal: AbortSignal.timeout(timeoutMs) })) {
    if (gw.family === 'IPv4') return gw;
  }
  throw new Error(`no Internet Gateway Device answered within ${timeoutMs} ms`);
}

/** A gateway of @achingbrain/nat-port-mapper (UPnP IGD v2, NAT-PMP). */
function libGateway(gw: Gateway, method: string): KnownGateway {
  return {
    method,
    async map(internalPort, lifetimeMs, timeoutMs) {
      const internalHost = await localAddressTowards(gw.host);
      const m = await gw.map(internalPort, internalHost, {
        protocol: 'TCP',
        externalPort: internalPort,
        ttl: lifetimeMs,
        autoRefresh: false,
        description: DESCRIPTION,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const lease = method === 'upnp' ? Math.max(lifetimeMs, UPNP_MIN_LEASE_MS) : lifetimeMs;
      return { external: { host: m.externalHost, port: m.externalPort }, lifetimeMs: lease, method };
    },
    unmap: (internalPort, timeoutMs) => gw.unmap(internalPort, { signal: AbortSignal.timeout(timeoutMs) }),
    stop: () => gw.stop(),
  };
}

/** Our IGD v1 client (upnp-igd1.ts). */
function igd1Gateway(gw: Igd1Gateway): KnownGateway {
  return {
    method: 'upnp-igd1',
    async map(internalPort, lifetimeMs, timeoutMs) {
      const internalHost = await localAddressTowards(gw.host);
      await gw.map(internalPort, internalHost, Math.round(lifetimeMs / 1000), DESCRIPTION, timeoutMs);
      return { external: { host: await gw.externalIp(timeoutMs), port: internalPort }, lifetimeMs, method: 'upnp-igd1' };
    },
    unmap: (internalPort, timeoutMs) => gw.unmap(internalPort, timeoutMs),
    stop: async () => undefined,
  };
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
