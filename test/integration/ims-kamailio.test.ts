// IMS access against a real SIP core: Kamailio from Debian, started on loopback with the
// repository's configuration (ims/kamailio/kamailio.cfg). Shows that
// - `superdist ims register` succeeds (UDP and TCP), and fails clearly on a wrong password, a dead
//   registrar and a silent one;
// - a node obtains its tracker ticket through Kamailio (MESSAGE to sip:superdist@DOMAIN, routed to
//   the tracker's registered contact, ticket MESSAGEd back to the node's registered contact), and
//   so does `superdist ims ticket`;
// - the real TrackerEngine admission refuses a peer without a ticket and one with somebody else's,
//   and admits the ticket holder (peers and tracker talk over real TCP connection managers);
// - after a Kamailio restart (bindings lost) the node (UDP, binding query) and the tracker (TCP,
//   connection loss) register again by themselves, and tickets flow again.
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { PeerEngine } from '../../src/engine/peer-engine.js';
import type { EngineWarning } from '../../src/engine/ports.js';
import { imsConfigSchema, type ImsConfigInput } from '../../src/ims/ims-config.js';
import { ImsService } from '../../src/ims/ims-service.js';
import { ConnectionManager, DEFAULT_NET_LIMITS } from '../../src/net/connection-manager.js';
import type { Contact } from '../../src/protocol/messages.js';
import { TrackerEngine } from '../../src/tracker/tracker-engine.js';
import { startKamailio, type KamailioCore } from '../support/kamailio.js';
import { BUNDLE, tempDir, waitFor } from '../support/processes.js';

const DOMAIN = 'ims.superdist.test';
const USERS = { superdist: 'tracker-secret', alice: 'alice-secret', bob: 'bob-secret' };
const CONTENT = 'channel-one';
const clock = { now: () => Date.now() };
const random = { next: () => Math.random() };
const engineConfig = { ...DEFAULT_ENGINE_CONFIG, trackerRetryMs: 500 };

let core: KamailioCore;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  core = await startKamailio({ domain: DOMAIN, users: USERS, minExpiresS: 10 });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await core?.stop();
});

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BUNDLE, 'ims', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err, ms: Date.now() - t0 }));
  });
}

function imsConfig(over: ImsConfigInput) {
  return imsConfigSchema.parse({
    enabled: true,
    registrar: core.registrar,
    domain: DOMAIN,
    bindingCheckS: 1,
    retryMinMs: 200,
    retryMaxMs: 2000,
    transactionTimeoutMs: 4000,
    ticketTimeoutMs: 4000,
    ...over,
  });
}

interface Peer {
  engine: PeerEngine;
  net: ConnectionManager;
  warnings: EngineWarning[];
  join(): void;
  phase(): string | undefined;
}

/** A PeerEngine on a real connection manager, ticking every 50 ms. */
async function startPeer(peerId: string, tracker: Contact, ticketFor?: (contentId: string) => Uint8Array): Promise<Peer> {
  const self = { peerId, role: 'node', contact: { host: '127.0.0.1', port: 0 } };
  let engine: PeerEngine | undefined;
  const warnings: EngineWarning[] = [];
  const net = new ConnectionManager({
    self,
    limits: DEFAULT_NET_LIMITS,
    onMessage: (from, msg) => engine?.receive(from, msg),
    onPeerDisconnected: (id) => engine?.peerDisconnected(id),
  });
  self.contact.port = (await net.listen('127.0.0.1', 0)).port;
  const eng = new PeerEngine({
    self, clock, random, transport: net, config: engineConfig, tracker,
    events: { warning: (w) => warnings.push(w) },
    ...(ticketFor ? { ticketFor } : {}),
  });
  engine = eng;
  const ticker = setInterval(() => eng.tick(), 50);
  cleanups.push(async () => {
    clearInterval(ticker);
    await net.close();
  });
  return {
    engine: eng,
    net,
    warnings,
    join: () => eng.join(CONTENT, 'live'),
    phase: () => eng.snapshot().contents.find((c) => c.id === CONTENT)?.join,
  };
}

