// The page's static files (src/web/static/). The bundle carries them inside: esbuild.config.mjs reads
// the directory at build time and defines SUPERDIST_WEB_STATIC as the JSON text of { name: text }, so the one-file
// bundle serves the page from memory with nothing on disk. Run from source, they are read from disk.
// Vendored scripts (VENDOR_FILES: hls.js, which plays channels on phones) travel gzip-compressed,
// base64 in SUPERDIST_WEB_VENDOR, and are served compressed (Content-Encoding: gzip).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

declare const SUPERDIST_WEB_STATIC: string | undefined;
declare const SUPERDIST_WEB_VENDOR: string | undefined;

/** URL name → npm package and file (resolved from node_modules at build time), served with a license line. */
export const VENDOR_FILES: Readonly<Record<string, { pkg: string; file: string; banner: (version: string) => string }>> = {
  'hls.min.js': { pkg: 'hls.js', file: 'dist/hls.light.min.js', banner: (v) => `/*! hls.js ${v} (light build) | Apache License 2.0 | https://github.com/video-dev/hls.js */\n` },
};

export interface StaticAsset {
  body: Buffer;
  type: string;
  etag: string;
  /** `body` is gzip-compressed. */
  gzip?: boolean;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json',
  webmanifest: 'application/manifest+json',
};

function typeOf(name: string): string {
  return TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

function fromDisk(): Record<string, string> {
  try {
    const dir = new URL('./static/', import.meta.url);
    const out: Record<string, string> = {};
    for (const name of readdirSync(dir)) out[name] = readFileSync(new URL(name, dir), 'utf8');
    return out;
  } catch (err) {
    throw new Error(`the web page's files are missing (src/web/static): ${(err as Error).message}`);
  }
}

function vendorFromDisk(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(VENDOR_FILES)) {
    try {
      const dir = new URL(`../../node_modules/${v.pkg}/`, import.meta.url);
      const { version } = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { version: string };
      out[name] = gzipSync(Buffer.concat([Buffer.from(v.banner(version)), readFileSync(new URL(v.file, dir))]), { level: 9 }).toString('base64');
    } catch (err) {
      throw new Error(`the web page's vendored script ${v.pkg}/${v.file} is missing (npm install): ${(err as Error).message}`);
    }
  }
  return out;
}

const STATIC_FILES_JSON: string = typeof SUPERDIST_WEB_STATIC === 'string' ? SUPERDIST_WEB_STATIC : JSON.stringify(fromDisk());
const VENDOR_FILES_JSON: string | undefined = typeof SUPERDIST_WEB_VENDOR === 'string' ? SUPERDIST_WEB_VENDOR : undefined;

/** URL path (`/`, `/app.js`) → asset. */
export function loadStaticAssets(): Map<string, StaticAsset> {
  const files = JSON.parse(STATIC_FILES_JSON) as Record<string, string>;
  const out = new Map<string, StaticAsset>();
  for (const [name, text] of Object.entries(files)) {
    const body = Buffer.from(text, 'utf8');
    const asset = { body, type: typeOf(name), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    out.set(`/${name}`, asset);
    if (name === 'index.html') out.set('/', asset);
  }
  const vendor = JSON.parse(VENDOR_FILES_JSON ?? JSON.stringify(vendorFromDisk())) as Record<string, string>;
  for (const [name, b64] of Object.entries(vendor)) {
    const body = Buffer.from(b64, 'base64');
    out.set(`/${name}`, { body, type: typeOf(name), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, gzip: true });
  }
  return out;
}
