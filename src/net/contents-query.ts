// A one-off question to a tracker (or any peer): "which contents match WORD?" (ContentsReq →
// ContentsResp, thesis §3.3.2.6). Used by `superdist search` and to resolve a channel name to its id.
import { randomBytes } from 'node:crypto';
import type { Contact, ContentInfo } from '../protocol/messages.js';
import { ConnectionManager } from './connection-manager.js';
import { DEFAULT_NET_LIMITS } from './net-limits.js';

export class ContentsQueryError extends Error {
  override name = 'ContentsQueryError';
}

export async function queryContents(target: Contact, word: string, timeoutMs = 3000): Promise<ContentInfo[]> {
  const peerId = `query-${randomBytes(6).toString('hex')}`;
  let answer: (c: ContentInfo[]) => void = () => undefined;
  const got = new Promise<ContentInfo[]>((r) => (answer = r));
  const net = new ConnectionManager({
    self: { peerId, contact: { host: '127.0.0.1', port: 0 }, role: 'client' },
    limits: DEFAULT_NET_LIMITS,
    onMessage: (_from, msg) => {
      if (msg.type === 'ContentsResp') answer(msg.contents);
    },
  });
  try {
    if (!net.send({ contact: target }, { type: 'ContentsReq', peerId, contentId: '', word })) {
      throw new ContentsQueryError(`cannot send a query to ${target.host}:${target.port}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ContentsQueryError(`no answer from ${target.host}:${target.port} within ${timeoutMs} ms (is a tracker running there?)`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([got, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await net.close();
  }
}

/**
 * Resolves what a user typed (`--watch news`) to a content id: a full id is taken as it is; otherwise
 * the exact title match of the given kind in the tracker's catalogue.
 */
export async function resolveContent(target: Contact, nameOrId: string, kind: 'live' | 'download', looksLikeId: (s: string) => boolean): Promise<ContentInfo> {
  if (looksLikeId(nameOrId)) return { contentId: nameOrId, kind, title: nameOrId, sizeBytes: 0 };
  const found = (await queryContents(target, nameOrId)).filter((c) => c.kind === kind && (c.title === nameOrId || c.contentId === nameOrId));
  if (found.length === 0) throw new ContentsQueryError(`no ${kind} content named ${JSON.stringify(nameOrId)} at the tracker ${target.host}:${target.port}`);
  return found[0] as ContentInfo;
}
