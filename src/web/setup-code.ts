// The one-time setup code of first boot: while no owner password exists, the service makes a random
// code and writes it to its journal; whoever can read the journal (the installer, over SSH or on the
// console) can set the owner password on the page. The code dies once a password exists.
import { randomInt, timingSafeEqual } from 'node:crypto';

/** No 0/O, 1/I/L: the code is read off a screen and typed on a phone. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export function makeSetupCode(random: (max: number) => number = randomInt): string {
  let s = '';
  for (let i = 0; i < 12; i++) s += ALPHABET[random(ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

function normalize(code: string): string {
  return code.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

export class SetupCode {
  private code: string | undefined;

  constructor(code?: string) {
    this.code = code;
  }

  get active(): boolean {
    return this.code !== undefined;
  }

  /** The code, for the journal; undefined once used. */
  value(): string | undefined {
    return this.code;
  }

  matches(typed: unknown): boolean {
    if (!this.code || typeof typed !== 'string') return false;
    const a = Buffer.from(normalize(typed));
    const b = Buffer.from(normalize(this.code));
    return a.length === b.length && timingSafeEqual(a, b);
  }

  consume(): void {
    this.code = undefined;
  }
}
