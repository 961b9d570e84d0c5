// The page's static files (src/web/static/). The bundle carries them inside: esbuild.config.mjs reads
// the directory at build time and defines SUPERDIST_WEB_STATIC as the JSON text of { name: text }, so the one-file
// bundle serves the page from memory with nothing on disk. Run from source, they are read from disk.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

declare const SUPERDIST_WEB_STATIC: string | undefined;

export interface StaticAsset {
  body: Buffer;
  type: string;
  etag: string;
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

const STATIC_FILES_JSON: string = typeof SUPERDIST_WEB_STATIC === 'string' ? SUPERDIST_WEB_STATIC : JSON.stringify(fromDisk());

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
  return out;
}
