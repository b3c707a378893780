// infra destinations authn-config NAME: the AuthenticationConfiguration a destination's
// API server needs to verify Infra tokens itself (trust Direct). The issuer comes from the
// server's own OpenID discovery document, and its CA from how this CLI trusts the server,
// so the file names exactly the issuer the API server will fetch keys from.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { authenticationConfiguration } from '../../api/authentication-config.ts';
import type { Destination } from '../../api/v1alpha1/types.ts';
import type { ServerTrust } from '../config.ts';
import { CliError } from '../errors.ts';
import type { Io } from '../io.ts';
import { getObject } from '../resources.ts';
import { loggedIn } from '../session.ts';

export function registerAuthnConfig(destinations: Command, io: Io): void {
  destinations
    .command('authn-config')
    .description("print the AuthenticationConfiguration with which a Direct destination's API server verifies Infra tokens itself")
    .argument('<name>', 'the destination (its spec.trust must be Direct)')
    .option('--issuer-ca-file <file>', "the PEM CA of the Infra server's certificate as the API server sees it (default: the CA this CLI trusts it with)")
    .addHelpText(
      'after',
      `
Save it on each control-plane node and start kube-apiserver with
--authentication-config=<file> (docs/install.md#direct-trust).

Examples:
  $ infra destinations authn-config production > /etc/kubernetes/infra-authn.yaml`,
    )
    .action((name: string, options: { issuerCaFile?: string }) => printAuthnConfig(io, name, options.issuerCaFile));
}

export async function printAuthnConfig(io: Io, name: string, issuerCAFile?: string): Promise<void> {
  const { client, server, trust } = loggedIn(io);
  const destination = await getObject<Destination>(client, 'Destination', name);
  if (!destination) throw new CliError(`destination "${name}" does not exist: \`infra destinations list\` shows the destinations`);
  if (destination.spec.trust !== 'Direct') {
    throw new CliError(
      `destination "${name}" is in Proxy mode (its connector's proxy verifies tokens), so its API server needs no Infra configuration; ` +
        `for the API server to verify them itself, run \`kubectl patch destination ${name} --type=merge -p '{"spec":{"trust":"Direct"}}'\` in the hub first`,
    );
  }
  const discovery = (await client.request('GET', '/.well-known/openid-configuration')) as { issuer?: unknown };
  if (typeof discovery.issuer !== 'string') throw new CliError(`${server} published no issuer in /.well-known/openid-configuration: is it an Infra server?`);
  const issuerCA = issuerCAFile === undefined ? caFromTrust(server, trust) : readCA(issuerCAFile);
  io.out(stringify(authenticationConfiguration({ issuer: discovery.issuer, destination: name, ...(issuerCA ? { issuerCA } : {}) }), { lineWidth: 0 }));
}

/** The CA file given at login; none for a publicly trusted server; a pin names a key, not a certificate to hand on. */
function caFromTrust(server: string, trust: ServerTrust): string | undefined {
  if (trust.ca) return trust.ca;
  if (trust.fingerprint) {
    throw new CliError(
      `this CLI trusts ${server} by a pinned key, so it has no CA certificate to put in the configuration: ` +
        'pass --issuer-ca-file with the PEM CA that signs its certificate (in the hub: the tls.crt of the Secret infra-operator-ca)',
    );
  }
  return undefined;
}

function readCA(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read --issuer-ca-file ${path}: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new CliError(`--issuer-ca-file ${path} holds no PEM certificate: give the CA certificate file`);
  return text;
}
