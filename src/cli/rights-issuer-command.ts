// `superdist rights-issuer`: the operator's rights issuer over HTTP, with its state in the embedded
// journal database (--db DIR) or in PostgreSQL (--db postgres://…, several processes on one database).
import { Command } from 'commander';
import { parseHostPort } from '../config/address.js';
import { DrmError } from '../drm/encoding.js';
import { NONCE_TTL_MS, RightsIssuer } from '../drm/rights-issuer.js';
import { startRiServer } from '../drm/ri-server.js';
import { EXIT_OK, EXIT_USAGE, fail } from './common.js';

const log = (m: string) => process.stderr.write(`superdist: ${m}\n`);

async function openRi(o: { db: string; ca?: string; name: string; domainMax: number; poolSize: number }): Promise<RightsIssuer> {
  if (!/^postgres(ql)?:\/\//i.test(o.db)) {
    return new RightsIssuer({ dbDir: o.db, ...(o.ca ? { caDir: o.ca } : {}), name: o.name, domainMaxSize: o.domainMax, onWarning: log });
  }
  // Loaded only here: a box never needs the PostgreSQL client.
  const { openPgStore } = await import('../drm/ri-pg-store.js');
  const store = await openPgStore({ url: o.db, nonceTtlMs: NONCE_TTL_MS, log, poolSize: o.poolSize });
  try {
    return await RightsIssuer.open({ store, ...(o.ca ? { caDir: o.ca } : {}), name: o.name, domainMaxSize: o.domainMax });
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

export function rightsIssuerCommand(): Command {
  return new Command('rights-issuer')
    .description('run the rights issuer: device registration, content keys, rights objects, domains (HTTP JSON)')
    .requiredOption('--listen <host:port>', 'HTTP address')
    .requiredOption('--db <dir|url>', 'database: a directory (embedded journal + snapshot, the RI key and certificate) or postgres://user@host:port/db (shared by several RI processes; waits for it at start)')
    .option('--ca <dir>', 'operator CA directory: needed on the first start to issue the RI certificate')
    .option('--domain-max <n>', 'largest domain size allowed', '8')
    .option('--name <name>', 'RI name in its certificate', 'rights issuer')
    .option('--db-pool <n>', 'PostgreSQL connections of this process', '10')
    .action(async (o: { listen: string; db: string; ca?: string; domainMax: string; name: string; dbPool: string }) => {
      const hp = parseHostPort(o.listen);
      if (typeof hp === 'string') fail(`--listen ${o.listen}: ${hp}`, EXIT_USAGE);
      const max = Number(o.domainMax);
      if (!Number.isInteger(max) || max < 1) fail(`--domain-max ${o.domainMax}: expected a whole number >= 1`, EXIT_USAGE);
      const poolSize = Number(o.dbPool);
      if (!Number.isInteger(poolSize) || poolSize < 1) fail(`--db-pool ${o.dbPool}: expected a whole number >= 1`, EXIT_USAGE);
      let ri: RightsIssuer;
      try {
        ri = await openRi({ db: o.db, ...(o.ca ? { ca: o.ca } : {}), name: o.name, domainMax: max, poolSize });
      } catch (err) {
        if (err instanceof DrmError) fail(err.message, EXIT_USAGE);
        throw err;
      }
      const srv = await startRiServer(ri, hp.host, hp.port, (e) => process.stderr.write(`superdist: rights issuer error: ${e.stack ?? e.message}\n`)).catch((err: NodeJS.ErrnoException) =>
        fail(err.code === 'EADDRINUSE' ? `address ${o.listen} is already in use` : err.message),
      );
      process.stdout.write(`rights issuer ${ri.cert.id} listening on http://${hp.host}:${srv.port} (${ri.storeName})\n`);
      const stop = () => {
        void srv.close().then(async () => {
          await ri.close().catch(() => undefined);
          process.exit(EXIT_OK);
        });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
