// The product version: injected by esbuild into the bundle, read from package.json when run from source.
import { readFileSync } from 'node:fs';

declare const SUPERDIST_VERSION: string | undefined;

function fromPackageJson(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    return `${pkg.version}-dev`;
  } catch {
    return 'dev';
  }
}

export const VERSION: string = typeof SUPERDIST_VERSION === 'string' ? SUPERDIST_VERSION : fromPackageJson();
