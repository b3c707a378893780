#!/usr/bin/env node
// infra: the command line. `infra tokens` (run by kubectl for every request) prints a
// usable cached token with nothing loaded but cli/cached-token.ts and what Node loads
// anyway: no argument parser, no stdout stream, no HTTPS client. Everything else loads
// cli/full.ts. Bundled as CommonJS (hack/build.ts: Node starts a CommonJS script that
// requires built-ins faster than an ES module that imports them), so no top-level await
// and no import.meta.
import { warmCredentialLine, writeStdoutLine } from './cached-token.ts';

const warm = process.argv[2] === 'tokens' ? warmCredentialLine(process.argv.slice(3)) : undefined;
if (warm !== undefined) {
  writeStdoutLine(warm);
} else {
  void import('./full.ts')
    .then(({ runCommand }) => runCommand(process.argv))
    .then((code) => {
      process.exitCode = code;
    });
}
