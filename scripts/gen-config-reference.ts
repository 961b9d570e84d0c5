// Writes docs/configuration.md from the configuration schema (src/config/reference.ts).
// Run: npx tsx scripts/gen-config-reference.ts [--check]   (--check: exit 1 when the file is stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigReference } from '../src/config/reference.js';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const text = renderConfigReference();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    process.stderr.write(`${target} is stale: run npx tsx scripts/gen-config-reference.ts\n`);
    process.exit(1);
  }
  process.stdout.write(`${target} is up to date\n`);
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target} (${text.split('\n').length} lines)\n`);
}
