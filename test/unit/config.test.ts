import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envKeyToPath, loadConfig } from '../../src/config/load.js';
import { bufferBudgetForRam, MIB, MAX_BUFFER_BUDGET_BYTES } from '../../src/config/memory-budget.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';

function tmpFile(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sd-config-'));
  const f = join(dir, 'config.json');
  writeFileSync(f, content);
  return f;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has defaults for everything, including every engine tunable', () => {
    const c = loadConfig({});
    expect(c.node.role).toBe('node');
    expect(c.listen).toBe('0.0.0.0:7878');
    expect(c.engine).toEqual(DEFAULT_ENGINE_CONFIG);
    expect(c.net.maxConnections).toBeGreaterThan(0);
  });

  it('layers file < environment < flags < --set', () => {
    const file = tmpFile(JSON.stringify({ engine: { minPartners: 3, maxPartners: 9 }, tracker: '10.0.0.1:1', logLevel: 'warn' }));
    const c = loadConfig({
      file,
      env: { SUPERDIST_ENGINE__MIN_PARTNERS: '5', SUPERDIST_TRACKER: '10.0.0.2:2', HOME: '/root' },
      flags: { tracker: '10.0.0.3:3' },
      sets: ['engine.maxPartners=12'],
    });
    expect(c.engine.minPartners).toBe(5);
    expect(c.engine.maxPartners).toBe(12);
    expect(c.tracker).toBe('10.0.0.3:3');
    expect(c.logLevel).toBe('warn');
  });

  it('maps environment names to config paths', () => {
    expect(envKeyToPath('SUPERDIST_ENGINE__MIN_PARTNERS')).toEqual(['engine', 'minPartners']);
    expect(envKeyToPath('SUPERDIST_STATE_DIR')).toEqual(['stateDir']);
  });

  it('names the field, the value, where it came from and what was expected', () => {
    const msg = errorOf(() => loadConfig({ env: { SUPERDIST_ENGINE__MIN_PARTNERS: 'lots' } }));
    expect(msg).toContain('engine.minPartners');
    expect(msg).toContain('"lots"');
    expect(msg).toContain('SUPERDIST_ENGINE__MIN_PARTNERS');
    expect(msg).toContain('expected a number');
  });

  it('rejects a bad tracker address, unknown fields, bad JSON, a missing file and M > Mmax', () => {
    expect(errorOf(() => loadConfig({ flags: { tracker: 'nohost' } }))).toMatch(/tracker.*HOST:PORT/s);
    expect(errorOf(() => loadConfig({ flags: { tracker: 'h:70000' } }))).toMatch(/port must be 0\.\.65535/);
    expect(errorOf(() => loadConfig({ sets: ['engine.noSuchKnob=1'] }))).toMatch(/noSuchKnob/);
    expect(errorOf(() => loadConfig({ file: tmpFile('{"listen": ') }))).toMatch(/not valid JSON/);
    expect(errorOf(() => loadConfig({ file: '/nonexistent/superdist.json' }))).toMatch(/cannot read it \(ENOENT\)/);
    expect(errorOf(() => loadConfig({ sets: ['engine.minPartners=9', 'engine.maxPartners=4'] }))).toMatch(
      /engine\.minPartners.*must not exceed engine\.maxPartners/s,
    );
    expect(errorOf(() => loadConfig({ sets: ['nodot'] }))).toMatch(/expected PATH=VALUE/);
    expect(errorOf(() => loadConfig({ flags: { node: { role: 'king' } } }))).toMatch(/node\.role.*"king"/s);
  });

  it('sizes the buffer budget from RAM, within bounds', () => {
    expect(bufferBudgetForRam(256 * MIB)).toBeLessThan(bufferBudgetForRam(512 * MIB));
    expect(bufferBudgetForRam(512 * MIB)).toBeLessThan(bufferBudgetForRam(1024 * MIB));
    expect(bufferBudgetForRam(1024 * MIB)).toBeLessThan(bufferBudgetForRam(4096 * MIB));
    expect(bufferBudgetForRam(256 * MIB)).toBeGreaterThanOrEqual(8 * MIB);
    expect(bufferBudgetForRam(64 * 1024 * MIB)).toBe(MAX_BUFFER_BUDGET_BYTES);
  });
});
