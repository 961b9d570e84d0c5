// A small in-memory cache of pieces, shared by every download store of a node: pieces live on disk,
// and the few most recently written or read ones are kept here because partners ask for those
// first (a piece that just arrived spreads at once). Least recently used out first; never more than
// maxBytes held. The tracker keeps its copies of download manifests in one too (tracker/manifest-desk.ts).

export class PieceCache {
  private readonly entries = new Map<string, Uint8Array>();
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.held;
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether `key` is held (without making it the most recently used). */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): Uint8Array | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, v);
    return v;
  }

  put(key: string, data: Uint8Array): void {
    if (data.byteLength > this.maxBytes) return;
    this.delete(key);
    this.entries.set(key, data);
    this.held += data.byteLength;
    for (const [k, v] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(k);
      this.held -= v.byteLength;
    }
  }

  delete(key: string): void {
    const v = this.entries.get(key);
    if (v === undefined) return;
    this.entries.delete(key);
    this.held -= v.byteLength;
  }

  /** Drops every entry whose key starts with `prefix` (a download that stopped). */
  dropPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.delete(k);
  }
}
