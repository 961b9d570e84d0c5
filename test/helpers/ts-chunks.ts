// Synthetic MPEG-TS chunks for tests that only need a chunk's media clock.

/** A one-packet MPEG-TS chunk whose video PES carries `ptsMs`. */
export function tsWithPts(ptsMs: number, pid = 0x100): Uint8Array {
  const p = new Uint8Array(188).fill(0xff);
  const pts = Math.round(ptsMs * 90);
  p.set([0x47, 0x40 | (pid >> 8), pid & 0xff, 0x10, 0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5]);
  p[13] = 0x21 | (Math.floor(pts / 2 ** 30) & 0x07) * 2;
  p[14] = Math.floor(pts / 2 ** 22) & 0xff;
  p[15] = ((Math.floor(pts / 2 ** 15) & 0x7f) << 1) | 1;
  p[16] = Math.floor(pts / 2 ** 7) & 0xff;
  p[17] = ((pts & 0x7f) << 1) | 1;
  return p;
}
