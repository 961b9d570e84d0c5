// Pieces held in memory: the simulator's store (a piece is kept as it came: the simulated network
// does not copy) and the base of the tests' store. `initial` counts as resumed from an earlier run.
import type { PieceStore } from '../engine/download-ports.js';

export class MemoryPieceStore implements PieceStore {
  readonly pieces = new Map<number, Uint8Array>();
  resumedCount: number;

  constructor(initial: ReadonlyMap<number, Uint8Array> = new Map()) {
    for (const [i, d] of initial) this.pieces.set(i, d);
    this.resumedCount = initial.size;
  }
  get count(): number {
    return this.pieces.size;
  }
  has(i: number): boolean {
    return this.pieces.has(i);
  }
  read(i: number): Uint8Array | undefined {
    return this.pieces.get(i);
  }
  write(i: number, data: Uint8Array): void {
    this.pieces.set(i, data);
  }
  tick(): void {}
  flush(): void {}
  finish(): void {}
  close(): void {}
}
