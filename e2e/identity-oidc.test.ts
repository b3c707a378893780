// Logging in through a real OpenID Provider (the test OP, on loopback HTTPS) with the real
// CLI, operator, connector, hub and spoke: `infra login --provider` with a browser played
// by an HTTP client that follows the OP's redirects and submits its forms; a User made
// just in time with the OP's groups; kubectl through the connector per the groups'
// Grants; and continuous verification: group changes and disabled users at the OP reach
// Infra within one verification interval, a wrong client secret and an unreachable OP
// are reported plainly, and deleting the Provider ends its sessions.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../api/v1alpha1/types.ts';
import { userName } from '../operator/names.ts';
import { approveDevice, Browser, signIn, type Page } from '../test/browser.ts';
import { applyGrant, applyHub, cluster, createProviderSecret, grantObject, kubectl, kubectlOk, oidcProviderObject, uniqueName } from '../test/cluster.ts';
import { https } from '../hack/local-infra/https.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { startOIDCProvider, type TestOP } from '../test/oidc-provider.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import type { CommandResult } from '../hack/local-infra/command.ts';
import { infraCLI, newUserHome, userKubectl, type UserHome } from '../test/user-shell.ts';

const verifyIntervalMs = 3_000;
/** One interval, plus the loop's tick and a refresh round trip on a busy 2-core machine. */
const withinOneInterval = verifyIntervalMs + 3_000;
const destination = uniqueName('idp');
const namespace = uniqueName('idp-ns');
const operatorNamespace = uniqueName('infra');
const provider = uniqueName('corp');
const eng = uniqueName('eng');
const oncall = uniqueName('oncall');
/** A group as Infra names it: after the Provider that reported it. */
const fromProvider = (group: string) => `${provider}:${group}`;
const ann = { email: `${uniqueName('ann')}@example.com`, password: 'ann-at-the-idp' };
const bob = { email: `${uniqueName('bob')}@example.com`, password: 'bob-at-the-idp' };
const cid = { email: `${uniqueName('cid')}@example.com`, password: 'cid-at-the-idp' };
let op: TestOP;
/** A second OpenID Provider whose users have a group of the same name as the first's. */
let otherOP: TestOP;
const otherProvider = uniqueName('other');
const dee = { email: `${uniqueName('dee')}@example.com`, password: 'dee-at-the-other-idp' };
let infra: Infra;
let dir: string;
let caFile: string;

type Home = UserHome & {
  BROWSER: string;
  /** Where the BROWSER script writes the URLs it is asked to open. */
  urls: string;
};

