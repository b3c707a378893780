// What the pinned kube-apiserver records for a request it authenticated itself with an
// Infra token, through a JWT authenticator of its structured authentication
// (--authentication-config): user.extra["authentication.kubernetes.io/credential-id"] =
// JTI=<jti>, in `kubectl auth whoami` and in its audit log. That is the form lib/audit.ts
// gives the proxy's and the operator's lines, and test/audit-trail.ts's requestsWithToken
// finds the spoke's line by it: the direct-mode join, short of the operator. Its own
// control plane (the flag lives as long as the API server), with the token's issuer (its
// discovery document and JWKS) served from a local HTTPS server.
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, issueToken, publicJwks, type SigningKey } from '../api/tokens.ts';
import { ControlPlane } from '../hack/controlplane/controlplane.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import { credentialIDKey, jtiCredentialID } from '../lib/audit.ts';
import { createCertificateAuthority } from '../lib/pki.ts';
import { readAuditLog, requestsWithToken } from '../test/audit-trail.ts';
import { kubectl } from '../test/cluster.ts';

const audience = 'production';
const ann = 'ann@example.com';
let issuerServer: Server;
let issuer: string;
let key: SigningKey;
let controlPlane: ControlPlane;
let dir: string;

/** A kubeconfig for the spoke of this suite's control plane with a bearer token. */
async function tokenKubeconfig(token: string): Promise<string> {
  const spoke = controlPlane.state.clusters.spoke;
  const path = join(dir, `token-${Math.random().toString(36).slice(2)}.kubeconfig`);
  const ca = Buffer.from(await readFile(spoke.files.servingCA)).toString('base64');
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'spoke', cluster: { server: spoke.server, 'certificate-authority-data': ca } }],
      users: [{ name: 'infra', user: { token } }],
      contexts: [{ name: 'spoke', context: { cluster: 'spoke', user: 'infra' } }],
      'current-context': 'spoke',
    }),
    { mode: 0o600 },
  );
  return path;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-direct-audit-'));
  const ca = await createCertificateAuthority('issuer CA');
  const serving = await ca.issue({ commonName: 'localhost', ipAddresses: ['127.0.0.1'], usage: 'server' });
  key = await generateSigningKey();
  issuerServer = createServer(serving, (req, res) => {
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration')
      return json({ issuer, jwks_uri: `${issuer}/openid/v1/jwks`, id_token_signing_alg_values_supported: ['ES256'] });
    if (req.url === '/openid/v1/jwks') return json(publicJwks([key]));
    res.writeHead(404).end();
  });
  issuerServer.listen(0, '127.0.0.1');
  await once(issuerServer, 'listening');
  issuer = `https://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  const authenticationConfig = join(dir, 'authentication-config.yaml');
  await writeFile(
    authenticationConfig,
    stringify({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AuthenticationConfiguration',
      jwt: [
        {
          issuer: { url: issuer, audiences: [audience], certificateAuthority: ca.cert },
          claimMappings: { username: { claim: 'sub', prefix: '' }, groups: { claim: 'groups', prefix: '' } },
        },
      ],
    }),
  );
  controlPlane = await ControlPlane.start({ auditLog: true, apiServerFlags: [`--authentication-config=${authenticationConfig}`] });
}, 180_000);

afterAll(async () => {
  await controlPlane?.stop();
  issuerServer?.closeAllConnections();
  issuerServer?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a kube-apiserver that verifies Infra tokens itself', () => {
  it('records the token’s jti as the credential id, JTI=<jti>, in whoami and in its audit log', async () => {
    const { token, jti } = await issueToken({ keys: key, issuer, audience, subject: ann, groups: ['okta:sre'] });
    const kubeconfig = await tokenKubeconfig(token);
    // The authenticator fetches the issuer's discovery and keys after the API server starts.
    const whoami = await eventually(async () => {
      const result = await kubectl('spoke', ['auth', 'whoami', '-o', 'json'], { kubeconfig });
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { status: { userInfo: { username: string; groups: string[]; extra: Record<string, string[]> } } };
    }, 60_000);
    expect(whoami.status.userInfo).toMatchObject({ username: ann, extra: { [credentialIDKey]: [jtiCredentialID(jti)] } });
    expect(whoami.status.userInfo.groups).toContain('okta:sre');

    const pods = await kubectl('spoke', ['get', 'pods', '-n', 'default'], { kubeconfig });
    expect(pods.stderr).toContain('forbidden');
    const lines = await eventually(async () => {
      const found = requestsWithToken(await readAuditLog(controlPlane.state.clusters.spoke.files.auditLog!), jti);
      expect(found.some((event) => event.objectRef?.resource === 'pods')).toBe(true);
      return found;
    });
    expect(lines.find((event) => event.objectRef?.resource === 'pods')).toMatchObject({
      verb: 'list',
      user: { username: ann, extra: { [credentialIDKey]: [`JTI=${jti}`] } },
      objectRef: { namespace: 'default' },
      responseStatus: { code: 403 },
    });
  });
});
