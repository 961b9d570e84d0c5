import { describe, expect, it } from 'vitest';
import { assEscape, hostAddresses, idleAss, idleLines, IDLE_MAX_CHANNELS } from '../../src/player/idle-screen.js';

describe('idle screen text', () => {
  it('lists name, addresses, channels and how to play one', () => {
    const lines = idleLines({ name: 'Bar TV', addresses: ['10.0.0.5 (eth0)', '192.168.4.1 (wlan0)'], channels: ['news', 'sport'] });
    expect(lines).toEqual(['Bar TV', '10.0.0.5 (eth0)   192.168.4.1 (wlan0)', 'Nothing playing', 'Channels: news · sport', 'superdist play CHANNEL']);
  });

  it('says when there is no address, no channel, or the tracker did not answer', () => {
    expect(idleLines({ name: 'x', addresses: [], channels: [] })).toEqual(['x', 'no network connection', 'Nothing playing', 'No channels available yet', 'superdist play CHANNEL']);
    expect(idleLines({ name: 'x', addresses: [], channels: { error: 'tracker 10.0.0.1:7878 did not answer' } })[3]).toBe('Channels unknown: tracker 10.0.0.1:7878 did not answer');
  });

  it('counts the channels it has no room for', () => {
    const many = Array.from({ length: IDLE_MAX_CHANNELS + 3 }, (_, i) => `c${i}`);
    const line = idleLines({ name: 'x', addresses: [], channels: many })[3]!;
    expect(line).toContain(`c${IDLE_MAX_CHANNELS - 1}`);
    expect(line).not.toContain(`c${IDLE_MAX_CHANNELS} `);
    expect(line.endsWith('(+3 more)')).toBe(true);
  });

  it('escapes ASS override blocks, backslashes and line breaks in names', () => {
    expect(assEscape('{\\b1}evil\\Nname\nx')).toBe('\\{\\\u2060b1\\}evil\\\u2060Nname x');
    const ass = idleAss(['{\\fs200}big', 'addr', 'Nothing playing', 'Channels: a', 'hint']);
    // The only override blocks are ours: the name's braces are escaped.
    expect(ass).toContain('\\{\\\u2060fs200\\}big');
    expect(ass.split('\\N').length).toBe(6); // name, address, blank, three body lines
  });

  it('takes non-loopback interface addresses, not link-local IPv6', () => {
    const addrs = hostAddresses({
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '00:00:00:00:00:00', cidr: null }],
      eth0: [
        { address: '10.0.0.5', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: 'aa:bb:cc:dd:ee:ff', cidr: null },
        { address: 'fe80::1', family: 'IPv6', internal: false, netmask: 'ffff:ffff:ffff:ffff::', mac: 'aa:bb:cc:dd:ee:ff', cidr: null, scopeid: 2 },
        { address: '2001:db8::5', family: 'IPv6', internal: false, netmask: 'ffff:ffff:ffff:ffff::', mac: 'aa:bb:cc:dd:ee:ff', cidr: null, scopeid: 0 },
      ],
    });
    expect(addrs).toEqual(['10.0.0.5 (eth0)', '2001:db8::5 (eth0)']);
  });
});
