// The version every Infra program reports: package.json's, unless the build stamps one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function packageVersion(): string {
  for (const dir of [join(import.meta.dirname, '..'), join(import.meta.dirname, '..', '..')]) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // not in this directory (compiled to dist/lib): try the parent
    }
  }
  return 'unknown';
}

export const version = process.env.INFRA_VERSION ?? packageVersion();
