// Where a main node's local tracker lives on the segment and where LAN announces and queries go,
// from the configuration and the interfaces found (src/platform/interface-roles.ts).
import { parseHostPort } from '../config/address.js';
import type { SegmentConfig } from '../config/segment-config.js';
import type { Contact } from '../protocol/messages.js';
import { broadcastAddress, interfaceWithAddress, type IfaceFacts, type InterfaceRoles } from '../platform/interface-roles.js';

export interface SegmentAddress {
  /** The local tracker's TCP address (the segment side of the main node). */
  contact: Contact;
  /** Interface it is on ('' when unknown). */
  iface: string;
  /** The subnet broadcast address ('' when unknown). */
  broadcast: string;
}

/** The segment address of a main node, or why there is none. */
export function resolveSegmentAddress(c: SegmentConfig, interfaces: readonly IfaceFacts[], roles: InterfaceRoles): SegmentAddress | string {
  let host = '';
  let port = c.trackerPort;
  if (c.address) {
    const withPort = parseHostPort(c.address);
    if (typeof withPort !== 'string') {
      host = withPort.host;
      port = withPort.port || c.trackerPort;
    } else if (/^[0-9.]+$/.test(c.address)) host = c.address;
    else return `segment.address: expected ADDR or ADDR:PORT, got ${JSON.stringify(c.address)}`;
  } else if (roles.segment?.ipv4) {
    host = roles.segment.ipv4;
  } else {
    return roles.segment
      ? `the segment interface ${roles.segment.name} has no IPv4 address yet (bring it up, or give --segment ADDR)`
      : 'no local segment interface found (bridge pan0, bnep*, Wi-Fi in AP/IBSS mode): give --segment ADDR or segment.interface';
  }
  const f = interfaceWithAddress(interfaces, host);
  const broadcast = broadcastAddress(host, f?.netmask) ?? (roles.segment?.ipv4 === host ? roles.segment.broadcast : undefined) ?? '';
  return { contact: { host, port }, iface: f?.name ?? roles.segment?.name ?? '', broadcast };
}

/** Where announces/queries go: the configured targets, else the given broadcast addresses on announcePort. */
export function lanTargets(c: SegmentConfig, broadcasts: readonly string[]): Contact[] | string {
  const out: Contact[] = [];
  for (const t of c.announceTargets) {
    const p = parseHostPort(t);
    if (typeof p === 'string') return `segment.announceTargets: ${p}`;
    out.push(p);
  }
  if (out.length === 0) for (const b of new Set(broadcasts)) if (b) out.push({ host: b, port: c.announcePort });
  if (c.multicastGroup) out.push({ host: c.multicastGroup, port: c.announcePort });
  return out;
}

/** Broadcast addresses of every up, non-loopback IPv4 interface (a local node's discovery targets). */
export function allBroadcasts(interfaces: readonly IfaceFacts[]): string[] {
  return interfaces
    .filter((f) => f.kind !== 'loopback' && f.up && f.ipv4)
    .map((f) => broadcastAddress(f.ipv4, f.netmask))
    .filter((b): b is string => b !== undefined);
}