describe('superdist ims register against Kamailio', () => {
  it('exits 0 on 200 OK over UDP and TCP, and 1 with a clear message on a wrong password, a dead or a silent registrar', async () => {
    const base = ['register', '--registrar', core.registrar, '--domain', DOMAIN, '--user', 'alice'];
    const udp = await cli([...base, '--password', USERS.alice]);
    expect(udp.code, udp.err).toBe(0);
    expect(udp.out).toMatch(new RegExp(`registered sip:alice@${DOMAIN} at ${core.registrar} \\(UDP\\)`));
    expect(udp.out).toMatch(new RegExp(`service route: +<sip:orig@127\\.0\\.0\\.1:${core.port};transport=udp;lr>`));
    expect(udp.out).toMatch(/associated URIs: <sip:alice@ims\.superdist\.test>/);
    expect(udp.out).toMatch(/de-registered/);

    const tcp = await cli([...base, '--password', USERS.alice, '--transport', 'tcp', '--json']);
    expect(tcp.code, tcp.err).toBe(0);
    expect(JSON.parse(tcp.out)).toMatchObject({ registered: true, aor: `sip:alice@${DOMAIN}`, contact: expect.stringMatching(/;transport=tcp$/) });

    const wrong = await cli([...base, '--password', 'not-the-password']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/IMS registration failed \(auth-rejected\): .*401 Unauthorized again after digest authentication — wrong user name or password/);

    // Nothing listens: the connected UDP socket hears ICMP port unreachable at once.
    const deadPort = await new Promise<number>((r) => {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => r(p));
      });
    });
    const dead = await cli(['register', '--registrar', `127.0.0.1:${deadPort}`, '--domain', DOMAIN, '--user', 'alice', '--password', 'x']);
    expect(dead.code).toBe(1);
    expect(dead.err).toMatch(/IMS registration failed \(transport\): .*is not listening \(ICMP port unreachable\)/);

    // Something swallows the REGISTERs: timer F ends the transaction.
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const timeout = await cli(['register', '--registrar', `127.0.0.1:${silent.address().port}`, '--domain', DOMAIN, '--user', 'alice', '--password', 'x', '--timeout', '1500']);
    silent.close();
    expect(timeout.code).toBe(1);
    expect(timeout.err).toMatch(/IMS registration failed \(timeout\): no answer to REGISTER from 127\.0\.0\.1:\d+ over UDP within 1500 ms \(RFC 3261 timer F\)/);

    const usage = await cli(['register', '--registrar', core.registrar, '--domain', DOMAIN, '--user', 'alice']);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/no IMS password is configured/);
  });
});

