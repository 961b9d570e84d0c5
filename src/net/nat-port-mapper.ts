// The real PortMapper: UPnP IGD (found by SSDP) first, then NAT-PMP at the default gateway, through
// @achingbrain/nat-port-mapper (the libp2p project's mapper; README "Dependencies and why").
import { readFileSync } from 'node:fs';
import * as dgram from 'node:dgram';
import { pmpNat, upnpNat, type Gateway } from '@achingbrain/nat-port-mapper';
import type { PortMapper, PortMappingLease } from './port-mapping.js';

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

export class RouterPortMapper implements PortMapper {
  private gateway: { gw: Gateway; method: string } | undefined;

  async map(internalPort: number, lifetimeMs: number, timeoutMs: number): Promise<PortMappingLease> {
    const problems: string[] = [];
    const known = this.gateway;
    if (known) {
      // Renewal on the gateway that mapped before; a failure (router rebooted, replaced) searches again.
      try {
        return await this.mapOn(known.gw, known.method, internalPort, lifetimeMs, timeoutMs);
      } catch (err) {
        problems.push(`${known.method}: ${text(err)}`);
        await this.forget();
      }
    }
    const upnp = await this.findUpnp(timeoutMs).catch((err: unknown) => {
      problems.push(`UPnP: ${text(err)}`);
      return undefined;
    });
    if (upnp) {
      try {
        return await this.mapOn(upnp, 'upnp', internalPort, lifetimeMs, timeoutMs);
      } catch (err) {
        problems.push(`UPnP IGD at ${upnp.host}: ${text(err)}`);
        await upnp.stop().catch(() => undefined);
      }
    }
    const router = defaultGateway();
    if (!router) {
      problems.push('NAT-PMP: no default gateway');
    } else {
      const pmp = pmpNat(router, { autoRefresh: false, description: DESCRIPTION });
      try {
        return await this.mapOn(pmp, 'nat-pmp', internalPort, lifetimeMs, timeoutMs);
      } catch (err) {
        problems.push(`NAT-PMP at ${router}: ${text(err)}`);
        await pmp.stop().catch(() => undefined);
      }
    }
    throw new Error(problems.join('; '));
  }

  async unmap(internalPort: number, timeoutMs: number): Promise<void> {
    const g = this.gateway;
    if (!g) return;
    try {
      await g.gw.unmap(internalPort, { signal: AbortSignal.timeout(timeoutMs) });
    } finally {
      await this.forget();
    }
  }

  private async mapOn(gw: Gateway, method: string, internalPort: number, lifetimeMs: number, timeoutMs: number): Promise<PortMappingLease> {
    const internalHost = await localAddressTowards(gw.host);
    const m = await gw.map(internalPort, internalHost, {
      protocol: 'TCP',
      externalPort: internalPort,
      ttl: lifetimeMs,
      autoRefresh: false,
      description: DESCRIPTION,
      signal: AbortSignal.timeout(timeoutMs),
    });
    this.gateway = { gw, method };
    const lease = method === 'upnp' ? Math.max(lifetimeMs, UPNP_MIN_LEASE_MS) : lifetimeMs;
    return { external: { host: m.externalHost, port: m.externalPort }, lifetimeMs: lease, method };
  }

  private async findUpnp(timeoutMs: number): Promise<Gateway | undefined> {
    const client = upnpNat({ autoRefresh: false, description: DESCRIPTION });
    for await (const gw of client.findGateways({ signal: AbortSignal.timeout(timeoutMs) })) {
      if (gw.family === 'IPv4') return gw;
    }
    throw new Error(`no Internet Gateway Device answered within ${timeoutMs} ms`);
  }

  private async forget(): Promise<void> {
    const g = this.gateway;
    this.gateway = undefined;
    await g?.gw.stop().catch(() => undefined);
  }
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
