// Interface roles of a box: the uplink (the default-route interface: Ethernet, a wwan/ppp modem, or
// Wi-Fi as a client) and the local segment (the bridge pan0, a bnep* PAN link, or Wi-Fi as an access
// point or in IBSS/ad-hoc mode). Facts come from systeminformation (addresses, type, operstate,
// default route), /sys/class/net (bridge, wwan, wireless) and `iw dev IF info` (Wi-Fi mode); the
// choice itself is a pure function. Every choice can be overridden by name in the configuration.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { networkProbe } from './sysinfo.js';

export type IfaceKind = 'loopback' | 'ethernet' | 'wifi' | 'wwan' | 'ppp' | 'bridge' | 'bnep' | 'other';
export type WifiMode = 'managed' | 'AP' | 'IBSS' | 'mesh' | 'monitor' | 'unknown';

export interface IfaceFacts {
  name: string;
  kind: IfaceKind;
  /** Wi-Fi only. */
  wifiMode?: WifiMode;
  up: boolean;
  ipv4?: string;
  netmask?: string;
  /** Carries the default route. */
  defaultRoute: boolean;
}

export interface RoleChoice extends IfaceFacts {
  /** Why this interface got the role (shown in logs and status). */
  why: string;
  /** Subnet broadcast address, when the interface has an IPv4 address and mask. */
  broadcast?: string;
}

export interface InterfaceRoles {
  uplink?: RoleChoice;
  segment?: RoleChoice;
}

export interface RoleOverrides {
  /** Interface name forced as the uplink ('' = choose). */
  uplink?: string;
  /** Interface name forced as the local segment ('' = choose). */
  segment?: string;
}

/** Subnet broadcast of an IPv4 address and mask (undefined when either is missing or malformed). */
export function broadcastAddress(ipv4: string | undefined, netmask: string | undefined): string | undefined {
  const parse = (s: string | undefined) => {
    const p = (s ?? '').split('.').map(Number);
    return p.length === 4 && p.every((x) => Number.isInteger(x) && x >= 0 && x <= 255) ? p : undefined;
  };
  const a = parse(ipv4);
  const m = parse(netmask);
  if (!a || !m) return undefined;
  return a.map((x, i) => (x & (m[i] as number)) | (~(m[i] as number) & 255)).join('.');
}

/** A segment-type interface: what nearby devices join (never the uplink). */
function segmentRank(f: IfaceFacts): number {
  if (f.kind === 'bridge' && f.name === 'pan0') return 1;
  if (f.kind === 'wifi' && f.wifiMode === 'AP') return 2;
  if (f.kind === 'wifi' && f.wifiMode === 'IBSS') return 3;
  if (f.kind === 'bridge') return 4;
  if (f.kind === 'bnep') return 5;
  return 0;
}

/** An uplink-type interface, by preference (0 = not one). */
function uplinkRank(f: IfaceFacts): number {
  if (f.kind === 'ethernet') return 1;
  if (f.kind === 'wifi' && (f.wifiMode === 'managed' || f.wifiMode === undefined || f.wifiMode === 'unknown')) return 2;
  if (f.kind === 'wwan') return 3;
  if (f.kind === 'ppp') return 4;
  return 0;
}

function choice(f: IfaceFacts, why: string): RoleChoice {
  const b = broadcastAddress(f.ipv4, f.netmask);
  return { ...f, why, ...(b ? { broadcast: b } : {}) };
}

/** Picks the uplink and the segment among the interfaces' facts. */
export function classifyInterfaces(list: readonly IfaceFacts[], o: RoleOverrides = {}): InterfaceRoles {
  const usable = list.filter((f) => f.kind !== 'loopback');
  const byName = (n: string) => usable.find((f) => f.name === n);
  const out: InterfaceRoles = {};
  if (o.segment) {
    const f = byName(o.segment);
    if (f) out.segment = choice(f, 'configured');
  } else {
    const seg = usable.filter((f) => segmentRank(f) > 0 && f.name !== o.uplink).sort((a, b) => segmentRank(a) - segmentRank(b) || Number(b.up) - Number(a.up))[0];
    if (seg) out.segment = choice(seg, seg.kind === 'wifi' ? `Wi-Fi in ${seg.wifiMode} mode` : seg.kind === 'bnep' ? 'Bluetooth PAN link' : `bridge ${seg.name}`);
  }
  if (o.uplink) {
    const f = byName(o.uplink);
    if (f) out.uplink = choice(f, 'configured');
  } else {
    const notSegment = (f: IfaceFacts) => f.name !== out.segment?.name && segmentRank(f) === 0;
    const dflt = usable.find((f) => f.defaultRoute && notSegment(f));
    const best = dflt ?? usable.filter((f) => f.up && f.ipv4 && uplinkRank(f) > 0 && notSegment(f)).sort((a, b) => uplinkRank(a) - uplinkRank(b))[0];
    if (best) out.uplink = choice(best, dflt ? 'default route' : `first ${best.kind} interface with an address`);
  }
  return out;
}

