// The tracker's catalogue: the contents it knows (kind, title, size), answered to ContentsReq and
// shown in status. Kept by each tracker front end; membership lives in the registry port.
import type { ContentInfo, ContentKind } from '../protocol/messages.js';

export class Catalogue {
  private readonly byId = new Map<string, ContentInfo>();

  /** Makes a content known (no-op when it is); returns whether it was created. */
  ensure(contentId: string, kind: ContentKind, title = contentId): boolean {
    const existing = this.byId.get(contentId);
    if (existing) {
      // A title given later (a source's join after its Membership made the content known) wins
      // over the default title, which is the id.
      if (title !== contentId && existing.title === contentId) this.byId.set(contentId, { ...existing, title });
      return false;
    }
    this.byId.set(contentId, { contentId, kind, title, sizeBytes: 0 });
    return true;
  }

  /** Publishes (or updates) a content's entry; returns whether it was created. */
  publish(info: ContentInfo): boolean {
    const created = !this.byId.has(info.contentId);
    this.byId.set(info.contentId, { ...info });
    return created;
  }

  /**
   * A member's ContentAnnounce (a publisher telling title and size). The first size announced
   * sticks; a title replaces only the default (the id). Returns whether anything changed.
   */
  describe(contentId: string, title: string, sizeBytes: number): boolean {
    const info = this.byId.get(contentId);
    if (!info) return false;
    const next = { ...info };
    if (typeof title === 'string' && title !== '' && info.title === contentId) next.title = title;
    if (info.sizeBytes === 0 && Number.isSafeInteger(sizeBytes) && sizeBytes > 0) next.sizeBytes = sizeBytes;
    if (next.title === info.title && next.sizeBytes === info.sizeBytes) return false;
    this.byId.set(contentId, next);
    return true;
  }

  has(contentId: string): boolean {
    return this.byId.has(contentId);
  }

  get(contentId: string): ContentInfo | undefined {
    return this.byId.get(contentId);
  }

  get size(): number {
    return this.byId.size;
  }

  all(): IterableIterator<ContentInfo> {
    return this.byId.values();
  }
}
