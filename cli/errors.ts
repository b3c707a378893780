// The CLI's errors: each becomes one line on stderr that says what to do, and exit 1.
// Node built-ins only (the `infra tokens` fast path imports this).

/** An error whose message is already what the user should read. */
export class CliError extends Error {
  override name = 'CliError';
}

/** The server answered with a Kubernetes Status. */
import { StatusError as ApiStatusError } from '../lib/status-error.ts';
export { ApiStatusError };

/** No TCP/TLS connection to the server (refused, unknown host, timeout...). */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
  readonly server: string;
  readonly cause_: string;

  constructor(server: string, cause: string) {
    super(`cannot reach ${server}: is the server address right? (${cause})`);
    this.server = server;
    this.cause_ = cause;
  }
}

/** The server's certificate verifies against nothing the CLI trusts for it. */
export class UntrustedCertificateError extends Error {
  override name = 'UntrustedCertificateError';
  readonly server: string;
  /** SHA-256 of the public key of the server's CA (the top of the chain it presented), as AA:BB:… */
  readonly fingerprint: string;
  readonly reason: string;

  constructor(server: string, fingerprint: string, reason: string) {
    super(
      `the certificate of ${server} is not trusted (${reason}); the SHA-256 fingerprint of its CA's key is ${fingerprint}. ` +
        `If that is your server, run \`infra login ${server} --trust-fingerprint ${fingerprint}\` or pass --ca-file with the server's CA certificate`,
    );
    this.server = server;
    this.fingerprint = fingerprint;
    this.reason = reason;
  }
}

/** A CA key is pinned for the server and its certificate does not chain to it: never asked about, always refused. */
export class PinMismatchError extends Error {
  override name = 'PinMismatchError';

  constructor(server: string, pin: string, problem: string) {
    super(
      `the certificate of ${server} does not match the CA key pinned for it, ${pin}: ${problem}. Nothing was sent. ` +
        `Someone may be intercepting the connection. If your administrator confirms that the server's CA changed, ` +
        `get its new CA key fingerprint from them and run \`infra login ${server} --trust-fingerprint <fingerprint>\``,
    );
  }
}

export const sessionExpired = 'your session has expired or was revoked: run `infra login`';

/** Turns anything thrown into the one line the user reads. */
export function describeError(err: unknown): string {
  if (err instanceof ApiStatusError) return err.code === 401 ? sessionExpired : err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return `${err.message}: check the file's permissions`;
    return err.message;
  }
  return String(err);
}
