// The segment's nftables rules (src/platform/segment-configs.ts) loaded with the real `nft` into a
// box made of network namespaces, with real TCP connections that must and must not pass:
//   client (10.44.0.50) ── pan0 bridge [box 10.44.0.1 | eth0 10.99.0.1] ── wan (10.99.0.2)
// Isolation: a client reaches the box, nothing through it, and nothing reaches the client through
// it. Routing: a client reaches the uplink side, masqueraded behind the box's address; new
// connections from the uplink side to the client are still refused.
// Root only (namespaces, nft); skipped with a message otherwise.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEGMENT_SETUP, nftablesRules, type SegmentSetup } from '../../src/platform/segment-configs.js';
import { NetnsLab, netnsAvailable, removeStaleLabs } from '../support/netns.js';
import { waitFor } from '../support/wait-for.js';

const nftPresent = spawnSync('nft', ['--version'], { encoding: 'utf8' }).status === 0;
const why = !netnsAvailable() ? 'needs root with ip and tc (network namespaces)' : !nftPresent ? 'needs nft (Debian package nftables)' : undefined;
if (why) console.warn(`segment nftables rules in the kernel: skipped, ${why}`);

const BOX = '10.44.0.1';
const CLIENT = '10.44.0.50';
const BOX_UPLINK = '10.99.0.1';
const WAN = '10.99.0.2';
const PORT = 7901;

const lab = new NetnsLab();
const servers: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sd-nft-'));

function sh(args: string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A TCP server in namespace `ns` that answers each connection with the peer address it sees. */
async function serve(ns: string): Promise<void> {
  const script = `require('net').createServer((c) => c.end(c.remoteAddress + '\\n')).listen(${PORT}, '0.0.0.0', () => console.log('listening'))`;
  const p = spawn('ip', ['netns', 'exec', lab.ns(ns), process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(p);
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(`the TCP server in ${ns}`, 5000, () => out.includes('listening'), { everyMs: 20 });
}

/** Connects from namespace `ns` to host:PORT: the address the server saw, or 'blocked' (no answer in 1.5 s). */
function connect(ns: string, host: string): string {
  const script =
    `const s = require('net').connect(${PORT}, '${host}'); let d = ''; s.setTimeout(1500, () => { console.log('blocked'); process.exit(0); });` +
    `s.on('data', (b) => (d += b)); s.on('end', () => { console.log(d.trim()); process.exit(0); }); s.on('error', (e) => { console.log('error ' + e.code); process.exit(0); });`;
  return sh(['ip', 'netns', 'exec', lab.ns(ns), process.execPath, '-e', script]).trim();
}

function load(s: SegmentSetup): void {
  const file = join(dir, 'superdist-segment.nft');
  writeFileSync(file, nftablesRules(s));
  sh(['ip', 'netns', 'exec', lab.ns('box'), 'nft', '-f', file]);
}

describe.skipIf(why !== undefined)('segment nftables rules in the kernel (namespaces, real packets)', () => {
  beforeAll(async () => {
    removeStaleLabs();
    for (const n of ['box', 'client', 'wan']) lab.addNamespace(n);
    lab.addBridge('box', 'pan0', `${BOX}/24`);
    lab.link({ ns: 'client', dev: 'c0', cidr: `${CLIENT}/24` }, { ns: 'box', dev: 'c0-pan', bridge: 'pan0' });
    lab.link({ ns: 'wan', dev: 'w0', cidr: `${WAN}/24` }, { ns: 'box', dev: 'eth0' });
    sh(['ip', '-n', lab.ns('box'), 'addr', 'add', `${BOX_UPLINK}/24`, 'dev', 'eth0']);
    sh(['ip', 'netns', 'exec', lab.ns('box'), 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    lab.defaultRoute('client', BOX);
    lab.defaultRoute('wan', BOX_UPLINK); // the uplink side knows the way back (as a LAN router would)
    for (const n of ['box', 'client', 'wan']) await serve(n);
  });
  afterAll(async () => {
    for (const p of servers) p.kill('SIGKILL');
    await lab.cleanup();
  });

  it('without rules the box forwards both ways (the checks below can fail)', () => {
    sh(['ip', 'netns', 'exec', lab.ns('box'), 'nft', 'flush', 'ruleset']);
    expect(connect('client', WAN)).toBe(CLIENT);
    expect(connect('wan', CLIENT)).toBe(WAN);
  });

  it('isolation: clients reach the box, nothing through it; the uplink side cannot reach a client', () => {
    load({ ...DEFAULT_SEGMENT_SETUP });
    expect(connect('client', BOX)).toBe(CLIENT);
    expect(connect('client', WAN)).toBe('blocked');
    expect(connect('wan', CLIENT)).toBe('blocked');
    expect(connect('wan', BOX_UPLINK)).toBe(WAN); // the box itself stays reachable from its uplink
  });

  it('routing: clients reach the uplink side masqueraded as the box; new connections inward are refused', () => {
    load({ ...DEFAULT_SEGMENT_SETUP, routing: true, uplink: 'eth0' });
    expect(connect('client', WAN)).toBe(BOX_UPLINK);
    expect(connect('client', BOX)).toBe(CLIENT);
    expect(connect('wan', CLIENT)).toBe('blocked');
  });
});
