// Datagram announces (after BEP 15) against a real tracker process in memory (`superdist tracker
// --no-peer`, UDP on its listen port by default): real boxes join over TCP, close the connection and
// re-announce over UDP; with a registry TTL shorter than the time since their TCP join only the
// datagram announces can keep them registered, and a TCP joiner is handed them. Announces with a
// connection id handed to another source address (a spoofed source), a made-up id, and garbage are
// dropped unanswered and counted. A box whose tracker answers no datagrams (--no-udp) falls back
// to TCP and stays registered.
import * as dgram from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startProc, status, tempDir, waitFor, waitUp, type Proc } from '../support/processes.js';
import { joinOnce, memberIds } from '../support/tracker-join.js';
import { controlCall } from '../../src/control/control-client.js';
import type { Message } from '../../src/protocol/messages.js';
import { decodeTrackerDatagram, encodeTrackerDatagram } from '../../src/protocol/tracker-datagram.js';

const procs: Proc[] = [];
const sockets: dgram.Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.close();
  await killAll(procs);
});

/** A raw UDP socket on loopback that collects what it receives. */
async function udpSocket(): Promise<{ sock: dgram.Socket; got: Buffer[] }> {
  const sock = dgram.createSocket('udp4');
  sockets.push(sock);
  const got: Buffer[] = [];
  sock.on('message', (b) => got.push(b));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { sock, got };
}

function send(sock: dgram.Socket, buf: Buffer, to: { host: string; port: number }): Promise<void> {
  return new Promise((r) => sock.send(buf, to.port, to.host, () => r()));
}

function announceOf(peerId: string, contentId: string, id: Uint8Array): Buffer {
  const contact = { host: '127.0.0.1', port: 9 };
  const msgs: Message[] = [
    { type: 'TrackerJoin', peerId, contentId, contact, kind: 'live', title: '', allowRedirect: false, ticket: new Uint8Array(0) },
    { type: 'Membership', peerId, contentId: '', activeContents: [contentId], seq: 1, contact, ttlMs: 10_000, partnerCount: 1, reachability: 'public' },
  ];
  return encodeTrackerDatagram({ action: 'announce', transactionId: 77, connectionId: id, messages: msgs });
}

const hostPort = (a: string) => ({ host: a.split(':')[0]!, port: Number(a.split(':')[1]) });

describe('tracker datagram announces', () => {
  it('boxes announce over UDP and are handed out to a TCP joiner; spoofed and garbage datagrams are dropped and counted', async () => {
    const dir = tempDir('sd-udp-');
    // Registry TTL 5 s: a box's TCP join alone would be forgotten long before the checks below.
    const tracker = startProc('tracker', dir, ['tracker', '--listen', '127.0.0.1:0', '--no-peer', '--log-level', 'warn', '--set', 'engine.trackerMemberTtlMs=5000']);
    procs.push(tracker);
    const addr = (await waitUp(tracker, 20_000)).node.contact;
    const boxArgs = ['node', '--tracker', addr, '--listen', '127.0.0.1:0', '--join', 'news', '--player', 'none', '--log-level', 'warn', '--set', 'engine.trackerAnnouncePeriodMs=1500'];
    const boxes = [startProc('box1', dir, boxArgs), startProc('box2', dir, boxArgs)];
    procs.push(...boxes);
    const ids = (await Promise.all(boxes.map((b) => waitUp(b, 20_000)))).map((s) => s.node.id);
    for (const b of boxes) {
      await waitFor(`${b.name} to close its tracker connection and announce over UDP`, 20_000, () => status(b), (s) => (s?.engine?.trackerDisconnects ?? 0) >= 1 && (s?.engine?.trackerDatagramAnnounces ?? 0) >= 2);
    }
    const connected = async () => ((await controlCall(tracker.control, 'peers')) as { peers: Array<{ peerId: string }> }).peers.map((p) => p.peerId);
    await waitFor('the tracker to have no connection from the boxes', 10_000, connected, (p) => !ids.some((id) => p.includes(id)));
    // More than a TTL after the boxes' TCP joins, with no TCP connection since: only datagrams keep them.
    const disconnectedAt = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    expect((await connected()).filter((p) => ids.includes(p))).toEqual([]);
    const seen = memberIds(await joinOnce(addr, 'viewer', 'news'));
    expect(seen.sort()).toEqual([...ids].sort());
    expect(Date.now() - disconnectedAt).toBeGreaterThan(5000);
    const st = (await status(tracker))!.tracker!;
    expect(st.udp!.connects).toBeGreaterThanOrEqual(2);
    expect(st.udp!.answers).toBeGreaterThanOrEqual(4);
    expect(st.udp!.spoofed).toBe(0);

    // A spoofed source: the id handed to socket A, sent from socket B. A made-up id. Garbage.
    const a = await udpSocket();
    const b = await udpSocket();
    const t = hostPort(addr);
    await send(a.sock, encodeTrackerDatagram({ action: 'connect', transactionId: 5, connectionId: new Uint8Array(8), messages: [] }), t);
    await waitFor('the connect answer', 5000, async () => a.got.length > 0);
    const idA = decodeTrackerDatagram(a.got[0]!).connectionId;
    await send(b.sock, announceOf('mallory', 'news', idA), t);
    await send(b.sock, announceOf('mallory2', 'news', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), t);
    await send(b.sock, Buffer.from('GET /announce?info_hash=x HTTP/1.1\r\n\r\n'), t);
    await waitFor('the tracker to count the dropped datagrams', 5000, () => status(tracker), (s) => (s?.tracker?.udp?.spoofed ?? 0) >= 2 && (s?.tracker?.udp?.malformed ?? 0) >= 1);
    // The real holder of the id is answered (it proves the id is right); the spoofer never was.
    await send(a.sock, announceOf('alice', 'news', idA), t);
    await waitFor('the answer to alice', 5000, async () => a.got.length >= 2);
    const answer = decodeTrackerDatagram(a.got[1]!);
    expect(answer).toMatchObject({ action: 'answer', transactionId: 77 });
    expect(answer.messages[0]?.type).toBe('TrackerMembers');
    expect(b.got).toEqual([]);
    const after = memberIds(await joinOnce(addr, 'viewer2', 'news'));
    expect(after).toContain('alice');
    expect(after).not.toContain('mallory');
    expect(after).not.toContain('mallory2');
  }, 90_000);

  it('a box whose tracker answers no datagrams falls back to TCP and stays registered', async () => {
    const dir = tempDir('sd-udp-off-');
    const tracker = startProc('tracker-tcp', dir, ['tracker', '--listen', '127.0.0.1:0', '--no-peer', '--no-udp', '--log-level', 'warn', '--set', 'engine.trackerMemberTtlMs=6000']);
    procs.push(tracker);
    const addr = (await waitUp(tracker, 20_000)).node.contact;
    expect((await status(tracker))!.tracker!.udp).toBeUndefined();
    const box = startProc('box3', dir, ['node', '--tracker', addr, '--listen', '127.0.0.1:0', '--join', 'films', '--player', 'none', '--log-level', 'warn', '--set', 'engine.trackerAnnouncePeriodMs=1500']);
    procs.push(box);
    const id = (await waitUp(box, 20_000)).node.id;
    // The first datagram announce goes unanswered (3 tries, 1 s apart), then TCP; later ones TCP at once.
    await waitFor('announces past the fallback', 30_000, () => status(box), (s) => (s?.engine?.trackerAnnounces ?? 0) >= 5);
    await new Promise((r) => setTimeout(r, 7000));
    expect(memberIds(await joinOnce(addr, 'viewer3', 'films'))).toEqual([id]);
  }, 90_000);
});
