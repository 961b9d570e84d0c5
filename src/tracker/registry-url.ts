// `--registry` / the `registry` config key: memory (the embedded default), a single Redis server or
// a Redis Cluster. Parsed without loading the Redis client (the config schema validates with it).

export interface RedisTarget {
  kind: 'redis' | 'redis-cluster';
  /** Node URLs (redis://host:port[/db]); one for a single server, the seed nodes of a cluster. */
  urls: string[];
}

/** Parses `redis://HOST:PORT[/DB]` or `redis-cluster://HOST:PORT,HOST:PORT,...`; a string names the problem. */
export function parseRegistryUrl(text: string): RedisTarget | string {
  const m = /^(redis|rediss|redis-cluster):\/\/(.+)$/.exec(text);
  if (!m) return `expected memory, redis://HOST:PORT or redis-cluster://HOST:PORT,HOST:PORT,... (got ${JSON.stringify(text)})`;
  const scheme = m[1] as string;
  const rest = m[2] as string;
  if (scheme !== 'redis-cluster') {
    try {
      const u = new URL(text);
      if (!u.hostname) return `${text}: no host`;
    } catch {
      return `${text}: not a URL`;
    }
    return { kind: 'redis', urls: [text] };
  }
  const nodes = rest.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (nodes.length === 0) return `${text}: no node listed`;
  for (const n of nodes) if (!/^[^\s/:]+:\d{1,5}$/.test(n) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(n)) return `${text}: ${n} is not HOST:PORT`;
  return { kind: 'redis-cluster', urls: nodes.map((n) => `redis://${n}`) };
}
