// The version every Infra program reports: INFRA_VERSION when set, else the version the
// bundle was built from (hack/build.ts), else package.json's when run from the sources.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Replaced by hack/build.ts with package.json's version; undeclared in the sources. */
declare const INFRA_BUILD_VERSION: string | undefined;

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export const version = process.env.INFRA_VERSION ?? (typeof INFRA_BUILD_VERSION === 'string' ? INFRA_BUILD_VERSION : packageVersion());
