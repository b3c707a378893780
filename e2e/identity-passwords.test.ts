// Built-in users' passwords with the operator as a real process against the real hub:
// wrong passwords, lockout after repeated failures (429 with Retry-After, an Event and an
// audit line), an admin's PasswordReset to a one-time password, what such a session may
// and may not do, PasswordChange, and `infra login` replacing a one-time password.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../api/v1alpha1/types.ts';
import { hashPassword } from '../operator/credentials/passwords.ts';
import { applyHub, cluster, grantObject, kubectlOk, operatorServingCA, uniqueName } from '../test/cluster.ts';
import { https } from '../hack/local-infra/https.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';
import { infraCLI as cli, newUserHome } from '../test/user-shell.ts';

const authPath = '/apis/auth.infrahq.com/v1alpha1';
const ns = uniqueName('infra');
const destination = uniqueName('dest');
const password = 'correct horse battery staple';
const admin = `${uniqueName('root')}@example.com`;
const carl = `${uniqueName('carl')}@example.com`;
const dana = `${uniqueName('dana')}@example.com`;
const erin = `${uniqueName('erin')}@example.com`;
const names: Record<string, string> = {};
let operator: RunningOperator;
let operatorCA: string;
let dir: string;
const oneTimePasswords: string[] = [];

function call(kind: string, plural: string, spec: object, key?: string) {
  return https(`${operator.publicURL}${authPath}/${plural}`, {
    ca: operatorCA,
    headers: key ? { authorization: `Bearer ${key}` } : {},
    body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind, spec },
  });
}

const login = (email: string, pw: string) => call('Login', 'logins', { email, password: pw });
async function session(email: string, pw: string): Promise<string> {
  const res = await login(email, pw);
  expect(res.status, res.text).toBe(201);
  return res.json<{ status: { sessionKey: string } }>().status.sessionKey;
}

async function reset(email: string): Promise<string> {
  const res = await call('PasswordReset', 'passwordresets', { user: email }, await session(admin, password));
  expect(res.status, res.text).toBe(201);
  const { oneTimePassword, user } = res.json<{ status: { oneTimePassword: string; user: string } }>().status;
  expect(user).toBe(email);
  oneTimePasswords.push(oneTimePassword);
  return oneTimePassword;
}

const user = async (email: string) => JSON.parse(await kubectlOk('hub', ['get', 'user', names[email]!, '-o', 'json'])) as User;
const events = (email: string) =>
  kubectlOk('hub', ['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${names[email]}`, '-o', 'jsonpath={.items[*].reason}']);
const audit = () => operator.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === true);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-passwords-e2e-'));
  await kubectlOk('hub', ['create', 'namespace', ns]);
  operator = await startOperator({
    kubeconfig: cluster('hub').adminKubeconfig,
    namespace: ns,
    config: { bootstrapAdmins: [admin], logins: { maxFailures: 3, lockoutDuration: '1m' } },
  });
  operatorCA = await operatorServingCA(ns);
  await kubectlOk('hub', ['create', 'secret', 'generic', 'shared-password', '-n', ns, `--from-literal=hash=${await hashPassword(password)}`]);
  const users = [admin, carl, dana, erin].map((email) => {
    names[email] = uniqueName(email.split('-')[0]!);
    return {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'User',
      metadata: { name: names[email] },
      spec: { email, passwordSecretRef: { name: 'shared-password', key: 'hash' } },
    };
  });
  const grants = [dana, erin].map((email) => grantObject(`${names[email]}-view`, { user: email, role: 'view', resource: destination }));
  // No connector runs here: the url an admin may set is what puts the destination into kubeconfig.
  const objects = [
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: destination }, spec: { kind: 'kubernetes', url: 'https://127.0.0.1:1' } },
    ...users,
    ...grants,
  ];
  await applyHub(objects);
  await eventually(() => session(admin, password));
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('password logins', () => {
  it('answer a wrong password with the uniform 401', async () => {
    const res = await login(carl, 'not the password');
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ reason: 'Unauthorized', message: 'authentication failed: log in again (infra login)' });
  });

  it('lock an email after repeated failures: 429 with Retry-After, even for the right password, with an Event and an audit line', async () => {
    // One failure above, two more reach the limit of 3.
    expect((await login(carl, 'wrong 2')).status).toBe(401);
    expect((await login(carl, 'wrong 3')).status).toBe(401);
    const locked = await login(carl, password);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(50);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(locked.json()).toMatchObject({
      kind: 'Status',
      code: 429,
      reason: 'TooManyRequests',
      message: expect.stringMatching(new RegExp(`^too many failed password attempts for ${carl.replace('.', '\\.')}: try again in 1 minute\\(s\\), after 20`)),
    });
    // Others from the same address are not locked out.
    expect((await login(dana, password)).status).toBe(201);
    await eventually(async () => expect(await events(carl)).toContain('LoginLocked'));
    await eventually(() => expect(audit()).toContainEqual(expect.objectContaining({ action: 'login.locked', email: carl, lockedBy: 'email' })));
    const cliLocked = await cli(
      ['login', operator.publicURL, '--user', carl, '--password-stdin', '--ca-file', join(dir, 'ca.crt')],
      await newHome(),
      `${password}\n`,
    );
    expect(cliLocked.stderr).toMatch(/^infra: too many failed password attempts for .*: try again in 1 minute\(s\)/);
  });
});

