// Bundles the whole service into one CommonJS file that runs with no node_modules present.
// Native addons (the BLE beacon's HCI socket) stay external and are loaded lazily at run time.
import { build } from 'esbuild';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

// The web page's static files travel inside the bundle (src/web/static-assets.ts serves them from memory).
const webStaticDir = new URL('./src/web/static/', import.meta.url);
const webStatic = Object.fromEntries(readdirSync(webStaticDir).sort().map((name) => [name, readFileSync(new URL(name, webStaticDir), 'utf8')]));
// Vendored browser scripts (hls.js for phones), gzip + base64: served compressed, small on the heap.
// Keep in step with VENDOR_FILES in src/web/static-assets.ts (file and license line).
const require = createRequire(import.meta.url);
const hlsVersion = JSON.parse(readFileSync(require.resolve('hls.js/package.json'), 'utf8')).version;
const hlsBanner = `/*! hls.js ${hlsVersion} (light build) | Apache License 2.0 | https://github.com/video-dev/hls.js */\n`;
const webVendor = { 'hls.min.js': gzipSync(Buffer.concat([Buffer.from(hlsBanner), readFileSync(require.resolve('hls.js/dist/hls.light.min.js'))]), { level: 9 }).toString('base64') };

// @achingbrain/ssdp (UPnP discovery, src/net/nat-port-mapper.ts) reads its own package.json at load
// through import.meta.url, which a CommonJS bundle does not have: its name and version go in at build.
const ssdpPkg = JSON.parse(readFileSync(new URL('./node_modules/@achingbrain/ssdp/package.json', import.meta.url), 'utf8'));
const inlineSsdpPackageJson = {
  name: 'inline-ssdp-package-json',
  setup(b) {
    b.onLoad({ filter: /@achingbrain[\\/]ssdp[\\/]dist[\\/]src[\\/]ssdp\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const out = src.replace(
        "const req = createRequire(import.meta.url);\nconst { name, version } = req('../../package.json');",
        `const { name, version } = ${JSON.stringify({ name: ssdpPkg.name, version: ssdpPkg.version })};`,
      );
      if (out === src) throw new Error('@achingbrain/ssdp changed: update inlineSsdpPackageJson in esbuild.config.mjs');
      return { contents: out, loader: 'js' };
    });
  },
};

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/superdist.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: false,
  legalComments: 'none',
  // Less resident memory: V8 keeps the bundle's source text on its heap, and a text with any
  // character outside Latin-1 (e.g. in a comment) as UTF-16 at twice the size. Without whitespace
  // and comments, and ASCII only (below), it is about 1.8 MB instead of 4.9 MB.
  minifyWhitespace: true,
  charset: 'ascii',
  banner: { js: '#!/usr/bin/env node' },
  define: { SUPERDIST_VERSION: JSON.stringify(pkg.version), SUPERDIST_WEB_STATIC: JSON.stringify(JSON.stringify(webStatic)), SUPERDIST_WEB_VENDOR: JSON.stringify(JSON.stringify(webVendor)) },
  external: ['@abandonware/bluetooth-hci-socket', 'usb'],
  logLevel: 'warning',
  plugins: [inlineSsdpPackageJson],
});

// esbuild leaves regular-expression literals as written: escape what is left outside ASCII.
const outfile = new URL('./dist/superdist.cjs', import.meta.url);
const text = readFileSync(outfile, 'utf8');
const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
if (ascii !== text) writeFileSync(outfile, ascii);
