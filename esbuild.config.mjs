// Bundles the whole service into one CommonJS file that runs with no node_modules present.
// Native addons (the BLE beacon's HCI socket) stay external and are loaded lazily at run time.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/superdist.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: false,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  define: { SUPERDIST_VERSION: JSON.stringify(pkg.version) },
  external: ['@abandonware/bluetooth-hci-socket', 'usb'],
  logLevel: 'warning',
});
