// Where the web page listens when web.listen is empty: loopback, the local segment (hotspot, PAN,
// ad-hoc) and the LAN — every up interface with a private or link-local IPv4 address — on web.port.
// The uplink interface is left out when it faces the internet (a modem: wwan/ppp, or a public or
// carrier-grade NAT address), unless web.onUplink; a box whose uplink is the home router's LAN keeps
// the page there, which is how a phone on the home network reaches it.
import type { IfaceFacts, InterfaceRoles } from '../platform/interface-roles.js';

export interface WebAddressChoice {
  host: string;
  port: number;
  /** Interface and why it was chosen (logs and status). */
  iface: string;
  why: string;
}

export function isPrivateIPv4(ip: string): boolean {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return false;
  const [a, b] = p as [number, number, number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

export function chooseWebAddresses(interfaces: readonly IfaceFacts[], roles: InterfaceRoles, port: number, onUplink: boolean): WebAddressChoice[] {
  const out: WebAddressChoice[] = [{ host: '127.0.0.1', port, iface: 'lo', why: 'loopback' }];
  const seen = new Set(['127.0.0.1']);
  const add = (f: IfaceFacts, why: string) => {
    if (!f.ipv4 || seen.has(f.ipv4)) return;
    seen.add(f.ipv4);
    out.push({ host: f.ipv4, port, iface: f.name, why });
  };
  const seg = roles.segment;
  if (seg?.ipv4 && seg.up) add(seg, 'local segment');
  for (const f of interfaces) {
    if (f.kind === 'loopback' || !f.up || !f.ipv4) continue;
    const isUplink = roles.uplink?.name === f.name;
    if (isUplink) {
      const facesInternet = f.kind === 'wwan' || f.kind === 'ppp' || !isPrivateIPv4(f.ipv4);
      if (onUplink) add(f, 'uplink (web.onUplink)');
      else if (!facesInternet) add(f, 'uplink on a private LAN');
      continue;
    }
    if (isPrivateIPv4(f.ipv4)) add(f, 'LAN');
  }
  return out;
}
