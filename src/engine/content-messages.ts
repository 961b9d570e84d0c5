// The engine's data-plane boundary: which messages go to the live/download data scheduler, the hook
// they go through, and the answer to a ContentsReq (what this node offers, filtered by a word).
import type { BufferMapDelta, BufferMapInfo, ContentInfo, ContentKind, DataChunkCancel, DataChunkDue, DataChunkReject, DataChunkReq, Features } from '../protocol/messages.js';
import type { DataChunkResp, ManifestReq, ManifestResp, Message, SubstreamAck, SubstreamSub } from '../protocol/messages.js';
import { WireLimits } from '../protocol/messages.js';
import type { PeerAddress } from './ports.js';

/** Messages of the data plane, handed to the content's data scheduler (live/download feature). */
export type ContentMessage = BufferMapInfo | BufferMapDelta | DataChunkReq | DataChunkDue | DataChunkCancel | DataChunkResp | DataChunkReject | ManifestReq | ManifestResp | SubstreamSub | SubstreamAck | Features;
/** Data-plane hook: receives content messages for ACTIVE contents only. */
export type ContentMessageHandler = (from: PeerAddress, msg: ContentMessage) => void;
/** What this node knows of an active content's title and size (ContentsResp); undefined: the id. */
export type ContentInfoSource = (contentId: string) => { title: string; sizeBytes: number } | undefined;

const CONTENT_MESSAGE_TYPES = new Set(['BufferMapInfo', 'BufferMapDelta', 'DataChunkReq', 'DataChunkDue', 'DataChunkCancel', 'DataChunkResp', 'DataChunkReject', 'ManifestReq', 'ManifestResp', 'SubstreamSub', 'SubstreamAck', 'Features']);

export function isContentMessage(msg: Message): msg is ContentMessage {
  return CONTENT_MESSAGE_TYPES.has(msg.type);
}

/**
 * The active contents whose id or title contains `word` (any case; all for an empty or missing
 * word), titled and sized by `info` (default: the id, size 0), at most WireLimits.maxContents.
 */
export function matchingContents(
  contents: Iterable<[string, ContentKind]>,
  word: unknown,
  info: ContentInfoSource | undefined,
): ContentInfo[] {
  const needle = typeof word === 'string' ? word.toLowerCase() : '';
  const out: ContentInfo[] = [];
  for (const [contentId, kind] of contents) {
    const known = info?.(contentId);
    const title = known?.title || contentId;
    if (needle === '' || contentId.toLowerCase().includes(needle) || title.toLowerCase().includes(needle)) {
      out.push({ contentId, kind, title, sizeBytes: known?.sizeBytes ?? 0 });
    }
  }
  return out.slice(0, WireLimits.maxContents);
}
