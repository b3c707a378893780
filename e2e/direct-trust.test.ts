// Direct trust end to end: a spoke kube-apiserver started with the AuthenticationConfiguration
// that `infra destinations authn-config` prints verifies Infra tokens itself. kubectl, with
// the context `infra login` wrote, reaches the API server with no proxy; the API server
// itself refuses every token Infra would not issue for it; it picks up a key rotation on its
// own, keeps accepting a token while the hub and the operator are down, and RBAC (kept by
// the connector) makes a revoked Grant forbidden. The spoke's own audit log records the
// token's jti as the credential id, which joins its line to the operator's TokenRequest and
// Login. This suite runs its own control plane, because its spoke carries
// --authentication-config and it takes the hub down.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type JWTPayload } from 'jose';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../hack/controlplane/controlplane.ts';
import { installHubAPI } from '../hack/controlplane/crds.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import type { AuthenticationConfiguration } from '../api/authentication-config.ts';
import { currentKey, generateSigningKey, signingAlgorithm, type SigningKey } from '../api/tokens.ts';
import { parseKeySet, serializeKeySet } from '../operator/signing/keyset.ts';
import { keySetDataKey, signingKeysSecret } from '../operator/signing/store.ts';
import { credentialIDKey, jtiCredentialID } from '../lib/audit.ts';
import { auditEventsIn, issuingChain, readAuditLog, requestsWithToken } from '../test/audit-trail.ts';
import { grantObject, manifest, uniqueName } from '../test/cluster.ts';
import { infraCLI, newUserHome, userKubectl, type UserHome } from '../test/user-shell.ts';

const run = promisify(execFile);
const destination = uniqueName('direct');
const otherDestination = uniqueName('elsewhere');
const namespace = uniqueName('infra');
const web = uniqueName('web');
const api = uniqueName('api');
const team = uniqueName('team');
const alice = `${uniqueName('alice')}@example.com`;
const admin = `${uniqueName('root')}@example.com`;
const password = 'direct trust, no proxy';
let controlPlane: ControlPlane;
let infra: Infra;
let dir: string;
let authenticationConfig: string;
let home: UserHome;

/** What the spoke starts with, before there is an issuer to trust: no JWT authenticator. */
const noIssuer = stringify({ apiVersion: 'apiserver.config.k8s.io/v1', kind: 'AuthenticationConfiguration', jwt: [] });

