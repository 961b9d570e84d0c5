// The DRM agent on the on-demand player path: a .sdc container (possibly still downloading) read as
// the clear MPEG-TS the player plays, decrypted chunk by chunk as the player reads — all of it when
// a play may start (the play is counted once, when the source opens), else only the clear preview
// chunks: then the player sees a file that ends where the preview ends. An expiring permission ends
// the stream at the chunk where it ends. Clear bytes exist only in memory on their way to the player.
import type { ByteSource } from '../player/byte-source.js';
import { chunkCount, MAX_HEADER_BYTES, parseHeader, SDC_MAGIC, type ContainerHeader } from './container.js';
import { cryptChunk } from './content-cipher.js';
import type { DrmAgent, PlayGrant, RightsState } from './drm-agent.js';
import { DrmError } from './encoding.js';

export type ProtectedRights = RightsState | { state: 'stopped'; reason: string; roId: string };

/** Whether the first bytes of a file are a superdist container's. */
export function isContainer(first: Uint8Array): boolean {
  return first.length >= 4 && Buffer.from(first.subarray(0, 4)).equals(SDC_MAGIC);
}

/** `n` bytes of `src` from `offset`, over as many reads as it takes. */
async function readExactly(src: ByteSource, offset: number, n: number, signal: AbortSignal): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const b = await src.read(offset + got, n - got, signal);
    parts.push(Uint8Array.from(b));
    got += b.length;
  }
  return Buffer.concat(parts, n);
}

export class ProtectedByteSource implements ByteSource {
  readonly contentType = 'video/mp2t';
  readonly sizeBytes: number;
  private cached: { index: number; data: Buffer } | undefined;

  /** Reads the container's header from `inner` (waiting for it) and asks the agent for a play. */
  static async open(inner: ByteSource, agent: DrmAgent, name: string, signal: AbortSignal, now: () => number = Date.now): Promise<ProtectedByteSource> {
    const pre = await readExactly(inner, 0, 8, signal);
    if (!isContainer(pre)) throw new DrmError('bad-container', `${name} is not a superdist container (no SDC1 magic)`);
    const len = pre.readUInt32BE(4);
    if (len > MAX_HEADER_BYTES) throw new DrmError('bad-container', `${name}: header of ${len} bytes is larger than ${MAX_HEADER_BYTES}`);
    let json: unknown;
    try {
      json = JSON.parse((await readExactly(inner, 8, len, signal)).toString('utf8'));
    } catch (err) {
      if (err instanceof SyntaxError) throw new DrmError('bad-container', `${name}: header is not JSON`);
      throw err;
    }
    const header = parseHeader(json, name);
    if (inner.sizeBytes !== 8 + len + header.plainBytes) throw new DrmError('bad-container', `${name}: body is ${inner.sizeBytes - 8 - len} bytes, header says ${header.plainBytes}`);
    let rights: ProtectedRights = agent.rights(header.contentId, now());
    let grant: PlayGrant | undefined;
    if (rights.state === 'allowed') {
      try {
        grant = agent.startPlay(header.contentId, now());
      } catch (err) {
        if (!(err instanceof DrmError)) throw err;
        rights = { state: 'preview-only', reason: err.message };
      }
    }
    return new ProtectedByteSource(inner, header, 8 + len, grant, rights, now);
  }

  private constructor(
    private readonly inner: ByteSource,
    readonly header: ContainerHeader,
    private readonly bodyOffset: number,
    private readonly grant: PlayGrant | undefined,
    private currentRights: ProtectedRights,
    private readonly now: () => number,
  ) {
    const h = header;
    this.sizeBytes = grant ? h.plainBytes : Math.min(h.plainBytes, h.previewChunks * h.chunkBytes);
  }

  /** What the agent decided (allowed with the RO, preview-only and why, or stopped when the permission ended). */
  get rights(): ProtectedRights {
    return this.currentRights;
  }

  get chunks(): number {
    return chunkCount(this.header);
  }

  async read(offset: number, max: number, signal: AbortSignal): Promise<Uint8Array> {
    if (!(offset >= 0 && offset < this.sizeBytes)) throw new RangeError(`offset ${offset} is outside 0..${this.sizeBytes - 1}`);
    const h = this.header;
    const index = Math.floor(offset / h.chunkBytes);
    const chunk = await this.chunk(index, signal);
    const start = offset - index * h.chunkBytes;
    return chunk.subarray(start, Math.min(chunk.length, start + max, this.sizeBytes - index * h.chunkBytes));
  }

  private async chunk(index: number, signal: AbortSignal): Promise<Buffer> {
    if (this.cached?.index === index) return this.cached.data;
    const h = this.header;
    const start = index * h.chunkBytes;
    const n = Math.min(h.chunkBytes, h.plainBytes - start);
    const stored = await readExactly(this.inner, this.bodyOffset + start, n, signal);
    let data: Buffer;
    if (index < h.previewChunks) data = stored;
    else if (this.grant) {
      const stop = this.grant.check(this.now());
      if (stop) {
        this.currentRights = { state: 'stopped', reason: stop, roId: this.grant.roId };
        throw new DrmError('no-rights', stop);
      }
      data = cryptChunk(this.grant.key, index, stored);
    } else throw new DrmError('no-rights', `chunk ${index} is past the preview`);
    this.cached = { index, data };
    return data;
  }
}
