import { describe, expect, it } from 'vitest';
import { parseRegistryUrl } from '../../src/tracker/registry-url.js';
import { contentKeys } from '../../src/tracker/redis-registry.js';
import { FD_RESERVE, trackerConnectionLimit } from '../../src/tracker/open-registry.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/platform/logger.js';

describe('registry setting', () => {
  it('parses a single server and a cluster, and names what is wrong otherwise', () => {
    expect(parseRegistryUrl('redis://10.0.0.5:6379/2')).toEqual({ kind: 'redis', urls: ['redis://10.0.0.5:6379/2'] });
    expect(parseRegistryUrl('redis-cluster://a:7000, b:7001,[::1]:7002')).toEqual({ kind: 'redis-cluster', urls: ['redis://a:7000', 'redis://b:7001', 'redis://[::1]:7002'] });
    expect(parseRegistryUrl('postgres://x')).toMatch(/expected memory, redis:\/\/HOST:PORT or redis-cluster:\/\//);
    expect(parseRegistryUrl('redis-cluster://a:7000,b')).toMatch(/b is not HOST:PORT/);
    expect(() => loadConfig({ flags: { registry: 'mysql://db' } })).toThrow(/registry/);
    expect(loadConfig({ flags: { registry: 'redis-cluster://a:7000' } }).registry).toBe('redis-cluster://a:7000');
    expect(loadConfig({ flags: {} }).registry).toBe('memory');
  });

  it('keys a content by its id with braces escaped, so the hash tag is always ours', () => {
    expect(contentKeys('news')).toEqual(['sd:{news}:z', 'sd:{news}:h']);
    expect(contentKeys('a}b{c%')).toEqual(['sd:{a%7Db%7Bc%25}:z', 'sd:{a%7Db%7Bc%25}:h']);
  });

  it('keeps the connection limit within the open-file limit, saying so', () => {
    const lines: string[] = [];
    const log = createLogger('silent');
    const spy = { ...log, info: (_o: unknown, m: string) => void lines.push(`info ${m}`), warn: (_o: unknown, m: string) => void lines.push(`warn ${m}`) } as unknown as typeof log;
    expect(trackerConnectionLimit(4096, 8192, spy)).toBe(4096);
    expect(trackerConnectionLimit(4096, 1024, spy)).toBe(1024 - FD_RESERVE);
    expect(trackerConnectionLimit(4096, undefined, spy)).toBe(4096);
    expect(lines[0]).toMatch(/^info tracker: up to 4096 connections; open-file limit 8192/);
    expect(lines[1]).toMatch(/^warn tracker: net.trackerMaxConnections 4096 exceeds the open-file limit 1024 .* accepting at most 960 connections/);
  });
});
