// Configuration files for a real local segment (Debian / Raspberry Pi OS), generated as text:
//   - the bridge pan0 with its address and a DHCP server (systemd-networkd's, or dnsmasq);
//   - hostapd for a Wi-Fi access point in the bridge ("hotspot": what phones join);
//   - wpa_supplicant for Wi-Fi IBSS ("adhoc": box to box) with a static address;
//   - nftables rules: clients on the segment reach only the node's own services, unless routing is
//     on (then they are forwarded and masqueraded through the uplink).
// BlueZ's NAP is registered on pan0 by the superdist-nap unit (bt-network -s nap pan0), which keeps
// the D-Bus registration alive. The settings come from a KEY=VALUE file (/etc/superdist/segment.conf),
// the same file the shell scripts in scripts/segment/ read.

export type WifiMode = 'none' | 'hotspot' | 'adhoc';

export interface SegmentSetup {
  bridge: string;
  /** Address of the node on the segment, CIDR (10.44.0.1/24). */
  address: string;
  dhcp: 'networkd' | 'dnsmasq' | 'none';
  /** First leased host number and how many (within the bridge's subnet). */
  poolOffset: number;
  poolSize: number;
  /** Forward (and masquerade) segment clients to the uplink. Off: they reach only this node. */
  routing: boolean;
  uplink: string;
  wifiMode: WifiMode;
  wifiIface: string;
  ssid: string;
  /** WPA2 passphrase (8..63 characters); '' = an open network. */
  passphrase: string;
  channel: number;
  country: string;
  /** IBSS: the box's own address on the ad-hoc network (CIDR). */
  adhocAddress: string;
}

export const DEFAULT_SEGMENT_SETUP: Readonly<SegmentSetup> = Object.freeze({
  bridge: 'pan0',
  address: '10.44.0.1/24',
  dhcp: 'networkd',
  poolOffset: 10,
  poolSize: 200,
  routing: false,
  uplink: '',
  wifiMode: 'none',
  wifiIface: 'wlan0',
  ssid: 'superdist',
  passphrase: '',
  channel: 6,
  country: 'US',
  adhocAddress: '',
});

const KEYS: Record<string, keyof SegmentSetup> = {
  SEGMENT_BRIDGE: 'bridge',
  SEGMENT_ADDRESS: 'address',
  SEGMENT_DHCP: 'dhcp',
  SEGMENT_POOL_OFFSET: 'poolOffset',
  SEGMENT_POOL_SIZE: 'poolSize',
  SEGMENT_ROUTING: 'routing',
  SEGMENT_UPLINK: 'uplink',
  WIFI_MODE: 'wifiMode',
  WIFI_IFACE: 'wifiIface',
  WIFI_SSID: 'ssid',
  WIFI_PASSPHRASE: 'passphrase',
  WIFI_CHANNEL: 'channel',
  WIFI_COUNTRY: 'country',
  ADHOC_ADDRESS: 'adhocAddress',
};

export class SegmentSetupError extends Error {
  override name = 'SegmentSetupError';
}

function cidr(v: string): { ip: number[]; prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
  if (!m) return undefined;
  const ip = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  return ip.every((x) => x <= 255) && prefix >= 8 && prefix <= 30 ? { ip, prefix } : undefined;
}

/** Parses a KEY=VALUE file (comments, blank lines, optional quotes) into a checked setup. */
export function parseSegmentEnv(text: string): SegmentSetup {
  const s: SegmentSetup = { ...DEFAULT_SEGMENT_SETUP };
  const raw = s as unknown as Record<string, unknown>;
  text.split('\n').forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) return;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(l);
    if (!m) throw new SegmentSetupError(`line ${i + 1}: expected KEY=VALUE, got ${JSON.stringify(l)}`);
    const key = KEYS[m[1] as string];
    if (!key) return; // other keys belong to the scripts
    let v = (m[2] as string).trim();
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1);
    const dflt = DEFAULT_SEGMENT_SETUP[key];
    if (typeof dflt === 'number') {
      if (!/^\d+$/.test(v)) throw new SegmentSetupError(`${m[1]}: expected a number, got ${JSON.stringify(v)}`);
      raw[key] = Number(v);
    } else if (typeof dflt === 'boolean') {
      if (!/^(yes|no|true|false|1|0)$/.test(v)) throw new SegmentSetupError(`${m[1]}: expected yes or no, got ${JSON.stringify(v)}`);
      raw[key] = /^(yes|true|1)$/.test(v);
    } else raw[key] = v;
  });
  return checkSetup(s);
}

