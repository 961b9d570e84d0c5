// Interface roles: which interface is the uplink and which the local segment, from interface facts;
// overrides by name; the segment address and the LAN targets a main/local node derives from them.
import { describe, expect, it } from 'vitest';
import { segmentConfigSchema } from '../../src/config/segment-config.js';
import { broadcastAddress, classifyInterfaces, probeInterfaces, wifiModeOf, type IfaceFacts } from '../../src/platform/interface-roles.js';
import { allBroadcasts, lanTargets, resolveSegmentAddress } from '../../src/segment/segment-address.js';

const f = (name: string, kind: IfaceFacts['kind'], extra: Partial<IfaceFacts> = {}): IfaceFacts => ({ name, kind, up: true, defaultRoute: false, ...extra });

describe('interface roles', () => {
  it('Ethernet uplink with a PAN bridge: pan0 is the segment, the default route the uplink', () => {
    const r = classifyInterfaces([
      f('lo', 'loopback', { ipv4: '127.0.0.1', netmask: '255.0.0.0' }),
      f('eth0', 'ethernet', { ipv4: '192.168.1.20', netmask: '255.255.255.0', defaultRoute: true }),
      f('pan0', 'bridge', { ipv4: '10.44.0.1', netmask: '255.255.255.0' }),
      f('bnep0', 'bnep'),
    ]);
    expect(r.uplink).toMatchObject({ name: 'eth0', why: 'default route', broadcast: '192.168.1.255' });
    expect(r.segment).toMatchObject({ name: 'pan0', why: 'bridge pan0', broadcast: '10.44.0.255' });
  });

  it('LTE modem uplink with a Wi-Fi hotspot; Wi-Fi client uplink with an IBSS segment', () => {
    const hotspot = classifyInterfaces([
      f('wwan0', 'wwan', { ipv4: '100.64.3.9', netmask: '255.255.255.252', defaultRoute: true }),
      f('wlan0', 'wifi', { wifiMode: 'AP', ipv4: '192.168.50.1', netmask: '255.255.255.0' }),
    ]);
    expect(hotspot.uplink?.name).toBe('wwan0');
    expect(hotspot.segment).toMatchObject({ name: 'wlan0', why: 'Wi-Fi in AP mode' });
    const adhoc = classifyInterfaces([
      f('wlan0', 'wifi', { wifiMode: 'managed', ipv4: '192.168.1.7', netmask: '255.255.255.0', defaultRoute: true }),
      f('wlan1', 'wifi', { wifiMode: 'IBSS', ipv4: '10.45.0.7', netmask: '255.255.0.0' }),
    ]);
    expect(adhoc.uplink?.name).toBe('wlan0');
    expect(adhoc.segment).toMatchObject({ name: 'wlan1', broadcast: '10.45.255.255' });
  });

  it('never takes a segment interface as the uplink, falls back without a default route, and obeys overrides', () => {
    const noDefault = classifyInterfaces([f('ppp0', 'ppp', { ipv4: '10.1.1.1', netmask: '255.255.255.255' }), f('eth0', 'ethernet', { ipv4: '192.168.1.2', netmask: '255.255.255.0' })]);
    expect(noDefault.uplink).toMatchObject({ name: 'eth0', why: 'first ethernet interface with an address' });
    const defaultOnPan = classifyInterfaces([f('pan0', 'bridge', { ipv4: '10.44.0.1', netmask: '255.255.255.0', defaultRoute: true })]);
    expect(defaultOnPan.uplink).toBeUndefined();
    expect(defaultOnPan.segment?.name).toBe('pan0');
    const forced = classifyInterfaces([f('eth0', 'ethernet', { defaultRoute: true }), f('eth1', 'ethernet', { ipv4: '10.9.0.1', netmask: '255.255.255.0' })], { segment: 'eth1', uplink: 'eth0' });
    expect(forced.segment).toMatchObject({ name: 'eth1', why: 'configured' });
    expect(forced.uplink).toMatchObject({ name: 'eth0', why: 'configured' });
  });

  it('reads Wi-Fi modes from iw and computes broadcasts', () => {
    expect(wifiModeOf('Interface wlan0\n\tifindex 3\n\ttype AP\n\twiphy 0')).toBe('AP');
    expect(wifiModeOf('\ttype IBSS\n')).toBe('IBSS');
    expect(wifiModeOf('\ttype managed\n')).toBe('managed');
    expect(wifiModeOf('')).toBe('unknown');
    expect(broadcastAddress('10.77.9.3', '255.255.255.0')).toBe('10.77.9.255');
    expect(broadcastAddress('10.77.9.3', undefined)).toBeUndefined();
  });

  it('probes this machine without throwing (loopback at least)', async () => {
    const list = await probeInterfaces();
    expect(list.find((x) => x.name === 'lo')?.kind).toBe('loopback');
  });
});

describe('segment address and LAN targets', () => {
  const cfg = (o: Record<string, unknown> = {}) => segmentConfigSchema.parse(o);
  const ifaces = [f('seg0', 'ethernet', { ipv4: '10.77.9.1', netmask: '255.255.255.0' }), f('up0', 'ethernet', { ipv4: '10.77.1.11', netmask: '255.255.255.0', defaultRoute: true })];

  it('takes --segment ADDR[:PORT] or the segment interface, with its subnet broadcast', () => {
    const roles = classifyInterfaces(ifaces);
    expect(resolveSegmentAddress(cfg({ address: '10.77.9.1' }), ifaces, roles)).toEqual({ contact: { host: '10.77.9.1', port: 7879 }, iface: 'seg0', broadcast: '10.77.9.255' });
    expect(resolveSegmentAddress(cfg({ address: '10.77.9.1:9000' }), ifaces, roles)).toMatchObject({ contact: { host: '10.77.9.1', port: 9000 } });
    expect(resolveSegmentAddress(cfg(), ifaces, roles)).toMatch(/no local segment interface found/);
    const pan = [f('pan0', 'bridge', { ipv4: '10.44.0.1', netmask: '255.255.255.0' })];
    expect(resolveSegmentAddress(cfg(), pan, classifyInterfaces(pan))).toMatchObject({ contact: { host: '10.44.0.1', port: 7879 }, broadcast: '10.44.0.255' });
    expect(resolveSegmentAddress(cfg({ address: 'box.local' }), ifaces, roles)).toMatch(/expected ADDR/);
  });

  it('sends announces and queries to the broadcast, configured targets or a multicast group', () => {
    expect(lanTargets(cfg(), ['10.77.9.255'])).toEqual([{ host: '10.77.9.255', port: 7879 }]);
    expect(lanTargets(cfg({ announceTargets: ['127.0.0.1:9999'], multicastGroup: '239.255.78.78' }), ['10.77.9.255'])).toEqual([
      { host: '127.0.0.1', port: 9999 }, { host: '239.255.78.78', port: 7879 },
    ]);
    expect(lanTargets(cfg({ announceTargets: ['nope'] }), [])).toMatch(/announceTargets/);
    expect(allBroadcasts([...ifaces, f('lo', 'loopback', { ipv4: '127.0.0.1', netmask: '255.0.0.0' })])).toEqual(['10.77.9.255', '10.77.1.255']);
  });
});