describe('IMS service access through Kamailio', () => {
  let trackerIms: ImsService;
  let nodeIms: ImsService;
  let tracker: TrackerEngine;
  let trackerContact: Contact;

  it('the node obtains a ticket through Kamailio; the tracker refuses peers without (or with a foreign) ticket and admits the holder', async () => {
    // Tracker: real TrackerEngine on a real connection manager, admission from its IMS service (TCP).
    const trackerSelf = { peerId: 'tracker', role: 'tracker', contact: { host: '127.0.0.1', port: 0 } };
    const net = new ConnectionManager({
      self: trackerSelf,
      limits: DEFAULT_NET_LIMITS,
      onMessage: (from, msg) => tracker?.receive(from, msg),
      onPeerDisconnected: (id) => tracker?.peerDisconnected(id),
    });
    trackerSelf.contact.port = (await net.listen('127.0.0.1', 0)).port;
    trackerContact = { ...trackerSelf.contact };
    trackerIms = new ImsService(imsConfig({ user: 'superdist', password: USERS.superdist, transport: 'tcp' }), {
      role: 'tracker', peerId: 'tracker', stateDir: tempDir('sd-ims-tracker-'), trackerContact,
    });
    tracker = new TrackerEngine({
      self: trackerSelf, clock, random, transport: net, config: engineConfig, admit: trackerIms.createTicketAdmission(),
    });
    const ticker = setInterval(() => tracker.tick(), 50);
    cleanups.push(async () => {
      clearInterval(ticker);
      await trackerIms.stop();
      await net.close();
    });
    const t0 = Date.now();
    await trackerIms.start();
    expect(trackerIms.status().registration).toMatchObject({ state: 'registered', registrations: 1 });

    // Node: registers over UDP, asks sip:superdist@DOMAIN for a ticket.
    nodeIms = new ImsService(imsConfig({ user: 'alice', password: USERS.alice }), { role: 'node', peerId: 'node-alice', stateDir: tempDir('sd-ims-node-') });
    cleanups.push(() => nodeIms.stop());
    await nodeIms.start();
    const ticketMs = Date.now() - t0;
    const st = nodeIms.status();
    expect(st.registration).toMatchObject({ state: 'registered', serviceRoute: [`<sip:orig@127.0.0.1:${core.port};transport=udp;lr>`] });
    expect(st.ticket).toMatchObject({ state: 'held', peerId: 'node-alice', sip: `sip:alice@${DOMAIN}`, tracker: `127.0.0.1:${trackerContact.port}` });
    expect(trackerIms.status().issuer).toMatchObject({ issued: 1, deliveryFailures: 0 });
    expect(nodeIms.trackerContact()).toEqual(trackerContact);
    expect(ticketMs).toBeLessThan(5000);

    // A peer without IMS is refused with a clear error.
    const intruder = await startPeer('intruder', trackerContact);
    intruder.join();
    await waitFor('intruder refused', 5000, async () => intruder.phase() === 'refused');
    expect(intruder.warnings.map((w) => w.message).join('\n')).toMatch(/error 2 from peer: IMS ticket required/);

    // A peer replaying alice's ticket is refused too.
    const thief = await startPeer('thief', trackerContact, (c) => nodeIms.ticketFor(c));
    thief.join();
    await waitFor('thief refused', 5000, async () => thief.phase() === 'refused');
    expect(thief.warnings.map((w) => w.message).join('\n')).toMatch(/IMS ticket belongs to peer "node-alice", not to "thief"/);

    // The ticket holder is admitted, joins and partners with the tracker.
    const alice = await startPeer('node-alice', nodeIms.trackerContact() as Contact, (c) => nodeIms.ticketFor(c));
    alice.join();
    await waitFor('alice joined', 5000, async () => alice.phase() === 'joined');
    await waitFor('alice partnered with the tracker', 5000, async () =>
      (alice.engine.snapshot().contents.find((c) => c.id === CONTENT)?.partners ?? []).includes('tracker'),
    );
    expect(tracker.snapshot().tracker).toMatchObject({ joins: 1, refusedJoins: 2 });
    expect(trackerIms.status().admission).toMatchObject({ admitted: 1, refused: 2 });
    expect(tracker.members(CONTENT).map((m) => m.peerId)).toEqual(['node-alice']);

    // The same round trip from the command line (another subscriber).
    const cliTicket = await cli(['ticket', '--registrar', core.registrar, '--domain', DOMAIN, '--user', 'bob', '--password', USERS.bob, '--peer-id', 'cli-bob', '--json']);
    expect(cliTicket.code, cliTicket.err).toBe(0);
    expect(JSON.parse(cliTicket.out)).toMatchObject({ peerId: 'cli-bob', sip: `sip:bob@${DOMAIN}`, tracker: `127.0.0.1:${trackerContact.port}` });
  });

  it('after a Kamailio restart the node and the tracker register again by themselves, and tickets flow again', async () => {
    const nodeBefore = nodeIms.status().registration;
    const trackerBefore = trackerIms.status().registration.registrations;
    const t0 = Date.now();
    await core.restart();
    // Node on UDP: its binding query finds the binding gone (or, when it runs while the core is
    // down, fails and the node registers again). Tracker on TCP: the connection dropped.
    await waitFor('node registered again', 10_000, async () => {
      const r = nodeIms.status().registration;
      const noticed = r.bindingsLost > nodeBefore.bindingsLost || r.failures > nodeBefore.failures;
      return r.state === 'registered' && r.registrations > nodeBefore.registrations && noticed;
    });
    await waitFor('tracker registered again', 10_000, async () => {
      const r = trackerIms.status().registration;
      return r.state === 'registered' && r.registrations > trackerBefore;
    });
    const recoveredMs = Date.now() - t0;
    expect(recoveredMs).toBeLessThan(8000);
    // Both bindings are back in the restarted core: the ticket round trip works again.
    await nodeIms.refreshTicket();
    expect(nodeIms.status().ticket).toMatchObject({ state: 'held', obtained: 2 });
    expect(trackerIms.status().issuer).toMatchObject({ issued: 3, deliveryFailures: 0 });
  });
});
