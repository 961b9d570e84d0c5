// Node's file errors as the download plane's StorageError: a full disk (ENOSPC, EDQUOT) is
// 'disk-full', anything else 'io', each with a message that names the file and what was being done.
import { StorageError } from '../engine/download-ports.js';

export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function storageError(err: unknown, doing: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as NodeJS.ErrnoException;
  const why = e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? err);
  return isDiskFull(err) ? new StorageError('disk-full', `no space left on device ${doing}`) : new StorageError('io', `${doing} failed (${why})`);
}