async function newHome() {
  await writeFile(join(dir, 'ca.crt'), operatorCA);
  return newUserHome(dir);
}

describe('one-time passwords', () => {
  it('are set only by Infra admins, for Users that exist', async () => {
    const notAdmin = await call('PasswordReset', 'passwordresets', { user: dana }, await session(erin, password));
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.json<{ message: string }>().message).toBe(
      `only an Infra admin (a Grant with role admin on resource infra) may reset passwords; ${erin} is not one`,
    );
    const ghost = `${uniqueName('ghost')}@example.com`;
    const missing = await call('PasswordReset', 'passwordresets', { user: ghost }, await session(admin, password));
    expect(missing.status).toBe(404);
    expect(missing.json<{ message: string }>().message).toBe(`no User has email ${ghost}; create the User first (infra users add ${ghost})`);
  });

  it('replace the password, revoke the sessions, and require a change: until then a session may only review access, change it, or log out', async () => {
    const before = await session(dana, password);
    const otp = await reset(dana);
    expect(otp).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    expect((await call('AccessReview', 'accessreviews', {}, before)).status).toBe(401);
    const updated = await user(dana);
    expect(updated.spec.passwordSecretRef).toEqual({ name: `infra-password-${names[dana]}`, key: 'hash' });
    expect(updated.status?.passwordChangeRequired).toBe(true);
    // The Secret the admin made (shared with others) is untouched: they keep their password.
    expect((await login(erin, password)).status).toBe(201);
    expect((await login(dana, password)).status).toBe(401);

    const first = await login(dana, otp);
    expect(first.status, first.text).toBe(201);
    expect(first.json<{ status: { passwordChangeRequired?: boolean } }>().status.passwordChangeRequired).toBe(true);
    const key = first.json<{ status: { sessionKey: string } }>().status.sessionKey;
    const message = 'you must change your one-time password first: run `infra login` again (or `infra password`)';
    for (const [kind, plural, spec] of [
      ['TokenRequest', 'tokenrequests', { destination }],
      ['AccessKey', 'accesskeys', { name: 'ci' }],
    ] as const) {
      const refused = await call(kind, plural, spec, key);
      expect(refused.status, kind).toBe(403);
      expect(refused.json<{ message: string }>().message).toBe(message);
    }
    expect((await call('AccessReview', 'accessreviews', {}, key)).status).toBe(201);

    const short = await call('PasswordChange', 'passwordchanges', { currentPassword: otp, newPassword: 'too short' }, key);
    expect(short.status).toBe(422);
    expect(short.json<{ message: string }>().message).toBe(
      'PasswordChange is invalid: spec.newPassword: must be at least 12 characters: a few unrelated words make a good one',
    );
    const wrong = await call('PasswordChange', 'passwordchanges', { currentPassword: 'not it', newPassword: 'dana picks her own' }, key);
    expect(wrong.status).toBe(403);
    expect(wrong.json<{ message: string }>().message).toBe('the current password is wrong');
    const changed = await call('PasswordChange', 'passwordchanges', { currentPassword: otp, newPassword: 'dana picks her own' }, key);
    expect(changed.status, changed.text).toBe(201);
    expect(changed.json<{ status: unknown }>().status).toEqual({ user: dana });
    expect((await user(dana)).status?.passwordChangeRequired).toBeUndefined();
    const token = await call('TokenRequest', 'tokenrequests', { destination }, key);
    expect(token.status, token.text).toBe(201);
    expect((await login(dana, otp)).status).toBe(401);
    expect((await login(dana, 'dana picks her own')).status).toBe(201);
    await eventually(() => {
      expect(audit()).toContainEqual(expect.objectContaining({ action: 'password.reset', user: dana, by: admin }));
      expect(audit()).toContainEqual(expect.objectContaining({ action: 'password.change', user: dana, result: 'changed' }));
    });
    await eventually(async () => expect(await events(dana)).toMatch(/PasswordReset.*PasswordChanged|PasswordChanged.*PasswordReset/));
  });

  it('infra login replaces a one-time password with the second line of standard input, then writes the kubeconfig', async () => {
    const otp = await reset(erin);
    const home = await newHome();
    const caFile = join(dir, 'ca.crt');
    const without = await cli(['login', operator.publicURL, '--user', erin, '--password-stdin', '--ca-file', caFile], home, `${otp}\n`);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('your password is a one-time password: set your own with `infra password`');
    const result = await cli(['login', operator.publicURL, '--user', erin, '--password-stdin', '--ca-file', caFile], home, `${otp}\nerin's own passphrase\n`);
    expect(result.stderr).toBe(`Password changed for ${erin}.\n`);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Logged in to ${operator.publicURL} as ${erin}`);
    expect(result.stdout).toContain(`infra:${destination}`);
    expect((await login(erin, "erin's own passphrase")).status).toBe(201);
  });

  it('never reach the logs', () => {
    const logs = operator.logs.join('\n');
    for (const secret of [...oneTimePasswords, 'dana picks her own', "erin's own passphrase", password]) expect(logs).not.toContain(secret);
  });
});
