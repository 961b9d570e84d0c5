// A box's join as raw wire traffic, for tests that talk to tracker processes directly: a fresh TCP
// connection, Hello + TrackerJoin + Membership, the tracker's first answer about the content, close.
import * as net from 'node:net';
import { encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import type { Message, MessageOf } from '../../src/protocol/messages.js';

export type JoinAnswer = MessageOf<'TrackerMembers'> | MessageOf<'TrackerRedirect'> | MessageOf<'Error'>;

export interface JoinOptions {
  allowRedirect?: boolean;
  partnerCount?: number;
  /** Raw bytes sent after the Hello instead of the join (hostile input); the answer may never come. */
  raw?: Buffer;
  /** Messages sent after the Hello instead of the join and Membership. */
  messages?: Message[];
  timeoutMs?: number;
}

export function contactOfPeer(peerId: string): { host: string; port: number } {
  let h = 0;
  for (const c of peerId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return { host: `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}`, port: 7878 };
}

/** Joins `contentId` as `peerId` at host:port; rejects when no answer comes within timeoutMs. */
export function joinOnce(addr: string, peerId: string, contentId: string, o: JoinOptions = {}): Promise<JoinAnswer> {
  const [host, port] = addr.split(':');
  const contact = contactOfPeer(peerId);
  const hello: Message = { type: 'Hello', peerId, contentId: '', contact, role: 'node', observed: { host: '', port: 0 } };
  const msgs: Message[] = o.messages ?? [
    { type: 'TrackerJoin', peerId, contentId, contact, kind: 'live', title: '', allowRedirect: o.allowRedirect ?? false, ticket: new Uint8Array(0) },
    { type: 'Membership', peerId, contentId: '', activeContents: [contentId], seq: 1, contact, ttlMs: 10_000, partnerCount: o.partnerCount ?? 1, reachability: 'public' },
  ];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) });
    const decoder = new FrameDecoder({ maxPayloadBytes: 4 * 1024 * 1024 });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from the tracker at ${addr} within ${o.timeoutMs ?? 5000} ms`));
    }, o.timeoutMs ?? 5000);
    socket.on('connect', () => {
      socket.write(Buffer.concat([encodeFrame(hello), ...(o.raw ? [o.raw] : msgs.map((m) => encodeFrame(m)))]));
    });
    socket.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(chunk)) {
        if ((m.type === 'TrackerMembers' || m.type === 'TrackerRedirect' || m.type === 'Error') && (m.contentId === contentId || m.type === 'Error')) {
          clearTimeout(timer);
          socket.destroy();
          resolve(m);
          return;
        }
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The member ids of a TrackerMembers answer (throws on any other answer, naming it). */
export function memberIds(a: JoinAnswer): string[] {
  if (a.type !== 'TrackerMembers') throw new Error(`expected TrackerMembers, got ${a.type}${a.type === 'Error' ? `: ${a.message}` : ''}`);
  return a.members.map((m) => m.peerId);
}
