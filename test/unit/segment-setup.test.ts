// Segment setup for real devices, as text: the bridge pan0 with its address and DHCP (networkd or
// dnsmasq), hostapd for the hotspot, wpa_supplicant for IBSS, nftables isolation (or routing), the
// settings file and its errors; the helper units pass `systemd-analyze verify`; the scripts parse.
// The nftables rules also run in a real kernel with real packets: segment-nftables.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  adhocWpaSupplicantConf, DEFAULT_SEGMENT_SETUP, dnsmasqConf, hostapdConf, networkdNetdev, networkdNetwork, nftablesRules, parseSegmentEnv, renderSegmentFiles,
} from '../../src/platform/segment-configs.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const base = { ...DEFAULT_SEGMENT_SETUP };

describe('generated segment configuration', () => {
  it('bridge pan0 with address and networkd DHCP: no gateway, no DNS (clients reach only the node)', () => {
    expect(networkdNetdev(base)).toBe('# superdist local segment: the bridge Bluetooth PAN clients and the Wi-Fi access point join.\n[NetDev]\nName=pan0\nKind=bridge\n\n[Bridge]\nSTP=no\n');
    const net = networkdNetwork(base);
    expect(net).toContain('[Match]\nName=pan0\n');
    expect(net).toContain('Address=10.44.0.1/24\n');
    expect(net).toContain('DHCPServer=yes\n');
    expect(net).toContain('[DHCPServer]\nPoolOffset=10\nPoolSize=200\nDefaultLeaseTimeSec=3600\nEmitRouter=no\nEmitDNS=no\nEmitNTP=no\n');
    expect(networkdNetwork({ ...base, routing: true, uplink: 'eth0' })).toContain('EmitRouter=yes\nEmitDNS=yes\n');
    expect(networkdNetwork({ ...base, dhcp: 'dnsmasq' })).not.toContain('DHCPServer');
  });

  it('dnsmasq leases the pool without DNS or a router', () => {
    const text = dnsmasqConf({ ...base, dhcp: 'dnsmasq', address: '192.168.77.1/24', poolOffset: 100, poolSize: 50 });
    expect(text.split('\n')).toEqual(expect.arrayContaining(['interface=pan0', 'port=0', 'dhcp-range=192.168.77.100,192.168.77.149,255.255.255.0,1h', 'dhcp-option=option:router', 'dhcp-option=option:dns-server']));
  });

  it('hostapd: a WPA2 (or open) access point bridged into pan0, clients may talk to each other', () => {
    const wpa = hostapdConf({ ...base, wifiMode: 'hotspot', ssid: 'bar-tv', passphrase: 'correct horse', channel: 11, country: 'DE' });
    expect(wpa.split('\n')).toEqual(expect.arrayContaining(['interface=wlan0', 'bridge=pan0', 'driver=nl80211', 'ssid=bar-tv', 'channel=11', 'country_code=DE', 'ap_isolate=0', 'wpa=2', 'wpa_key_mgmt=WPA-PSK', 'rsn_pairwise=CCMP', 'wpa_passphrase=correct horse']));
    expect(hostapdConf({ ...base, wifiMode: 'hotspot' })).not.toContain('wpa=');
  });

  it('IBSS: wpa_supplicant ad hoc network on the channel frequency, open or RSN', () => {
    const open = adhocWpaSupplicantConf({ ...base, wifiMode: 'adhoc', ssid: 'boxes', channel: 6 });
    expect(open).toContain('ap_scan=2\n');
    expect(open).toContain('network={\n\tssid="boxes"\n\tmode=1\n\tfrequency=2437\n\tkey_mgmt=NONE\n}\n');
    expect(adhocWpaSupplicantConf({ ...base, ssid: 'boxes', channel: 1, passphrase: 'sesame-open' })).toContain('\tfrequency=2412\n\tkey_mgmt=WPA-PSK\n\tproto=RSN\n');
  });

  it('nftables: segment clients reach only the node, unless routing masquerades them', () => {
    const iso = nftablesRules(base);
    expect(iso).toContain('\t\tiifname "pan0" drop\n\t\toifname "pan0" drop\n');
    expect(iso).not.toContain('masquerade');
    const routed = nftablesRules({ ...base, routing: true, uplink: 'wwan0' });
    expect(routed).toContain('iifname "pan0" oifname "wwan0" accept');
    expect(routed).toContain('oifname "wwan0" ip saddr 10.44.0.0/24 masquerade');
  });

  it('reads the settings file, renders the file set of each mode, and names bad settings', () => {
    const example = readFileSync(join(repo, 'scripts/segment/segment.conf.example'), 'utf8');
    expect(parseSegmentEnv(example)).toEqual(DEFAULT_SEGMENT_SETUP);
    expect(Object.keys(renderSegmentFiles(parseSegmentEnv(example))).sort()).toEqual(['50-superdist-pan0.netdev', '50-superdist-pan0.network', 'superdist-segment.nft']);
    const hotspot = parseSegmentEnv('WIFI_MODE=hotspot\nWIFI_PASSPHRASE="a long secret"\nSEGMENT_DHCP=dnsmasq\n');
    expect(Object.keys(renderSegmentFiles(hotspot)).sort()).toEqual(['50-superdist-pan0.netdev', '50-superdist-pan0.network', 'dnsmasq.conf', 'hostapd-wlan0.conf', 'superdist-segment.nft']);
    const adhoc = parseSegmentEnv('WIFI_MODE=adhoc\nADHOC_ADDRESS=10.45.3.7/16\n');
    expect(renderSegmentFiles(adhoc)['50-superdist-adhoc-wlan0.network']).toContain('Address=10.45.3.7/16');
    expect(() => parseSegmentEnv('SEGMENT_ADDRESS=10.44.0.1\n')).toThrow(/SEGMENT_ADDRESS: expected an IPv4 address with a \/8..\/30 prefix/);
    expect(() => parseSegmentEnv('WIFI_MODE=hotspot\nWIFI_PASSPHRASE=short\n')).toThrow(/WIFI_PASSPHRASE/);
    expect(() => parseSegmentEnv('SEGMENT_ROUTING=yes\n')).toThrow(/SEGMENT_UPLINK/);
    expect(() => parseSegmentEnv('WIFI_MODE=adhoc\n')).toThrow(/ADHOC_ADDRESS/);
    expect(() => parseSegmentEnv('SEGMENT_POOL_SIZE=lots\n')).toThrow(/SEGMENT_POOL_SIZE: expected a number/);
    expect(() => parseSegmentEnv('this is not a setting\n')).toThrow(/line 1/);
  });
});

