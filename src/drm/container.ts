// The .sdc container (see docs/drm.md#container):
//   "SDC1" | u32 BE header length | header (UTF-8 JSON) | body
// header: { v: 1, contentId: 'sdc-<32 hex>', rightsIssuer: URL, method: 'aes-128-ctr', name,
//           plainBytes, chunkBytes, previewSeconds, previewChunks }
// body: the input cut into chunks of chunkBytes (the last one shorter); chunk i < previewChunks is
// stored clear (the preview), every other chunk is AES-128-CTR under the content key with the IV
// of chunk i (content-cipher.ts). CTR keeps sizes, so chunk i is at body offset i × chunkBytes.
import { closeSync, openSync, readSync, writeSync, fstatSync, renameSync, fsyncSync } from 'node:fs';
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { asObject, DrmError } from './encoding.js';
import { CONTENT_METHOD, cryptChunk } from './content-cipher.js';

export const SDC_MAGIC = Buffer.from('SDC1', 'ascii');
/** 1024 TS packets: a preview made of whole chunks ends on a packet boundary. */
export const DEFAULT_CHUNK_BYTES = 188 * 1024;
export const MAX_HEADER_BYTES = 64 * 1024;

export interface ContainerHeader {
  v: 1;
  contentId: string;
  rightsIssuer: string;
  method: typeof CONTENT_METHOD;
  name: string;
  plainBytes: number;
  chunkBytes: number;
  previewSeconds: number;
  previewChunks: number;
}

export function newFileContentId(): string {
  return `sdc-${randomBytes(16).toString('hex')}`;
}

export function chunkCount(h: Pick<ContainerHeader, 'plainBytes' | 'chunkBytes'>): number {
  return Math.ceil(h.plainBytes / h.chunkBytes);
}

export interface PackageOptions {
  input: string;
  output: string;
  contentKey: Uint8Array;
  contentId: string;
  rightsIssuer: string;
  previewSeconds: number;
  /** Preview in bytes (from the duration and the size); rounded up to whole chunks. */
  previewBytes: number;
  chunkBytes?: number;
}

/** Writes the container (to OUT.tmp, then renamed) and returns its header. */
export function writeContainer(o: PackageOptions): ContainerHeader {
  const chunkBytes = o.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const inFd = openSync(o.input, 'r');
  const tmp = `${o.output}.tmp-${process.pid}`;
  const outFd = openSync(tmp, 'w', 0o644);
  try {
    const plainBytes = fstatSync(inFd).size;
    const header: ContainerHeader = {
      v: 1,
      contentId: o.contentId,
      rightsIssuer: o.rightsIssuer,
      method: CONTENT_METHOD,
      name: basename(o.input),
      plainBytes,
      chunkBytes,
      previewSeconds: o.previewSeconds,
      previewChunks: o.previewBytes > 0 ? Math.ceil(o.previewBytes / chunkBytes) : 0,
    };
    const hb = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(hb.length);
    writeAll(outFd, Buffer.concat([SDC_MAGIC, len, hb]));
    const buf = Buffer.alloc(chunkBytes);
    for (let i = 0, pos = 0; pos < plainBytes; i++) {
      const n = readFull(inFd, buf, pos);
      const plain = buf.subarray(0, n);
      writeAll(outFd, i < header.previewChunks ? plain : cryptChunk(o.contentKey, i, plain));
      pos += n;
    }
    fsyncSync(outFd);
    closeSync(outFd);
    renameSync(tmp, o.output);
    return header;
  } catch (err) {
    try {
      closeSync(outFd);
    } catch {
      /* already closed */
    }
    throw err;
  } finally {
    closeSync(inFd);
  }
}

function readFull(fd: number, buf: Buffer, pos: number): number {
  let n = 0;
  while (n < buf.length) {
    const r = readSync(fd, buf, n, buf.length - n, pos + n);
    if (r === 0) break;
    n += r;
  }
  return n;
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

export function parseHeader(v: unknown, file: string): ContainerHeader {
  const h = asObject(v, `${file}: header`);
  const bad = (f: string, want: string) => new DrmError('bad-container', `${file}: header field ${f}: expected ${want}, got ${JSON.stringify(h[f])}`);
  if (h.v !== 1) throw bad('v', '1');
  if (typeof h.contentId !== 'string' || !/^sdc-[0-9a-f]{32}$/.test(h.contentId)) throw bad('contentId', 'sdc-<32 hex>');
  if (typeof h.rightsIssuer !== 'string') throw bad('rightsIssuer', 'a URL');
  if (h.method !== CONTENT_METHOD) throw bad('method', CONTENT_METHOD);
  for (const f of ['plainBytes', 'chunkBytes', 'previewChunks', 'previewSeconds']) {
    const n = h[f];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw bad(f, 'a whole number >= 0');
  }
  if ((h.chunkBytes as number) < 1) throw bad('chunkBytes', 'a whole number >= 1');
  return h as unknown as ContainerHeader;
}

/** Random access to a container's chunks (still encrypted: decryption is the DRM agent's). */
export class ContainerReader {
  static open(file: string): ContainerReader {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (err) {
      throw new DrmError('io', `cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      const pre = Buffer.alloc(8);
      if (readFull(fd, pre, 0) < 8 || !pre.subarray(0, 4).equals(SDC_MAGIC)) throw new DrmError('bad-container', `${file} is not a superdist container (no SDC1 magic)`);
      const len = pre.readUInt32BE(4);
      if (len > MAX_HEADER_BYTES) throw new DrmError('bad-container', `${file}: header of ${len} bytes is larger than ${MAX_HEADER_BYTES}`);
      const hb = Buffer.alloc(len);
      if (readFull(fd, hb, 8) < len) throw new DrmError('bad-container', `${file}: truncated header`);
      let json: unknown;
      try {
        json = JSON.parse(hb.toString('utf8'));
      } catch {
        throw new DrmError('bad-container', `${file}: header is not JSON`);
      }
      const header = parseHeader(json, file);
      const size = fstatSync(fd).size;
      if (size !== 8 + len + header.plainBytes) throw new DrmError('bad-container', `${file}: body is ${size - 8 - len} bytes, header says ${header.plainBytes} (truncated or damaged)`);
      return new ContainerReader(fd, header, 8 + len);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private constructor(
    private readonly fd: number,
    readonly header: ContainerHeader,
    private readonly bodyOffset: number,
  ) {}

  get chunks(): number {
    return chunkCount(this.header);
  }

  isClear(i: number): boolean {
    return i < this.header.previewChunks;
  }

  readChunk(i: number): Buffer {
    const h = this.header;
    const start = i * h.chunkBytes;
    const n = Math.min(h.chunkBytes, h.plainBytes - start);
    if (i < 0 || n <= 0) throw new DrmError('bad-usage', `chunk ${i} is outside 0..${this.chunks - 1}`);
    const b = Buffer.alloc(n);
    readFull(this.fd, b, this.bodyOffset + start);
    return b;
  }

  close(): void {
    closeSync(this.fd);
  }
}
