// The owner's credential: a scrypt hash in STATE_DIR/web-owner.json (mode 600), never a default
// password. Set by `superdist web set-password` or, on first boot, by the first visitor who knows the
// one-time setup code the service writes to its journal (setup-code.ts).
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OWNER_FILE = 'web-owner.json';
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

export interface StoredCredential {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  hash: string;
  /** Random id of this credential: owner sessions made with an older one are no longer valid. */
  id: string;
  setAt: string;
}

/** N = 2^14, r = 8: 16 MiB and about 50 ms per check on a Raspberry Pi 4. */
export const DEFAULT_SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(pw: unknown): string | undefined {
  if (typeof pw !== 'string') return 'the password must be text';
  if (pw.length < MIN_PASSWORD_LENGTH) return `the password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (pw.length > MAX_PASSWORD_LENGTH) return `the password may have at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

function derive(pw: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 256 * o.N * o.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(pw.normalize('NFC'), salt, KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(pw: string, params: { N: number; r: number; p: number } = DEFAULT_SCRYPT): Promise<StoredCredential> {
  const problem = passwordProblem(pw);
  if (problem) throw new Error(problem);
  const salt = randomBytes(16);
  const key = await derive(pw, salt, params);
  return { kdf: 'scrypt', ...params, salt: salt.toString('base64'), hash: key.toString('base64'), id: randomBytes(9).toString('base64url'), setAt: new Date().toISOString() };
}

export async function verifyPassword(pw: string, cred: StoredCredential): Promise<boolean> {
  if (typeof pw !== 'string' || pw.length > MAX_PASSWORD_LENGTH) return false;
  const expected = Buffer.from(cred.hash, 'base64');
  const key = await derive(pw, Buffer.from(cred.salt, 'base64'), cred);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

function parseCredential(text: string, path: string): StoredCredential {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON: set the password again (superdist web set-password)`);
  }
  const c = v as Partial<StoredCredential>;
  const ok =
    c && c.kdf === 'scrypt' && Number.isInteger(c.N) && Number.isInteger(c.r) && Number.isInteger(c.p) && typeof c.salt === 'string' && typeof c.hash === 'string' && typeof c.id === 'string';
  if (!ok) throw new Error(`${path} is not an owner credential: set the password again (superdist web set-password)`);
  return c as StoredCredential;
}

/** Reads STATE_DIR/web-owner.json; undefined when it does not exist. */
export function readCredential(stateDir: string): StoredCredential | undefined {
  const path = join(stateDir, OWNER_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseCredential(text, path);
}

/**
 * Writes the credential atomically with mode 600. Run as root (sudo superdist web set-password), the
 * file is handed to the owner of the state directory, so the service's own user can read it.
 */
export function writeCredential(stateDir: string, cred: StoredCredential): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, OWNER_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(cred, null, 2)}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const st = statSync(stateDir);
    if (st.uid !== 0) chownSync(tmp, st.uid, st.gid);
  }
  renameSync(tmp, path);
  return path;
}

/** The service's view of the credential file: re-read when it changes (the CLI may set it at any time). */
export class OwnerCredential {
  private cached: { mtimeMs: number; size: number; cred: StoredCredential | undefined } | undefined;

  constructor(private readonly stateDir: string) {}

  current(): StoredCredential | undefined {
    const path = join(this.stateDir, OWNER_FILE);
    let st;
    try {
      st = statSync(path);
    } catch {
      this.cached = undefined;
      return undefined;
    }
    if (this.cached && this.cached.mtimeMs === st.mtimeMs && this.cached.size === st.size) return this.cached.cred;
    const cred = readCredential(this.stateDir);
    this.cached = { mtimeMs: st.mtimeMs, size: st.size, cred };
    return cred;
  }

  isSet(): boolean {
    try {
      return this.current() !== undefined;
    } catch {
      return true; // a damaged file is not "no password": nobody gets in until it is set again
    }
  }

  /** The credential id when the password is right, undefined otherwise. */
  async verify(pw: string): Promise<string | undefined> {
    const cred = this.current();
    if (!cred) return undefined;
    return (await verifyPassword(pw, cred)) ? cred.id : undefined;
  }

  async set(pw: string): Promise<StoredCredential> {
    const cred = await hashPassword(pw);
    writeCredential(this.stateDir, cred);
    this.cached = undefined;
    return cred;
  }
}
