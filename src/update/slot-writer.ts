// Copies a bundle's image into a slot (a partition device or a file standing in for one), flushes
// it to the medium, and reads it back to check its SHA-256: a slot is trusted only once what is on
// the medium is the signed image.
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { hashFileRange } from './bundle.js';
import type { SlotImage } from './boot-loader.js';

const COPY_BYTES = 1 << 20;

export async function writeSlot(target: string, image: SlotImage, opts: { create: boolean }): Promise<void> {
  const src = openSync(image.path, 'r');
  // A device is opened as is; a stand-in file is created or cut to the image's size.
  const dst = openSync(target, opts.create ? 'w' : 'r+');
  try {
    const buf = Buffer.alloc(COPY_BYTES);
    for (let done = 0; done < image.size; ) {
      const n = readSync(src, buf, 0, Math.min(COPY_BYTES, image.size - done), image.offset + done);
      if (n === 0) throw new Error(`${image.path} ended at ${image.offset + done} while its image was copied into ${target}`);
      let w = 0;
      while (w < n) w += writeSync(dst, buf, w, n - w, done + w);
      done += n;
      // Let the daemon's timers run between chunks (an image is hundreds of MB).
      if ((done / COPY_BYTES) % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    fsyncSync(dst);
  } finally {
    closeSync(src);
    closeSync(dst);
  }
  const sha = await hashFileRange(target, 0, image.size);
  if (sha !== image.sha256) throw new Error(`slot ${target} reads back SHA-256 ${sha} instead of the image's ${image.sha256}: the medium did not keep what was written`);
}
