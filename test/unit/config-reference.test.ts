import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envKeyToPath, loadConfig } from '../../src/config/load.js';
import { CONFIG_FLAGS, configKeys, renderConfigReference } from '../../src/config/reference.js';
import { configSchema } from '../../src/config/schema.js';
import { nodeCommand, trackerCommand } from '../../src/cli/service-commands.js';
import { publishCommand } from '../../src/cli/live-commands.js';
import { publishFileCommand } from '../../src/cli/download-commands.js';

const DOC = new URL('../../docs/configuration.md', import.meta.url);

/** Dotted paths of every leaf of the parsed defaults (objects recurse; arrays and scalars are leaves). */
function leafPaths(value: unknown, prefix: string[] = []): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix.join('.')];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

describe('configuration reference (docs/configuration.md)', () => {
  it('is what the schema generates (regenerate with npx tsx scripts/gen-config-reference.ts)', () => {
    const onDisk = readFileSync(DOC, 'utf8');
    // Compared as text so a stale file shows the differing lines.
    expect(onDisk, 'docs/configuration.md is stale: run npx tsx scripts/gen-config-reference.ts').toBe(renderConfigReference());
  });

  it('gives every schema key a meaning from the schema itself', () => {
    const undescribed = configKeys().filter((k) => k.meaning.trim() === '').map((k) => k.path);
    expect(undescribed).toEqual([]);
  });

  it('notices a key without a description', () => {
    const schema = z.object({ a: z.number().default(1).describe('documented'), b: z.string().default('') });
    expect(configKeys(schema).filter((k) => !k.meaning).map((k) => k.path)).toEqual(['b']);
  });

  it('lists every leaf key of the schema, with its default', () => {
    const defaults = configSchema.parse({});
    const leaves = leafPaths(defaults);
    expect(leaves.length).toBeGreaterThan(150);
    const doc = readFileSync(DOC, 'utf8');
    const missing = leaves.filter((p) => !doc.includes(`| \`${p}\` |`));
    expect(missing).toEqual([]);
    expect(configKeys().map((k) => k.path).sort()).toEqual([...leaves].sort());
    expect(doc).toContain('| `live.prebufferMs` | `3000` (3 s) | ms |');
  });

  it('names the environment variable that really sets each key', () => {
    for (const k of configKeys()) expect(envKeyToPath(k.env), k.env).toEqual(k.path.split('.'));
    const c = loadConfig({ env: { SUPERDIST_LIVE__PREBUFFER_MS: '4500', SUPERDIST_SEGMENT__BLE__DEVICE: '1' } });
    expect(c.live.prebufferMs).toBe(4500);
    expect(c.segment.ble.device).toBe(1);
  });

  it('names only flags a command declares, for keys that exist', () => {
    const publish = publishCommand();
    const commands: Command[] = [nodeCommand(), trackerCommand(), ...publish.commands, publishFileCommand()];
    const declared = new Set(commands.flatMap((c) => c.options.map((o) => o.long)));
    const paths = new Set(configKeys().map((k) => k.path));
    for (const [path, flags] of Object.entries(CONFIG_FLAGS)) {
      expect(paths.has(path), path).toBe(true);
      for (const flag of flags) expect(declared.has(flag), `${flag} (${path})`).toBe(true);
    }
  });
});