describe('segment units and scripts', () => {
  it('the helper units pass systemd-analyze verify (tools absent here replaced by /bin/true)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-seg-units-'));
    const tool = (p: string) => (existsSync(p) ? p : '/bin/true');
    const units: Array<[string, string]> = [
      ['superdist-segment.service', 'superdist-segment.service'],
      ['superdist-nap.service', 'superdist-nap.service'],
      ['superdist-hotspot@.service', 'superdist-hotspot@wlan0.service'],
      ['superdist-adhoc@.service', 'superdist-adhoc@wlan0.service'],
      ['superdist.service', 'superdist.service'],
    ];
    const files = units.map(([src, dst]) => {
      const text = readFileSync(join(repo, 'systemd', src), 'utf8')
        .replaceAll('/usr/lib/superdist/', `${repo}/scripts/segment/`)
        .replaceAll('/usr/sbin/hostapd', tool('/usr/sbin/hostapd'))
        .replaceAll('/usr/bin/bt-network', tool('/usr/bin/bt-network'));
      writeFileSync(join(dir, dst), text);
      return join(dir, dst);
    });
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !/bluetooth\.service|sys-subsystem-net-devices/.test(l));
    expect({ code: r.status === 0 || out.length === 0 ? 0 : r.status, out }).toEqual({ code: 0, out: [] });
  });

  it('the scripts are valid bash', () => {
    for (const s of ['segment-up', 'segment-down', 'segment-adhoc']) {
      const r = spawnSync('bash', ['-n', join(repo, 'scripts/segment', s)], { encoding: 'utf8' });
      expect(r.status, `${s}: ${r.stderr}`).toBe(0);
    }
  });
});
