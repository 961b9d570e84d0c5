// The tracker's ticket signing key: Ed25519, generated once and kept as PKCS#8 PEM (mode 0600) in
// the state directory; its key id is derived from the public key so tickets name their signer.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface TicketSigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** 16 hex digits of SHA-256 over the SPKI DER of the public key. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function generateTicketKey(): TicketSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

export function ticketKeyFromPem(pem: string): TicketSigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/**
 * Loads the key at `file`, or creates it (atomically, mode 0600). A key file others can read is
 * tightened to 0600, with a warning.
 */
export function loadOrCreateTicketKey(file: string, onWarning?: (message: string) => void): TicketSigningKey {
  let pem: string | undefined;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read IMS ticket key ${file}: ${(err as Error).message}`);
  }
  if (pem !== undefined) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) {
      chmodSync(file, 0o600);
      onWarning?.(`IMS ticket key ${file} was readable by others (mode ${mode.toString(8)}); changed to 600`);
    }
    try {
      return ticketKeyFromPem(pem);
    } catch (err) {
      throw new Error(`IMS ticket key ${file} is not a usable Ed25519 private key: ${(err as Error).message}`);
    }
  }
  const key = generateTicketKey();
  mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  renameSync(tmp, file);
  return key;
}