/** Validates a setup; throws a SegmentSetupError naming the bad setting. */
export function checkSetup(s: SegmentSetup): SegmentSetup {
  const bad = (what: string) => {
    throw new SegmentSetupError(what);
  };
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(s.bridge)) bad(`SEGMENT_BRIDGE: not an interface name: ${JSON.stringify(s.bridge)}`);
  if (!cidr(s.address)) bad(`SEGMENT_ADDRESS: expected an IPv4 address with a /8../30 prefix, e.g. 10.44.0.1/24, got ${JSON.stringify(s.address)}`);
  if (!['networkd', 'dnsmasq', 'none'].includes(s.dhcp)) bad(`SEGMENT_DHCP: expected networkd, dnsmasq or none, got ${JSON.stringify(s.dhcp)}`);
  if (s.poolSize < 1) bad('SEGMENT_POOL_SIZE: must be at least 1');
  if (s.routing && !s.uplink) bad('SEGMENT_ROUTING=yes needs SEGMENT_UPLINK (the interface to route through)');
  if (!['none', 'hotspot', 'adhoc'].includes(s.wifiMode)) bad(`WIFI_MODE: expected none, hotspot or adhoc, got ${JSON.stringify(s.wifiMode)}`);
  if (s.wifiMode !== 'none') {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(s.wifiIface)) bad(`WIFI_IFACE: not an interface name: ${JSON.stringify(s.wifiIface)}`);
    const ssidBytes = Buffer.byteLength(s.ssid);
    if (ssidBytes < 1 || ssidBytes > 32 || /["\n]/.test(s.ssid)) bad('WIFI_SSID: 1..32 bytes, no quotes or newlines');
    if (s.passphrase && (s.passphrase.length < 8 || s.passphrase.length > 63 || /["\n]/.test(s.passphrase))) bad('WIFI_PASSPHRASE: 8..63 characters (or empty for an open network), no quotes');
    if (!(s.channel >= 1 && s.channel <= 13)) bad(`WIFI_CHANNEL: 1..13 (2.4 GHz), got ${s.channel}`);
    if (!/^[A-Z]{2}$/.test(s.country)) bad(`WIFI_COUNTRY: a two-letter country code, got ${JSON.stringify(s.country)}`);
  }
  if (s.wifiMode === 'adhoc' && !cidr(s.adhocAddress)) bad(`ADHOC_ADDRESS: the box's address on the ad-hoc network (CIDR), got ${JSON.stringify(s.adhocAddress)}`);
  return s;
}

function subnet(c: string): { network: string; mask: string; host: (n: number) => string } {
  const { ip, prefix } = cidr(c) as { ip: number[]; prefix: number };
  const maskBits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const mask = [24, 16, 8, 0].map((sh) => (maskBits >>> sh) & 255);
  const net = ip.map((x, i) => x & (mask[i] as number));
  const base = ((net[0] as number) << 24 >>> 0) + ((net[1] as number) << 16) + ((net[2] as number) << 8) + (net[3] as number);
  const host = (n: number) => [24, 16, 8, 0].map((sh) => ((base + n) >>> sh) & 255).join('.');
  return { network: `${net.join('.')}/${prefix}`, mask: mask.join('.'), host };
}

/** systemd-networkd: the bridge device. */
export function networkdNetdev(s: SegmentSetup): string {
  return ['# superdist local segment: the bridge Bluetooth PAN clients and the Wi-Fi access point join.', '[NetDev]', `Name=${s.bridge}`, 'Kind=bridge', '', '[Bridge]', 'STP=no', ''].join('\n');
}

/** systemd-networkd: the bridge's address and (optionally) its DHCP server. */
export function networkdNetwork(s: SegmentSetup): string {
  const lines = ['# superdist local segment: address and DHCP of the bridge.', '[Match]', `Name=${s.bridge}`, '', '[Network]', `Address=${s.address}`, 'ConfigureWithoutCarrier=yes', 'LinkLocalAddressing=no', 'IPv6AcceptRA=no'];
  if (s.dhcp === 'networkd') lines.push('DHCPServer=yes');
  lines.push('', '[Link]', 'RequiredForOnline=no');
  if (s.dhcp === 'networkd') {
    lines.push('', '[DHCPServer]', `PoolOffset=${s.poolOffset}`, `PoolSize=${s.poolSize}`, 'DefaultLeaseTimeSec=3600');
    // Without routing, clients get no gateway and no DNS: they reach only this node's services.
    lines.push(`EmitRouter=${s.routing ? 'yes' : 'no'}`, `EmitDNS=${s.routing ? 'yes' : 'no'}`, 'EmitNTP=no');
  }
  return `${lines.join('\n')}\n`;
}

/** dnsmasq as the DHCP server instead (DNS off: port=0). */
export function dnsmasqConf(s: SegmentSetup): string {
  const n = subnet(s.address);
  const own = s.address.split('/')[0] as string;
  return [
    '# superdist local segment: DHCP for Bluetooth PAN and Wi-Fi clients (no DNS).',
    `interface=${s.bridge}`,
    'bind-dynamic',
    'except-interface=lo',
    'port=0',
    `dhcp-range=${n.host(s.poolOffset)},${n.host(s.poolOffset + s.poolSize - 1)},${n.mask},1h`,
    s.routing ? `dhcp-option=option:router,${own}` : 'dhcp-option=option:router',
    s.routing ? `dhcp-option=option:dns-server,${own}` : 'dhcp-option=option:dns-server',
    'dhcp-authoritative',
    'dhcp-leasefile=/run/superdist-segment/dnsmasq.leases',
    '',
  ].join('\n');
}

/** hostapd: the Wi-Fi access point, bridged into the segment. */
export function hostapdConf(s: SegmentSetup): string {
  const lines = [
    '# superdist hotspot: phones and boxes join the local segment over Wi-Fi.',
    `interface=${s.wifiIface}`,
    `bridge=${s.bridge}`,
    'driver=nl80211',
    `ssid=${s.ssid}`,
    'utf8_ssid=1',
    `country_code=${s.country}`,
    'ieee80211d=1',
    'hw_mode=g',
    `channel=${s.channel}`,
    'ieee80211n=1',
    'wmm_enabled=1',
    'auth_algs=1',
    'ignore_broadcast_ssid=0',
    // Clients must reach each other: local nodes exchange chunks among themselves.
    'ap_isolate=0',
    'max_num_sta=32',
  ];
  if (s.passphrase) lines.push('wpa=2', 'wpa_key_mgmt=WPA-PSK', 'rsn_pairwise=CCMP', `wpa_passphrase=${s.passphrase}`);
  return `${lines.join('\n')}\n`;
}

/** wpa_supplicant: Wi-Fi IBSS (ad hoc, box to box); open or RSN with a passphrase. */
export function adhocWpaSupplicantConf(s: SegmentSetup): string {
  const freq = 2407 + 5 * s.channel;
  const net = ['network={', `\tssid="${s.ssid}"`, '\tmode=1', `\tfrequency=${freq}`];
  if (s.passphrase) net.push('\tkey_mgmt=WPA-PSK', '\tproto=RSN', '\tpairwise=CCMP', '\tgroup=CCMP', `\tpsk="${s.passphrase}"`);
  else net.push('\tkey_mgmt=NONE');
  net.push('}');
  return ['# superdist ad hoc segment (IBSS): boxes meet without an access point.', 'ctrl_interface=DIR=/run/wpa_supplicant', `country=${s.country}`, 'ap_scan=2', '', ...net, ''].join('\n');
}

/** systemd-networkd: the IBSS interface's static address (it is its own segment; no bridge). */
export function adhocNetwork(s: SegmentSetup): string {
  return ['# superdist ad hoc segment: static address on the IBSS interface.', '[Match]', `Name=${s.wifiIface}`, '', '[Network]', `Address=${s.adhocAddress}`, 'LinkLocalAddressing=no', '', '[Link]', 'RequiredForOnline=no', ''].join('\n');
}

/** nftables: no forwarding for segment clients (or forwarding + masquerade with routing on). */
export function nftablesRules(s: SegmentSetup): string {
  const n = subnet(s.address);
  const segs = s.wifiMode === 'adhoc' ? `{ "${s.bridge}", "${s.wifiIface}" }` : `"${s.bridge}"`;
  const lines = ['#!/usr/sbin/nft -f', '# superdist local segment: what clients on the segment may reach.', 'table inet superdist_segment', 'delete table inet superdist_segment', 'table inet superdist_segment {', '\tchain forward {', '\t\ttype filter hook forward priority filter; policy accept;'];
  if (s.routing) {
    lines.push(`\t\tiifname ${segs} oifname "${s.uplink}" accept`, `\t\tiifname "${s.uplink}" oifname ${segs} ct state established,related accept`, `\t\tiifname ${segs} drop`, `\t\toifname ${segs} drop`, '\t}');
    lines.push('\tchain postrouting {', '\t\ttype nat hook postrouting priority srcnat; policy accept;', `\t\toifname "${s.uplink}" ip saddr ${n.network} masquerade`, '\t}');
  } else {
    // Clients reach this node (input) but nothing through it.
    lines.push(`\t\tiifname ${segs} drop`, `\t\toifname ${segs} drop`, '\t}');
  }
  lines.push('}', '');
  return lines.join('\n');
}

/** Every file for a setup, by the name the scripts install it under (in /run/superdist-segment). */
export function renderSegmentFiles(s: SegmentSetup): Record<string, string> {
  const files: Record<string, string> = {
    [`50-superdist-${s.bridge}.netdev`]: networkdNetdev(s),
    [`50-superdist-${s.bridge}.network`]: networkdNetwork(s),
    'superdist-segment.nft': nftablesRules(s),
  };
  if (s.dhcp === 'dnsmasq') files['dnsmasq.conf'] = dnsmasqConf(s);
  if (s.wifiMode === 'hotspot') files[`hostapd-${s.wifiIface}.conf`] = hostapdConf(s);
  if (s.wifiMode === 'adhoc') {
    files[`wpa_supplicant-adhoc-${s.wifiIface}.conf`] = adhocWpaSupplicantConf(s);
    files[`50-superdist-adhoc-${s.wifiIface}.network`] = adhocNetwork(s);
  }
  return files;
}
