// Copies a bundle's image into a slot (partition devices, or a file standing in for one), flushes
// it to the medium, and reads it back to check its SHA-256: a slot is trusted only once what is on
// the medium is the signed image.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import type { SlotImage } from './boot-loader.js';

const COPY_BYTES = 1 << 20;

/** A byte range of a file or device. */
export interface Range {
  path: string;
  offset: number;
  size: number;
}

/** Copies `size` bytes of `src` from `srcOffset` to the start of `target`, then fsyncs it. */
export async function copyRange(src: Range, target: string, opts: { create: boolean }): Promise<void> {
  const from = openSync(src.path, 'r');
  // A device is opened as is; a stand-in file is created or cut to the image's size.
  const to = openSync(target, opts.create ? 'w' : 'r+');
  try {
    const buf = Buffer.alloc(COPY_BYTES);
    for (let done = 0; done < src.size; ) {
      const n = readSync(from, buf, 0, Math.min(COPY_BYTES, src.size - done), src.offset + done);
      if (n === 0) throw new Error(`${src.path} ended at ${src.offset + done} while its image was copied into ${target}`);
      let w = 0;
      while (w < n) w += writeSync(to, buf, w, n - w, done + w);
      done += n;
      // Let the daemon's timers run between chunks (an image is hundreds of MB).
      if ((done / COPY_BYTES) % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    fsyncSync(to);
  } finally {
    closeSync(from);
    closeSync(to);
  }
}

/** SHA-256 (hex) of the ranges read one after the other. */
export async function hashRanges(ranges: Range[]): Promise<string> {
  const h = createHash('sha256');
  for (const r of ranges) {
    if (r.size === 0) continue;
    await new Promise<void>((resolve, reject) =>
      createReadStream(r.path, { start: r.offset, end: r.offset + r.size - 1, highWaterMark: COPY_BYTES })
        .on('data', (d) => h.update(d))
        .on('error', reject)
        .on('end', () => resolve()),
    );
  }
  return h.digest('hex');
}

/** Reads the written ranges back; throws unless they hash to the image's SHA-256. */
export async function checkWritten(written: Range[], image: SlotImage): Promise<void> {
  const sha = await hashRanges(written);
  if (sha !== image.sha256) {
    throw new Error(`${written.map((r) => r.path).join(' + ')} read back SHA-256 ${sha} instead of the image's ${image.sha256}: the medium did not keep what was written`);
  }
}

/** The whole image into one target (a file standing in for a slot). */
export async function writeSlot(target: string, image: SlotImage, opts: { create: boolean }): Promise<void> {
  await copyRange(image, target, opts);
  await checkWritten([{ path: target, offset: 0, size: image.size }], image);
}