async function kubectl(cluster: 'hub' | 'spoke', args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const child = run('kubectl', ['--kubeconfig', controlPlane.state.clusters[cluster].adminKubeconfig, '--request-timeout=10s', ...args]);
    child.child.stdin!.end(input);
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function kubectlOk(cluster: 'hub' | 'spoke', args: string[], input = ''): Promise<string> {
  const result = await kubectl(cluster, args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

const cli = (args: string[], input = '', env: UserHome = home) => infraCLI(args, env, input);
const userGrant = uniqueName('alice-web');
const teamGrant = uniqueName('team-api');

/** The operator's signing keys, from the hub Secret it keeps them in. */
async function signingKeys(): Promise<SigningKey[]> {
  const data = await kubectlOk('hub', ['get', 'secret', '-n', namespace, signingKeysSecret, '-o', `jsonpath={.data.keys\\.json}`]);
  return parseKeySet(Buffer.from(data, 'base64').toString());
}

/** A token signed with `key` (the operator's current one unless given), with claims as a valid one has them, changed by `claims`. */
async function mint(claims: JWTPayload, key?: SigningKey): Promise<string> {
  const signer = key ?? currentKey(await signingKeys())!;
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: infra.operator.publicURL,
    aud: destination,
    sub: alice,
    groups: [team],
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: uniqueName('jti'),
    ...claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: signingAlgorithm, kid: signer.kid, typ: 'JWT' })
    .sign(await importJWK(signer.privateJwk, signingAlgorithm));
}

/** Why the spoke's API server refused tokens lately, from its log: for failure messages. */
async function refusals(): Promise<string> {
  const log = await readFile(controlPlane.state.clusters.spoke.files.log, 'utf8');
  return log
    .split('\n')
    .filter((line) => line.includes('Unable to authenticate the request'))
    .slice(-3)
    .join('\n');
}

/** kubectl straight at the spoke's API server with a bearer token: no proxy, no exec plugin. */
async function withToken(token: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const spoke = controlPlane.state.clusters.spoke;
  try {
    const { stdout, stderr } = await run('kubectl', [
      '--kubeconfig=/dev/null',
      `--server=${spoke.server}`,
      `--certificate-authority=${spoke.files.servingCA}`,
      `--token=${token}`,
      '--request-timeout=10s',
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-direct-'));
  authenticationConfig = join(dir, 'authentication-config.yaml');
  await writeFile(authenticationConfig, noIssuer);
  controlPlane = await ControlPlane.start({ authenticationConfig: { spoke: authenticationConfig }, auditLog: true });
  await installHubAPI(controlPlane.state.clusters.hub.adminKubeconfig);
  await kubectlOk('spoke', ['create', 'namespace', web]);
  await kubectlOk('spoke', ['create', 'namespace', api]);
  infra = await startInfra({
    hubKubeconfig: controlPlane.state.clusters.hub.adminKubeconfig,
    spokeKubeconfig: controlPlane.state.clusters.spoke.adminKubeconfig,
    namespace,
    destination,
    operatorConfig: { bootstrapAdmins: [admin] },
  });
  await infra.addUser(alice, password);
  await infra.addUser(admin, password);
  await kubectlOk(
    'hub',
    ['apply', '-f', '-'],
    manifest([
      { apiVersion: 'infrahq.com/v1alpha1', kind: 'Group', metadata: { name: team }, spec: { members: [alice] } },
      grantObject(userGrant, { user: alice, role: 'view', resource: `${destination}.${web}` }),
      grantObject(teamGrant, { group: team, role: 'view', resource: `${destination}.${api}` }),
      grantObject(uniqueName('alice-elsewhere'), { user: alice, role: 'view', resource: otherDestination }),
    ]),
  );
  // An Infra admin switches the destination to Direct and configures its API server with
  // what the CLI prints, as docs/install.md says.
  await kubectlOk('hub', ['patch', 'destination', destination, '--type=merge', '-p', JSON.stringify({ spec: { trust: 'Direct' } })]);
  const caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  const adminHome = await newUserHome(dir);
  const adminLogin = await cli(['login', infra.operator.publicURL, '--user', admin, '--password-stdin', '--ca-file', caFile], password, adminHome);
  expect(adminLogin.code, adminLogin.stderr).toBe(0);
  const printed = await cli(['destinations', 'authn-config', destination], '', adminHome);
  expect(printed.code, printed.stderr).toBe(0);
  await writeFile(authenticationConfig, printed.stdout);
  await controlPlane.restart('spoke');

  home = await newUserHome(dir);
  const login = await cli(['login', infra.operator.publicURL, '--user', alice, '--password-stdin', '--ca-file', caFile], password);
  expect(login.code, login.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  await infra?.stop();
  await controlPlane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a Direct destination', () => {
  it('gets contexts at its API server, not the proxy, and kubectl reaches it as the user with their granted groups', async () => {
    const kubeconfig = parse(await readFile(home.KUBECONFIG, 'utf8')) as { clusters: { name: string; cluster: { server: string } }[] };
    const spoke = controlPlane.state.clusters.spoke;
    expect(kubeconfig.clusters.find((c) => c.name === `infra:${destination}`)?.cluster.server).toBe(spoke.server);
    expect(kubeconfig.clusters.find((c) => c.name === `infra:${destination}`)?.cluster.server).not.toBe(infra.connector.proxyURL);

    const whoami = await eventually(async () => {
      const result = await userKubectl(['--context', `infra:${destination}.${web}`, 'auth', 'whoami', '-o', 'json'], home);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    }, 30_000);
    expect(whoami.status.userInfo.username).toBe(alice);
    expect(whoami.status.userInfo.groups).toEqual([team, 'system:authenticated']);
    // No impersonation happened: the API server saw the user's own token.
    expect(whoami.status.userInfo).not.toHaveProperty('extra.authentication\\.kubernetes\\.io/impersonator');

    await eventually(async () => {
      const pods = await userKubectl(['--context', `infra:${destination}.${web}`, 'get', 'pods'], home);
      expect(pods.code, pods.stderr).toBe(0);
    }, 30_000);
    const secrets = await userKubectl(['--context', `infra:${destination}.${web}`, 'get', 'secrets'], home);
    expect(secrets.stderr).toContain(`User "${alice}" cannot list resource "secrets"`);
  });

  it("is in the spoke's own audit log under the token's jti, which the operator's lines trace to the TokenRequest and Login", async () => {
    const context = ['--context', `infra:${destination}.${web}`];
    const pods = await userKubectl([...context, 'get', 'pods', '-o', 'name'], home);
    expect(pods.code, pods.stderr).toBe(0);
    const token = await infra.token(alice, password);
    const jti = decodeJwt(token).jti!;
    expect((await withToken(token, ['get', 'configmaps', '-n', web])).code).toBe(0);
    const spokeLine = await eventually(async () => {
      const lines = requestsWithToken(await readAuditLog(controlPlane.state.clusters.spoke.files.auditLog!), jti);
      const found = lines.find((event) => event.objectRef?.resource === 'configmaps');
      expect(found, `a spoke audit line with credential id JTI=${jti}`).toBeDefined();
      return found!;
    });
    expect(spokeLine).toMatchObject({
      verb: 'list',
      user: { username: alice, extra: { [credentialIDKey]: [jtiCredentialID(jti)] } },
      objectRef: { namespace: web },
      responseStatus: { code: 200 },
    });
    expect(spokeLine).not.toHaveProperty('impersonatedUser');
    const chain = await eventually(() => {
      const found = issuingChain(auditEventsIn(infra.operator.logs), jti);
      expect(found, "the operator's Login and TokenRequest lines for this token").toBeDefined();
      return found!;
    });
    expect(chain.tokenRequest).toMatchObject({ user: { username: alice }, annotations: { 'infrahq.com/destination': destination } });
    expect(chain.login).toMatchObject({ user: { username: alice }, objectRef: { resource: 'logins' } });
  });

  it('refuses to start with a malformed configuration, and says why', async () => {
    const good = await readFile(authenticationConfig, 'utf8');
    const config = parse(good) as AuthenticationConfiguration;
    const jwt = config.jwt[0]!;
    const malformed: [AuthenticationConfiguration, string][] = [
      [
        { ...config, jwt: [{ ...jwt, issuer: { ...jwt.issuer, audiences: [] } }] },
        'jwt[0].issuer.audiences: Required value: at least one jwt[0].issuer.audiences is required',
      ],
      [
        { ...config, jwt: [{ ...jwt, userValidationRules: [{ expression: "user.username.startsWith('system:'", message: 'typo' }] }] },
        'jwt[0].userValidationRules[0].expression: Invalid value',
      ],
    ];
    try {
      for (const [file, why] of malformed) {
        await writeFile(authenticationConfig, stringify(file));
        await expect(controlPlane.restart('spoke')).rejects.toThrow(why);
      }
    } finally {
      await writeFile(authenticationConfig, good);
      await controlPlane.restart('spoke');
    }
  }, 120_000);

  it('is refused by the API server itself when forged, expired, for another audience or destination, system:-named, or malformed', async () => {
    const valid = await mint({});
    expect((await withToken(valid, ['auth', 'whoami'])).code, await refusals()).toBe(0);

    const forger = { ...(await generateSigningKey()), kid: decodeProtectedHeader(valid).kid! };
    const now = Math.floor(Date.now() / 1000);
    const otherToken = await infra.token(alice, password, otherDestination);
    expect(decodeJwt(otherToken).aud).toBe(otherDestination);
    const refused: Record<string, string> = {
      forged: await mint({}, forger),
      expired: await mint({ iat: now - 900, nbf: now - 900, exp: now - 600 }),
      'wrong audience': await mint({ aud: 'kubernetes' }),
      'other destination': otherToken,
      'system: user': await mint({ sub: 'system:admin' }),
      'system: group': await mint({ groups: ['system:masters'] }),
      'empty subject': await mint({ sub: '' }),
      'non-string group': await mint({ groups: [team, 7] }),
      'lifetime over the maximum': await mint({ exp: now + 3600 }),
    };
    for (const [what, token] of Object.entries(refused)) {
      const result = await withToken(token, ['auth', 'whoami']);
      expect(result.code, `${what}: ${result.stdout}`).not.toBe(0);
      expect(result.stderr, what).toContain('You must be logged in to the server (Unauthorized)');
    }
  });

  it('picks up a key rotation without a restart: a token from the new key works at once, and one from the old key still does', async () => {
    // A fresh start, so the API server fetches the keys at the first token below: the
    // rotation then lands while its cached keys are as fresh as they get.
    await controlPlane.restart('spoke');
    const pid = controlPlane.state.clusters.spoke.pid;
    const before = await infra.token(alice, password);
    const oldKid = decodeProtectedHeader(before).kid!;
    expect((await withToken(before, ['auth', 'whoami'])).code, `${JSON.stringify(decodeJwt(before))}: ${await refusals()}`).toBe(0);
    // Retire the current key: the operator's next refresh adds a new current key, as a
    // scheduled rotation does, and keeps publishing the old one until its tokens expire.
    const keys = await signingKeys();
    const retired = keys.map((key) => (key.retiredAt ? key : { ...key, retiredAt: new Date().toISOString() }));
    const patch = { data: { [keySetDataKey]: Buffer.from(serializeKeySet(retired)).toString('base64') } };
    await kubectlOk('hub', ['patch', 'secret', '-n', namespace, signingKeysSecret, '--type=merge', '-p', JSON.stringify(patch)]);
    const after = await eventually(async () => {
      const token = await infra.token(alice, password);
      expect(decodeProtectedHeader(token).kid).not.toBe(oldKid);
      return token;
    }, 30_000);
    const whoami = await withToken(after, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(whoami.code, await refusals()).toBe(0);
    expect(whoami.stdout).toBe(alice);
    expect((await withToken(before, ['auth', 'whoami'])).code, await refusals()).toBe(0);
    expect(controlPlane.state.clusters.spoke.pid).toBe(pid);
  });

  it("makes a revoked Grant's access forbidden at the next request, through the RBAC the connector keeps", async () => {
    const context = ['--context', `infra:${destination}.${api}`];
    await eventually(async () => {
      const pods = await userKubectl([...context, 'get', 'pods'], home);
      expect(pods.code, pods.stderr).toBe(0);
    }, 30_000);
    await kubectlOk('hub', ['delete', 'grant', teamGrant]);
    const revokedAt = Date.now();
    await eventually(async () => {
      const pods = await userKubectl([...context, 'get', 'pods'], home);
      expect(pods.stderr).toContain(`User "${alice}" cannot list resource "pods"`);
    }, 15_000);
    // Still authenticated (the token lives on): RBAC is what refuses.
    expect((await userKubectl([...context, 'auth', 'whoami'], home)).code).toBe(0);
    expect(Date.now() - revokedAt).toBeLessThan(15_000);
  });

  it('keeps accepting a token issued earlier while the hub and the operator are down; a new login fails and says why', async () => {
    const context = ['--context', `infra:${destination}.${web}`];
    // The CLI caches the token it got for kubectl; the API server has the operator's keys cached.
    expect((await userKubectl([...context, 'get', 'pods'], home)).code).toBe(0);
    await infra.operator.stop();
    await controlPlane.takeDown('hub');
    const pods = await userKubectl([...context, 'get', 'pods'], home);
    expect(pods.code, pods.stderr).toBe(0);
    const login = await cli(['login', infra.operator.publicURL, '--user', alice, '--password-stdin'], password, await newUserHome(dir));
    expect(login.code).not.toBe(0);
    expect(login.stderr).toContain(`cannot reach ${infra.operator.publicURL}: is the server address right? (ECONNREFUSED)`);
  });
});