async function newHome(): Promise<Home> {
  const home = await newUserHome(dir);
  const root = dirname(home.INFRA_HOME);
  const urls = join(root, 'opened-urls');
  const browser = join(root, 'browser.sh');
  // The CLI opens the browser through $BROWSER: this one only records the URL for the test.
  await writeFile(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${urls}'\n`, { mode: 0o755 });
  return { ...home, BROWSER: browser, urls };
}

const environment = ({ urls: _, ...env }: Home) => env;
const cli = (args: string[], home: Home, input = '') => infraCLI(args, environment(home), input);
const kubectlAs = (args: string[], home: Home) => userKubectl(args, environment(home));

/** `infra login --provider`, with the browser's part played by an HTTP client at the real OP. */
async function browserLogin(
  home: Home,
  account: { email: string; password: string },
  via: { provider: string; op: TestOP } = { provider, op },
): Promise<{ result: CommandResult; page: Page }> {
  const running = cli(['login', infra.operator.publicURL, '--provider', via.provider, '--ca-file', caFile], home);
  const url = await eventually(async () => {
    const first = (await readFile(home.urls, 'utf8')).split('\n')[0];
    expect(first).toMatch(/^https:\/\//);
    return first!;
  }, 15_000);
  const page = await signIn(new Browser([via.op.ca]), url, account);
  return { result: await running, page };
}

async function userOf(email: string): Promise<User> {
  const list = JSON.parse(await kubectlOk('hub', ['get', 'users', '-o', 'json'])) as { items: User[] };
  const user = list.items.find((u) => u.spec.email === email);
  if (!user) throw new Error(`no User for ${email}`);
  return user;
}

const sessionSecrets = async (user: string) =>
  (await kubectlOk('hub', ['get', 'secrets', '-n', operatorNamespace, '-l', `infrahq.com/user=${user}`, '-o', 'name'])).trim();
const sessionKeyOf = async (home: Home) =>
  (JSON.parse(await readFile(join(home.INFRA_HOME, 'config.json'), 'utf8')) as { servers: Record<string, { session: { key: string } }> }).servers[
    infra.operator.publicURL
  ]!.session.key;
const tokenRequest = (key: string) =>
  https(`${infra.operator.publicURL}/apis/auth.infrahq.com/v1alpha1/tokenrequests`, {
    ca: infra.operatorCA,
    headers: { authorization: `Bearer ${key}` },
    body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', spec: { destination } },
  });
const providerCondition = (name: string, type: string, field: 'status' | 'reason' | 'message') =>
  kubectlOk('hub', ['get', 'provider', name, '-o', `jsonpath={.status.conditions[?(@.type=="${type}")].${field}}`]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-idp-e2e-'));
  op = await startOIDCProvider();
  op.addUser(ann.email, ann.password, [eng, oncall]);
  op.addUser(bob.email, bob.password, [eng]);
  op.addUser(cid.email, cid.password, [oncall]);
  otherOP = await startOIDCProvider();
  otherOP.addUser(dee.email, dee.password, [eng]);
  const opCAs = join(dir, 'op-cas.crt');
  await writeFile(opCAs, `${op.ca}\n${otherOP.ca}`);
  await kubectlOk('spoke', ['create', 'namespace', namespace]);
  infra = await startInfra({
    hubKubeconfig: cluster('hub').adminKubeconfig,
    spokeKubeconfig: cluster('spoke').adminKubeconfig,
    namespace: operatorNamespace,
    destination,
    operatorConfig: { identity: { verifyInterval: `${verifyIntervalMs / 1000}s`, outageGrace: '10m' } },
    // The operator reaches the OP over HTTPS with the OP's own CA, as with a private IdP.
    operatorEnv: { NODE_EXTRA_CA_CERTS: opCAs },
  });
  caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  await createProviderSecret(operatorNamespace, { name: 'corp-oidc', provider, issuer: op.issuer, clientSecret: op.client.secret });
  await createProviderSecret(operatorNamespace, { name: 'other-oidc', provider: otherProvider, issuer: otherOP.issuer, clientSecret: otherOP.client.secret });
  await applyHub([
    oidcProviderObject(provider, { issuer: op.issuer, clientID: op.client.id, secretName: 'corp-oidc' }),
    oidcProviderObject(otherProvider, { issuer: otherOP.issuer, clientID: otherOP.client.id, secretName: 'other-oidc' }),
    grantObject(`${eng}-view-ns`, { group: fromProvider(eng), role: 'view', resource: `${destination}.${namespace}` }),
    grantObject(`${oncall}-view`, { group: fromProvider(oncall), role: 'view', resource: destination }),
  ]);
  await eventually(async () => expect(await providerCondition(provider, 'Ready', 'status')).toBe('True'), 30_000);
  await eventually(async () => expect(await providerCondition(otherProvider, 'Ready', 'status')).toBe('True'), 30_000);
  await eventually(
    async () => expect(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.spec.url}'])).toBe(infra.connector.proxyURL),
    30_000,
  );
}, 120_000);

afterAll(async () => {
  await infra?.stop();
  await op?.close();
  await otherOP?.close();
  await kubectl('hub', ['delete', 'provider', provider, otherProvider, `${provider}-wrong`, `${provider}-thief`, '--ignore-not-found']);
  await kubectl('hub', ['delete', 'grant', `${otherProvider}-${eng}-view`, '--ignore-not-found']);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('logging in through an OpenID Provider', () => {
  let annHome: Home;

  it('infra login --provider opens the browser at the provider and ends with a session for a User made just in time', async () => {
    annHome = await newHome();
    const { result, page } = await browserLogin(annHome, ann);
    expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/);
    expect(page.html).toContain('you can close this window');
    expect(result.stderr).toContain(`Your browser has been opened to log in with ${provider}`);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logged in to ${infra.operator.publicURL} as ${ann.email}`);

    const user = await userOf(ann.email);
    expect(user.metadata.name).toBe(userName(ann.email));
    expect(user.status).toMatchObject({ provider, groups: [eng, oncall].map(fromProvider).sort() });
    expect(Date.now() - Date.parse(user.status!.lastLoginAt!)).toBeLessThan(60_000);
    expect(user.status!.lastVerifiedAt).toBeDefined();
    await eventually(async () =>
      expect((await userOf(ann.email)).status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True', reason: 'ProviderUser' })),
    );

    // The code went through the operator's logs and events nowhere.
    const code = new URL(page.url).searchParams.get('code')!;
    const logs = infra.operator.logs.join('\n');
    for (const secret of [code, op.client.secret, await sessionKeyOf(annHome)]) expect(logs).not.toContain(secret);
    expect(infra.operator.logs.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ audit: true, action: 'login', method: 'oidc', provider, user: ann.email, result: 'allowed' }),
    );
  });

  it('infra list and kubectl through the connector follow the Grants of the groups from the provider', async () => {
    const list = await cli(['list'], annHome);
    expect(list.stdout).toMatch(new RegExp(`${destination} +view\\n +${destination}\\.${namespace} +view`));
    expect((await cli(['use', destination], annHome)).code).toBe(0);
    const everywhere = await kubectlAs(['get', 'pods', '-n', 'default'], annHome);
    expect(everywhere.stderr).toContain('No resources found in default namespace.');
    const groups = decodeJwt((JSON.parse(await readFile(join(annHome.INFRA_HOME, 'tokens', `${destination}.json`), 'utf8')) as { token: string }).token)[
      'groups'
    ];
    expect(groups).toEqual([eng, oncall].map(fromProvider).sort());
  });

  it('a group removed at the provider is gone from the User within one interval; the next token lacks it and kubectl is refused where only it granted access', async () => {
    op.setGroups(ann.email, [eng]);
    const changed = Date.now();
    await eventually(async () => expect((await userOf(ann.email)).status?.groups).toEqual([fromProvider(eng)]), withinOneInterval, 200);
    expect(Date.now() - changed).toBeLessThan(withinOneInterval);
    // The token in hand stays valid until it expires (minutes); the next one is what changes.
    await rm(join(annHome.INFRA_HOME, 'tokens'), { recursive: true, force: true });
    const refused = await kubectlAs(['get', 'pods', '-n', 'default'], annHome);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/pods is forbidden: User ".*" cannot list resource "pods" .* in the namespace "default"/);
    const allowed = await kubectlAs(['--context', `infra:${destination}.${namespace}`, 'get', 'pods', '-n', namespace], annHome);
    expect(allowed.stderr).toContain(`No resources found in ${namespace} namespace.`);
    const groups = decodeJwt((JSON.parse(await readFile(join(annHome.INFRA_HOME, 'tokens', `${destination}.json`), 'utf8')) as { token: string }).token)[
      'groups'
    ];
    expect(groups).toEqual([fromProvider(eng)]);
    await eventually(() => {
      const audit = infra.operator.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(audit).toContainEqual(expect.objectContaining({ audit: true, action: 'user.groups-changed', user: ann.email, removed: [fromProvider(oncall)] }));
    });
  });

  it("a group of the same name from another Provider satisfies none of this Provider's Grants, only a Grant that names it with its own Provider", async () => {
    const deeHome = await newHome();
    const { result } = await browserLogin(deeHome, dee, { provider: otherProvider, op: otherOP });
    expect(result.code, result.stderr).toBe(0);
    expect((await userOf(dee.email)).status).toMatchObject({ provider: otherProvider, groups: [`${otherProvider}:${eng}`] });

    // Ann's group of the same name is granted on a namespace of the destination; Dee's is another group.
    const deeKey = await sessionKeyOf(deeHome);
    const refused = await tokenRequest(deeKey);
    expect(refused.status, refused.text).toBe(403);
    expect((await cli(['list'], deeHome)).stdout).toContain(`${dee.email} has no access to any destination yet`);
    expect((await kubectlAs(['--context', `infra:${destination}.${namespace}`, 'get', 'pods', '-n', namespace], deeHome)).code).not.toBe(0);

    await applyGrant(`${otherProvider}-${eng}-view`, { group: `${otherProvider}:${eng}`, role: 'view', resource: destination });
    const issued = await eventually(async () => {
      const answer = await tokenRequest(deeKey);
      expect(answer.status, answer.text).toBe(201);
      return answer.json<{ status: { token: string } }>().status.token;
    });
    expect(decodeJwt(issued)['groups']).toEqual([`${otherProvider}:${eng}`]);
    // Ann, in the first provider's group of that name, gains nothing from it.
    const annToken = await tokenRequest(await sessionKeyOf(annHome));
    expect(decodeJwt(annToken.json<{ status: { token: string } }>().status.token)['groups']).toEqual([fromProvider(eng)]);
  });

  it('offers the device flow only on a Provider that opts in, and its sessions cannot create access keys', async () => {
    const create = (plural: string, kind: string, spec: object, key?: string) =>
      https(`${infra.operator.publicURL}/apis/auth.infrahq.com/v1alpha1/${plural}`, {
        ca: infra.operatorCA,
        ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
        body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind, spec },
      });
    const refused = await create('deviceauthorizations', 'DeviceAuthorization', { provider });
    expect(refused.status).toBe(403);
    expect(refused.json<{ message: string }>().message).toBe(
      `the device flow is off for ${provider}: log in with the browser instead (infra login --provider ${provider}, with --no-browser on a machine without one), or ask an Infra admin to set spec.deviceFlow: true on Provider ${provider}`,
    );
    const cliRefused = await cli(['login', infra.operator.publicURL, '--provider', provider, '--device', '--ca-file', caFile], await newHome());
    expect(cliRefused.code).toBe(1);
    expect(cliRefused.stderr).toContain(`${provider} does not offer the device flow`);

    await kubectlOk('hub', ['patch', 'provider', provider, '--type', 'merge', '-p', '{"spec":{"deviceFlow":true}}']);
    try {
      const started = await eventually(async () => {
        const answer = await create('deviceauthorizations', 'DeviceAuthorization', { provider });
        expect(answer.status, answer.text).toBe(201);
        return answer.json<{ status: { userCode: string; verificationURI: string; deviceCode: string } }>().status;
      });
      const pending = await create('logins', 'Login', { provider, deviceCode: started.deviceCode });
      expect(pending.json()).toMatchObject({ code: 409, reason: 'AuthorizationPending' });
      await approveDevice(new Browser([op.ca]), started.verificationURI, started.userCode, ann);
      const login = await create('logins', 'Login', { provider, deviceCode: started.deviceCode });
      expect(login.status, login.text).toBe(201);
      const { sessionKey, user } = login.json<{ status: { sessionKey: string; user: { email: string } } }>().status;
      expect(user.email).toBe(ann.email);
      expect((await tokenRequest(sessionKey)).status).toBe(201);
      const key = await create('accesskeys', 'AccessKey', { name: 'from-device' }, sessionKey);
      expect(key.status).toBe(403);
      expect(key.json<{ message: string }>().message).toMatch(/^a session from the device flow cannot create access keys: log in through .* with the browser/);
    } finally {
      await kubectlOk('hub', ['patch', 'provider', provider, '--type', 'json', '-p', '[{"op":"remove","path":"/spec/deviceFlow"}]']);
    }
  });

  it("says plainly that a Provider's client secret is wrong", async () => {
    const name = `${provider}-wrong`;
    await createProviderSecret(operatorNamespace, { name: 'wrong-secret', provider: name, issuer: op.issuer, clientSecret: 'not-the-secret' });
    await applyHub([oidcProviderObject(name, { issuer: op.issuer, clientID: op.client.id, secretName: 'wrong-secret' })]);
    await eventually(async () => {
      expect(await providerCondition(name, 'Ready', 'status')).toBe('False');
      expect(await providerCondition(name, 'Ready', 'message')).toMatch(
        /refused Infra's client while checking the client credentials: invalid_client .*check spec\.clientID and the client secret/,
      );
      expect(await providerCondition(name, 'CredentialsValid', 'reason')).toBe('InvalidClient');
      expect(await providerCondition(name, 'DiscoveryReachable', 'status')).toBe('True');
    }, 20_000);
    const login = await cli(['login', infra.operator.publicURL, '--provider', name, '--ca-file', caFile], await newHome());
    expect(login.stderr).toMatch(new RegExp(`^infra: cannot log in through ${name} right now: .*invalid_client`));
  });

  it("refuses a Provider pointed at another Provider's client secret, and never sends that secret to the issuer", async () => {
    const name = `${provider}-thief`;
    const thiefClient = `thief-${name}`;
    await applyHub([oidcProviderObject(name, { issuer: op.issuer, clientID: thiefClient, secretName: 'corp-oidc' })]);
    await eventually(async () => {
      expect(await providerCondition(name, 'ClientSecretFound', 'reason')).toBe('SecretNotAllowed');
      expect(await providerCondition(name, 'ClientSecretFound', 'message')).toContain(
        `Provider ${name} may not use Secret corp-oidc: it is labelled infrahq.com/provider=${provider}`,
      );
      expect(await providerCondition(name, 'Ready', 'status')).toBe('False');
      expect(await providerCondition(name, 'DiscoveryReachable', 'status')).toBe('True');
    }, 20_000);
    const login = await cli(['login', infra.operator.publicURL, '--provider', name, '--ca-file', caFile], await newHome());
    expect(login.code).toBe(1);
    expect(login.stderr).toContain(`may not use Secret corp-oidc`);
    expect(op.clientsSeen).not.toContain(thiefClient);
  });

  it('while the provider is unreachable, issued tokens keep working, and a login says the provider cannot be reached', async () => {
    await op.stop();
    try {
      const cached = await kubectlAs(['--context', `infra:${destination}.${namespace}`, 'get', 'pods', '-n', namespace], annHome);
      expect(cached.stderr).toContain(`No resources found in ${namespace} namespace.`);
      await eventually(
        async () => expect(await providerCondition(provider, 'Ready', 'message')).toContain(`cannot reach ${op.issuer}/.well-known/openid-configuration`),
        20_000,
      );
      const login = await cli(['login', infra.operator.publicURL, '--provider', provider, '--ca-file', caFile], await newHome());
      expect(login.code).toBe(1);
      expect(login.stderr).toMatch(
        new RegExp(
          `^infra: cannot log in through ${provider} right now: cannot reach ${op.issuer.replaceAll('.', '\\.')}/\\.well-known/openid-configuration: .*ECONNREFUSED`,
        ),
      );
      // Within the outage grace a session verified a little while ago still gets new tokens.
      await rm(join(annHome.INFRA_HOME, 'tokens'), { recursive: true, force: true });
      expect((await tokenRequest(await sessionKeyOf(annHome))).status).toBe(201);
    } finally {
      await op.start();
    }
    await eventually(async () => expect(await providerCondition(provider, 'Ready', 'status')).toBe('True'), 20_000);
  });

  it('a user disabled at the provider loses every session and access key within one interval and gets no new token', async () => {
    const home = await newHome();
    expect((await browserLogin(home, bob)).result.code).toBe(0);
    const key = (await cli(['keys', 'add', 'ci'], home)).stdout.trim();
    expect(key).toMatch(/^iak_/);
    const name = userName(bob.email);
    expect(await sessionSecrets(name)).not.toBe('');
    const sessionKey = await sessionKeyOf(home);

    op.disable(bob.email);
    const disabled = Date.now();
    await eventually(async () => expect(await sessionSecrets(name)).toBe(''), withinOneInterval, 200);
    expect(Date.now() - disabled).toBeLessThan(withinOneInterval);
    expect((await tokenRequest(sessionKey)).status).toBe(401);
    expect(await cli(['list'], home)).toEqual({ code: 1, stdout: '', stderr: 'infra: your session has expired or was revoked: run `infra login`\n' });
    const viaKey = await https(`${infra.operator.publicURL}/apis/auth.infrahq.com/v1alpha1/logins`, {
      ca: infra.operatorCA,
      body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'Login', spec: { accessKey: key } },
    });
    expect(viaKey.status).toBe(401);
    await eventually(async () => {
      const user = await userOf(bob.email);
      expect(user.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'False', reason: 'DisabledUpstream' }));
      expect(
        await kubectlOk('hub', ['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={.items[*].reason}']),
      ).toContain('DisabledUpstream');
    });
  });

  it('an access key outlives its logged-out session, and is still verified upstream: disabling the user refuses its next token and kubectl', async () => {
    const home = await newHome();
    expect((await browserLogin(home, cid)).result.code).toBe(0);
    const key = (await cli(['keys', 'add', 'ci'], home)).stdout.trim();
    expect(key).toMatch(/^iak_/);
    const sessionKey = await sessionKeyOf(home);
    expect((await cli(['logout'], home)).code).toBe(0);
    expect((await tokenRequest(sessionKey)).status).toBe(401);

    // Only the key is left, and it works: as a bearer, and for kubectl through the connector.
    expect((await tokenRequest(key)).status).toBe(201);
    const ci = await newHome();
    expect((await cli(['login', infra.operator.publicURL, '--key-stdin', '--ca-file', caFile], ci, key)).code).toBe(0);
    expect((await cli(['use', destination], ci)).code).toBe(0);
    expect((await kubectlAs(['get', 'pods', '-n', 'default'], ci)).stderr).toContain('No resources found in default namespace.');

    op.disable(cid.email);
    const disabled = Date.now();
    await eventually(async () => expect((await tokenRequest(key)).status).toBe(401), withinOneInterval, 200);
    expect(Date.now() - disabled).toBeLessThan(withinOneInterval);
    await rm(join(ci.INFRA_HOME, 'tokens'), { recursive: true, force: true });
    const refused = await kubectlAs(['get', 'pods', '-n', 'default'], ci);
    expect(refused.code).not.toBe(0);
    expect(await sessionSecrets(userName(cid.email))).toBe('');
  });

  it('deleting the Provider ends the sessions and access keys made through it', async () => {
    const name = userName(ann.email);
    const key = (await cli(['keys', 'add', 'laptop'], annHome)).stdout.trim();
    expect((await tokenRequest(key)).status).toBe(201);
    expect(await sessionSecrets(name)).not.toBe('');
    await kubectlOk('hub', ['delete', 'provider', provider]);
    await eventually(async () => expect(await sessionSecrets(name)).toBe(''), 10_000);
    expect((await cli(['list'], annHome)).stderr).toBe('infra: your session has expired or was revoked: run `infra login`\n');
    expect((await tokenRequest(key)).status).toBe(401);
  });
});
