// infra destinations authn-config: the file for a Direct destination's API server, and the
// errors for a destination that does not exist or is verified by its proxy. Whether the
// kube-apiserver accepts the file is e2e/direct-trust.test.ts's.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { AuthenticationConfiguration } from '../api/authentication-config.ts';
import type { Destination } from '../api/v1alpha1/types.ts';
import { ApiStatusError } from './errors.ts';
import { fake } from './testing.ts';

const issuer = 'https://infra.example.com';
const destinations: Record<string, Destination> = {
  production: { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: 'production' }, spec: { kind: 'kubernetes', trust: 'Direct' } },
  staging: { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: 'staging' }, spec: { kind: 'kubernetes', trust: 'Proxy' } },
};

const infraServer = () =>
  fake({
    request: (method, path) => {
      if (method === 'GET' && path === '/.well-known/openid-configuration') return { issuer, jwks_uri: `${issuer}/openid/v1/jwks` };
      const name = /^\/apis\/infrahq\.com\/v1alpha1\/destinations\/([^/]+)$/.exec(path)?.[1];
      if (method === 'GET' && name) {
        const destination = destinations[name];
        if (!destination) throw new ApiStatusError(404, 'NotFound', `destinations.infrahq.com "${name}" not found`);
        return destination;
      }
      throw new Error(`unexpected ${method} ${path}`);
    },
  });

describe('infra destinations authn-config', () => {
  it("prints an AuthenticationConfiguration for the destination: the server's issuer, the destination as the one audience, no system: names", async () => {
    const f = infraServer();
    await f.run('destinations', 'authn-config', 'production');
    const config = parse(f.out.join('\n')) as AuthenticationConfiguration;
    expect(config).toMatchObject({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthenticationConfiguration',
      jwt: [
        {
          issuer: { url: issuer, audiences: ['production'] },
          claimMappings: { username: { claim: 'sub', prefix: '' }, groups: { claim: 'groups', prefix: '' } },
        },
      ],
    });
    // Trusted through the system's CAs at login: the API server uses its own.
    expect(config.jwt[0]!.issuer.certificateAuthority).toBeUndefined();
    const rules = [...config.jwt[0]!.claimValidationRules, ...config.jwt[0]!.userValidationRules].map((r) => r.expression).join('\n');
    expect(rules).toContain("!user.username.startsWith('system:')");
    expect(rules).toContain("user.groups.all(g, !g.startsWith('system:'))");
    expect(rules).toContain("claims.sub != ''");
    expect(rules).toContain('dyn(claims.groups).all(g, type(g) == string)');
    expect(rules).toContain('double(claims.exp) - double(claims.iat) <= 600.0');
  });

  it('puts the CA given with --issuer-ca-file in the file, and refuses a file that holds no certificate', async () => {
    const f = infraServer();
    const ca = join(f.home, 'ca.crt');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    await f.run('destinations', 'authn-config', 'production', '--issuer-ca-file', ca);
    expect((parse(f.out.join('\n')) as AuthenticationConfiguration).jwt[0]!.issuer.certificateAuthority).toBe(
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    );
    writeFileSync(ca, 'not a certificate');
    await expect(f.run('destinations', 'authn-config', 'production', '--issuer-ca-file', ca)).rejects.toThrow(
      `--issuer-ca-file ${ca} holds no PEM certificate`,
    );
  });

  it('refuses a destination that does not exist, and one whose proxy verifies tokens, saying how to switch it', async () => {
    const f = infraServer();
    await expect(f.run('destinations', 'authn-config', 'nowhere')).rejects.toThrow(
      'destination "nowhere" does not exist: `infra destinations list` shows the destinations',
    );
    await expect(f.run('destinations', 'authn-config', 'staging')).rejects.toThrow(
      `destination "staging" is in Proxy mode (its connector's proxy verifies tokens), so its API server needs no Infra configuration; ` +
        `for the API server to verify them itself, run \`kubectl patch destination staging --type=merge -p '{"spec":{"trust":"Direct"}}'\` in the hub first`,
    );
    expect(f.out).toEqual([]);
  });
});
