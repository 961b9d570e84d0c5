// A published channel keeps its Ed25519 key in the state directory, so its channel id (which is the
// public key) stays the same across restarts of the source.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { channelKeysFromPkcs8, exportPrivateKey, generateChannelKeys, type ChannelKeys } from './chunk-signing.js';

const NAME_RE = /^[0-9A-Za-z._-]{1,64}$/;

export function channelKeyPath(stateDir: string, name: string): string {
  if (!NAME_RE.test(name)) throw new Error(`channel name ${JSON.stringify(name)}: expected 1-64 letters, digits, . _ -`);
  return join(stateDir, 'channels', `${name}.key`);
}

export function loadOrCreateChannelKeys(stateDir: string, name: string): ChannelKeys {
  const file = channelKeyPath(stateDir, name);
  let der: Buffer | undefined;
  try {
    der = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read channel key ${file}: ${(err as Error).message}`);
  }
  if (der) {
    try {
      return channelKeysFromPkcs8(der);
    } catch (err) {
      throw new Error(`channel key ${file} is damaged (${(err as Error).message}); move it away to create a new channel id`);
    }
  }
  const keys = generateChannelKeys();
  mkdirSync(join(stateDir, 'channels'), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, exportPrivateKey(keys.privateKey), { mode: 0o600 });
  renameSync(tmp, file);
  return keys;
}
