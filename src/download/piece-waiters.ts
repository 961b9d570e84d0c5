// Readers waiting for pieces of downloads (a player reading a file while it downloads): woken when
// the piece is verified and written, failed when the download fails or stops, dropped when the
// reader gives up (its AbortSignal).

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class PieceWaiters {
  private readonly byContent = new Map<string, Map<number, Set<Waiter>>>();

  wait(contentId: string, index: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error('the reader went away'));
      let pieces = this.byContent.get(contentId);
      if (!pieces) this.byContent.set(contentId, (pieces = new Map()));
      let set = pieces.get(index);
      if (!set) pieces.set(index, (set = new Set()));
      const s = set;
      const onAbort = () => {
        s.delete(w);
        reject(new Error('the reader went away'));
      };
      const w: Waiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      s.add(w);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Pieces someone waits for (the most urgent first: lowest index). */
  waited(contentId: string): number[] {
    const pieces = this.byContent.get(contentId);
    if (!pieces) return [];
    return [...pieces.entries()].filter(([, s]) => s.size > 0).map(([i]) => i).sort((a, b) => a - b);
  }

  stored(contentId: string, index: number): void {
    const pieces = this.byContent.get(contentId);
    const set = pieces?.get(index);
    if (!set) return;
    pieces!.delete(index);
    for (const w of set) w.resolve();
  }

  /** The download failed or stopped: every reader of it gets `err`. */
  fail(contentId: string, err: Error): void {
    const pieces = this.byContent.get(contentId);
    this.byContent.delete(contentId);
    for (const set of pieces?.values() ?? []) for (const w of set) w.reject(err);
  }
}