// ---- probing ------------------------------------------------------------------------------------

function readSys(name: string, file: string): string {
  try {
    return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Wi-Fi mode from `iw dev NAME info` ("type AP", "type IBSS", "type managed"); 'unknown' without iw. */
export function wifiModeOf(iwInfo: string): WifiMode {
  const m = /^\s*type\s+(\S+)/m.exec(iwInfo);
  const t = (m?.[1] ?? '').toLowerCase();
  if (t === 'ap') return 'AP';
  if (t === 'ibss') return 'IBSS';
  if (t === 'managed') return 'managed';
  if (t === 'mesh' || t === 'mesh-point') return 'mesh';
  if (t === 'monitor') return 'monitor';
  return 'unknown';
}

function kindOf(name: string, siType: string): IfaceKind {
  if (name === 'lo') return 'loopback';
  const uevent = readSys(name, 'uevent');
  if (existsSync(`/sys/class/net/${name}/bridge`) || /DEVTYPE=bridge/.test(uevent)) return 'bridge';
  if (name.startsWith('bnep')) return 'bnep';
  if (existsSync(`/sys/class/net/${name}/wireless`) || existsSync(`/sys/class/net/${name}/phy80211`) || /DEVTYPE=wlan/.test(uevent) || siType === 'wireless') return 'wifi';
  if (/DEVTYPE=wwan/.test(uevent) || name.startsWith('wwan')) return 'wwan';
  if (name.startsWith('ppp') || readSys(name, 'type') === '512') return 'ppp';
  if (readSys(name, 'type') === '1' || siType === 'wired') return 'ethernet';
  return 'other';
}

/** Facts about every interface of this machine (systeminformation, /sys, os, iw). */
export async function probeInterfaces(): Promise<IfaceFacts[]> {
  let siList: Array<{ iface: string; ip4: string; ip4subnet: string; operstate: string; type: string; default?: boolean }> = [];
  try {
    const r = await networkProbe().networkInterfaces();
    siList = Array.isArray(r) ? r : [r];
  } catch {
    // fall back to os + /sys only
  }
  const osList = networkInterfaces();
  let names = new Set<string>([...Object.keys(osList), ...siList.map((s) => s.iface)]);
  try {
    names = new Set([...names, ...readdirSync('/sys/class/net')]);
  } catch {
    // not Linux
  }
  const out: IfaceFacts[] = [];
  for (const name of names) {
    const s = siList.find((x) => x.iface === name);
    const v4 = (osList[name] ?? []).find((a) => a.family === 'IPv4');
    const kind = kindOf(name, s?.type ?? '');
    const oper = readSys(name, 'operstate') || s?.operstate || '';
    const facts: IfaceFacts = {
      name,
      kind,
      up: oper === 'up' || (oper === 'unknown' && v4 !== undefined),
      defaultRoute: s?.default === true,
      ...(v4 ? { ipv4: v4.address, netmask: v4.netmask } : s?.ip4 ? { ipv4: s.ip4, netmask: s.ip4subnet } : {}),
    };
    if (kind === 'wifi') {
      const r = spawnSync('iw', ['dev', name, 'info'], { encoding: 'utf8', timeout: 2000 });
      facts.wifiMode = r.status === 0 ? wifiModeOf(r.stdout) : 'unknown';
    }
    out.push(facts);
  }
  if (!out.some((f) => f.defaultRoute)) {
    // systeminformation found no default route (or is missing): read the kernel's table.
    try {
      const line = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).find((l) => l.split(/\s+/)[1] === '00000000');
      const f = out.find((x) => x.name === line?.split(/\s+/)[0]);
      if (f) f.defaultRoute = true;
    } catch {
      // no /proc
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Probes and classifies; never throws (an empty result when nothing could be read). */
export async function detectInterfaceRoles(o: RoleOverrides = {}): Promise<{ roles: InterfaceRoles; interfaces: IfaceFacts[] }> {
  const interfaces = await probeInterfaces().catch(() => [] as IfaceFacts[]);
  return { roles: classifyInterfaces(interfaces, o), interfaces };
}

/** The interface that holds an IPv4 address (to find the mask of a configured segment address). */
export function interfaceWithAddress(list: readonly IfaceFacts[], ipv4: string): IfaceFacts | undefined {
  return list.find((f) => f.ipv4 === ipv4);
}
