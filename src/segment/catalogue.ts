// The channel catalogue a main node shows the segment: local nodes resolve channel names at the local
// tracker (ContentsReq), and the names live at the central tracker. This cache asks the central
// tracker (over the uplink) at most every refreshMs and answers from what it holds, merged with the
// local tracker's own entries; an id it does not list is asked for again (at most every second), so a
// file published a moment ago is found.
import type { Contact, ContentInfo } from '../protocol/messages.js';
import { WireLimits } from '../protocol/messages.js';
import { queryContents } from '../net/contents-query.js';

/** Least time between two central look-ups caused by a content id the cache lacks. */
const MISS_REFRESH_MS = 1000;

export class CentralCatalogue {
  private entries: ContentInfo[] = [];
  private fetchedAt = -Infinity;
  private inFlight: Promise<void> | undefined;
  lastError = '';

  constructor(
    private readonly central: Contact | undefined,
    private readonly refreshMs: number,
    private readonly query: (target: Contact, word: string) => Promise<ContentInfo[]> = queryContents,
  ) {}

  /** The central title of a content ('' when the cache does not list it). */
  titleOf(contentId: string): string {
    const t = this.entries.find((e) => e.contentId === contentId)?.title ?? '';
    return t === contentId ? '' : t;
  }

  /** Entries matching `word` (title or id, case-insensitive), refreshed first when stale. */
  async search(word: string, local: readonly ContentInfo[], now: () => number): Promise<ContentInfo[]> {
    // A content asked for by id that the cache lacks (just published) is looked up again at once.
    const missing = word !== '' && !this.entries.some((e) => e.contentId === word);
    const age = now() - this.fetchedAt;
    if (this.central && (age >= this.refreshMs || (missing && age >= MISS_REFRESH_MS))) {
      this.inFlight ??= this.query(this.central, '')
        .then((list) => {
          this.entries = list;
          this.lastError = '';
        })
        .catch((err: Error) => {
          this.lastError = err.message;
        })
        .finally(() => {
          this.fetchedAt = now();
          this.inFlight = undefined;
        });
      await this.inFlight;
    }
    const w = word.toLowerCase();
    const seen = new Set<string>();
    const out: ContentInfo[] = [];
    for (const c of [...local, ...this.entries]) {
      if (seen.has(c.contentId)) continue;
      // the local tracker titles unknown contents with their id; the central entry has the real name
      const better = this.entries.find((e) => e.contentId === c.contentId) ?? c;
      if (w !== '' && !better.contentId.toLowerCase().includes(w) && !better.title.toLowerCase().includes(w)) continue;
      seen.add(c.contentId);
      out.push({ ...better });
    }
    return out.slice(0, WireLimits.maxContents);
  }
}
