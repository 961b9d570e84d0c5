// The .sdc container: header, clear preview chunks, encrypted body, damage detection.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContainerReader, writeContainer, newFileContentId } from '../../src/drm/container.js';
import { cryptChunk, newContentKey } from '../../src/drm/content-cipher.js';

describe('.sdc container', () => {
  it('keeps preview chunks clear, encrypts the rest per chunk, and reads back any chunk alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sd-sdc-'));
    const plain = randomBytes(10_000);
    writeFileSync(join(dir, 'in.ts'), plain);
    const key = newContentKey();
    const h = writeContainer({ input: join(dir, 'in.ts'), output: join(dir, 'out.sdc'), contentKey: key, contentId: newFileContentId(), rightsIssuer: 'http://ri:1', previewSeconds: 2, previewBytes: 2500, chunkBytes: 1000 });
    expect(h.previewChunks).toBe(3);
    const r = ContainerReader.open(join(dir, 'out.sdc'));
    expect(r.header).toEqual(h);
    expect(r.chunks).toBe(10);
    expect(r.readChunk(0).equals(plain.subarray(0, 1000))).toBe(true);
    expect(r.readChunk(2).equals(plain.subarray(2000, 3000))).toBe(true);
    expect(r.readChunk(3).equals(plain.subarray(3000, 4000))).toBe(false);
    expect(cryptChunk(key, 3, r.readChunk(3)).equals(plain.subarray(3000, 4000))).toBe(true);
    expect(cryptChunk(key, 9, r.readChunk(9)).equals(plain.subarray(9000))).toBe(true);
    r.close();
    // No plaintext beyond the preview in the file.
    expect(readFileSync(join(dir, 'out.sdc')).includes(plain.subarray(5000, 5064))).toBe(false);

    truncateSync(join(dir, 'out.sdc'), 5000);
    expect(() => ContainerReader.open(join(dir, 'out.sdc'))).toThrow(/truncated or damaged/);
    writeFileSync(join(dir, 'x.sdc'), 'hello world');
    expect(() => ContainerReader.open(join(dir, 'x.sdc'))).toThrow(/not a superdist container/);
  });
});
