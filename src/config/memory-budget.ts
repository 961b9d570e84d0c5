// Memory budget for chunk buffers, derived from the board's RAM. The share shrinks on small boards,
// where the OS, Node itself and mpv need most of the memory.
export const MIB = 1024 * 1024;

/** Buffer share of total RAM per board class (upper bound of the class → share). */
export const RAM_SHARES: ReadonlyArray<{ upToBytes: number; share: number }> = [
  { upToBytes: 320 * MIB, share: 0.08 }, // 256 MB boards (Pi Zero, Pi 1)
  { upToBytes: 640 * MIB, share: 0.1 }, // 512 MB boards
  { upToBytes: 1280 * MIB, share: 0.12 }, // 1 GB boards
  { upToBytes: 4608 * MIB, share: 0.15 }, // 2–4 GB boards
  { upToBytes: Number.POSITIVE_INFINITY, share: 0.15 },
];
/** Never budget more than this for buffers, whatever the RAM. */
export const MAX_BUFFER_BUDGET_BYTES = 512 * MIB;
/** Never less than this: a few seconds of a 4 Mbit/s channel. */
export const MIN_BUFFER_BUDGET_BYTES = 8 * MIB;

export function bufferBudgetForRam(totalRamBytes: number): number {
  const cls = RAM_SHARES.find((c) => totalRamBytes <= c.upToBytes) ?? RAM_SHARES[RAM_SHARES.length - 1]!;
  const raw = Math.floor(totalRamBytes * cls.share);
  return Math.min(MAX_BUFFER_BUDGET_BYTES, Math.max(MIN_BUFFER_BUDGET_BYTES, raw));
}
