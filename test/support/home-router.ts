// Home routers in a network-namespace lab (root only), shared by the nat-home-routers integration
// test and the nat-swarm benchmark. A router `r<i>` has its WAN (`wan`) on the lab's "internet"
// bridge and a LAN 192.168.<i>.0/24 (`lan`) with one box `b<i>` at 192.168.<i>.2; it masquerades out
// of the WAN with nftables and forwards nothing unsolicited inwards. With `upnp` it runs the real
// miniupnpd (IGD v2, or forced to describe itself as IGD v1; NAT-PMP too) filling chains of its own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsLab } from './netns.js';

export type Igd = 'v1' | 'v2';

/** Whether the tools a home-router lab needs are installed (nft; miniupnpd and upnpc for IGD routers). */
export function homeRouterToolsPresent(withUpnp: boolean): boolean {
  const have = (cmd: string, arg: string) => spawnSync(cmd, [arg], { encoding: 'utf8' }).error === undefined;
  return have('nft', '--version') && (!withUpnp || (have('miniupnpd', '--version') && have('upnpc', '-h')));
}

/** Runs a command inside a lab namespace and returns its stdout; throws naming the command when it fails. */
export function inNs(lab: NetnsLab, ns: string, args: string[]): string {
  const r = spawnSync('ip', ['netns', 'exec', lab.ns(ns), ...args], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) throw new Error(`${args[0]} in ${ns}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${args.join(' ')} in ${ns} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * The home router's rules: masquerade out of the WAN, nothing unsolicited in (nft 1.0 syntax). Its
 * own WAN side answers nothing either (no RST: a dropped SYN leaves no conntrack entry that would
 * make masquerade move a punching box's port).
 */
export function routerRules(withUpnp: boolean, symmetric = false): string {
  // symmetric: a new random source port per connection (so per destination), as symmetric NATs
  // do; a punch then dials from a port nobody was told about and fails.
  const masquerade = symmetric ? 'masquerade random,fully-random' : 'masquerade';
  const base = [
    'table ip nat {',
    `  chain postrouting { type nat hook postrouting priority 100; policy accept; oifname "wan" ${masquerade}; }`,
    '}',
    'table ip filter {',
    '  chain input { type filter hook input priority 0; policy drop; iifname "lo" accept; iifname "lan" accept; ct state established,related accept; }',
    '  chain forward {',
    '    type filter hook forward priority 0; policy drop;',
    '    iifname "lan" oifname "wan" accept;',
    '    iifname "wan" oifname "lan" ct state established,related accept;',
    // Port forwards (here only miniupnpd's) are DNATed in prerouting: let those in, nothing else.
    ...(withUpnp ? ['    iifname "wan" oifname "lan" ct status dnat accept;'] : []),
    '  }',
    '}',
  ];
  if (!withUpnp) return base.join('\n') + '\n';
  // miniupnpd (nftables backend) fills chains it is told about in miniupnpd.conf.
  return [
    ...base,
    'table inet sdupnp {',
    '  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }',
    '  chain miniupnpd { }',
    '  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }',
    '  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }',
    '  chain prerouting_miniupnpd { }',
    '  chain postrouting_miniupnpd { }',
    '}',
  ].join('\n') + '\n';
}

/**
 * miniupnpd refuses to map when its external address is private or reserved (100.64/10 is): ext_ip
 * names a public-looking one. It is only what the router reports; the box tests what the tracker
 * sees (the router's WAN address) with the mapped port.
 */
export const miniupnpdConf = (i: number, igd: Igd) => [
  'ext_ifname=wan',
  'listening_ip=lan',
  `ext_ip=11.0.0.${10 + i}`,
  `force_igd_desc_v1=${igd === 'v1' ? 'yes' : 'no'}`,
  'enable_upnp=yes',
  'enable_natpmp=yes',
  'secure_mode=yes',
  'system_uptime=yes',
  `uuid=3e2f1a5c-5d7b-4c1e-9a6b-2f0c5d9e8a${String(10 + i).padStart(2, '0')}`,
  'upnp_table_name=sdupnp',
  'upnp_nat_table_name=sdupnp',
  'upnp_nat_chain=prerouting_miniupnpd',
  'upnp_forward_chain=miniupnpd',
  'upnp_nat_postrouting_chain=postrouting_miniupnpd',
  `allow 1024-65535 192.168.${i}.0/24 1024-65535`,
  'deny 0-65535 0.0.0.0/0 0-65535',
  '',
].join('\n');

export interface HomeRouterOptions {
  /** Router number: namespaces r<i> and b<i>, LAN 192.168.<i>.0/24. */
  i: number;
  /** WAN address with prefix on the internet bridge, e.g. 100.64.0.11/24. */
  wanCidr: string;
  /** Namespace holding the internet bridge, the bridge, and the name of the router's port on it. */
  inetNs: string;
  bridge: string;
  port: string;
  /** IGD offered by the router (miniupnpd must then be started with startMiniupnpd). */
  upnp?: Igd | undefined;
  /** The home uplink: the router's WAN egress shaped with tc tbf (rate e.g. '1200kbit'). */
  uplinkRate?: string | undefined;
  /** Masquerade with a random source port per connection (a symmetric NAT: punches fail). */
  symmetric?: boolean | undefined;
  /** Where rule files go. */
  dir: string;
}

/** Router r<i> and box namespace b<i> behind it (box at 192.168.<i>.2, default route via the router). */
export function addHomeRouter(lab: NetnsLab, o: HomeRouterOptions): void {
  const { i } = o;
  lab.addNamespace(`r${i}`);
  lab.addNamespace(`b${i}`);
  lab.link({ ns: `r${i}`, dev: 'wan', cidr: o.wanCidr }, { ns: o.inetNs, dev: o.port, bridge: o.bridge });
  lab.link({ ns: `b${i}`, dev: 'eth0', cidr: `192.168.${i}.2/24` }, { ns: `r${i}`, dev: 'lan' });
  inNs(lab, `r${i}`, ['ip', 'addr', 'add', `192.168.${i}.1/24`, 'dev', 'lan']);
  inNs(lab, `r${i}`, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  lab.defaultRoute(`b${i}`, `192.168.${i}.1`);
  const rules = join(o.dir, `r${i}.nft`);
  writeFileSync(rules, routerRules(o.upnp !== undefined, o.symmetric === true));
  inNs(lab, `r${i}`, ['nft', '-f', rules]);
  if (o.uplinkRate) lab.shape(`r${i}`, 'wan', { rate: o.uplinkRate, burst: '16kb', latency: '400ms' });
}

/** Starts miniupnpd on router r<i> and resolves once it listens. The caller kills it (SIGTERM). */
export async function startMiniupnpd(lab: NetnsLab, dir: string, i: number, igd: Igd): Promise<ChildProcess> {
  const conf = join(dir, `miniupnpd-r${i}.conf`);
  writeFileSync(conf, miniupnpdConf(i, igd));
  let log = '';
  const m = spawn('ip', ['netns', 'exec', lab.ns(`r${i}`), 'miniupnpd', '-f', conf, '-P', join(dir, `miniupnpd-r${i}.pid`), '-d'], { stdio: ['ignore', 'pipe', 'pipe'] });
  m.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  m.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  const end = Date.now() + 10_000;
  while (!/Listening for NAT-PMP/.test(log)) {
    if (m.exitCode !== null) throw new Error(`miniupnpd on r${i} exited (${m.exitCode}): ${log.trim()}`);
    if (Date.now() > end) throw new Error(`miniupnpd on r${i} did not listen within 10 s: ${log.trim()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return m;
}

/** What router i's miniupnpd forwards right now (its nftables DNAT chain). */
export const upnpRules = (lab: NetnsLab, i: number) => inNs(lab, `r${i}`, ['nft', 'list', 'chain', 'inet', 'sdupnp', 'prerouting_miniupnpd']);
/** The IGD's own port-mapping table, asked from box i's LAN like any UPnP client. */
export const upnpList = (lab: NetnsLab, i: number) => inNs(lab, `b${i}`, ['upnpc', '-l']);
