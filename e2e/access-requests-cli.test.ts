// Access requests as people make them: the real `infra` CLI in each person's own home, the
// real operator deciding under an AccessPolicy, the real connector binding the approved
// access in the spoke, real kubectl using the context the CLI wrote, and the operator's
// webhook notifications arriving at a real HTTP receiver on loopback (generic format, its
// URL in a Secret in the operator's namespace, as docs/access-requests.md#notifications says).
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { AccessRequest } from '../api/v1alpha1/types.ts';
import { userKubeconfig } from '../hack/controlplane/controlplane.ts';
import type { CommandResult } from '../hack/local-infra/command.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';
import { genericPayloadVersion } from '../operator/requests/notifications/payloads.ts';
import { applyHub, cluster, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';
import { viewAccessPolicy } from '../test/access-requests.ts';
import { infraCLI, newUserHome, userKubectl, type UserHome } from '../test/user-shell.ts';

const operatorNamespace = uniqueName('infra');
const destination = uniqueName('jitcli');
const namespace = uniqueName('jitcli-ns');
const policy = uniqueName('jitcli-policy');
const webhookSecret = uniqueName('requests-webhook');
const password = 'a long enough password';
const requester = `${uniqueName('rita')}@example.com`;
const approver = `${uniqueName('abe')}@example.com`;
const resource = `${destination}.${namespace}`;

/** A notification as the receiver got it: the generic JSON shape. */
interface GenericNotification {
  version: string;
  type: string;
  at: string;
  request: { name: string; spec: AccessRequest['spec']; status: NonNullable<AccessRequest['status']> };
}

let infra: Infra;
let dir: string;
let caFile: string;
let receiver: Server;
const received: GenericNotification[] = [];
let requesterHome: UserHome;
let approverHome: UserHome;

const cli = (home: UserHome, args: string[], input = '') => infraCLI(args, home, input);

/** The receiver's notifications about one request, in the order they came, as `type`s. */
const notificationTypes = (name: string) => received.filter((n) => n.request.name === name).map((n) => n.type);

/** A webhook receiver as a platform team would run one: it accepts every POST and keeps its JSON. */
async function startReceiver(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as GenericNotification);
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function login(home: UserHome, email: string): Promise<void> {
  const result = await cli(home, ['login', infra.operator.publicURL, '--user', email, '--password-stdin', '--ca-file', caFile], `${password}\n`);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
}

const escaped = (text: string) => text.replace(/\./g, '\\.');

/** The requester's request for view on the namespace, by the name the CLI printed. */
function requestName(output: string): string {
  const name = /^AccessRequest (\S+): role view on /m.exec(output)?.[1];
  if (!name) throw new Error(`no AccessRequest name in the CLI's output: ${output}`);
  return name;
}

/** `infra request … --wait` started in the background: its result, and whether it has ended yet. */
function inBackground(run: Promise<CommandResult>): { result: Promise<CommandResult>; ended: () => boolean } {
  let ended = false;
  const result = run.finally(() => {
    ended = true;
  });
  return { result, ended: () => ended };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-requests-cli-e2e-'));
  receiver = await startReceiver();
  // The operator as the hub's admission policy knows it (config/admission/access-requests.yaml):
  // only it may write an AccessRequest's status.
  const operatorKubeconfig = join(dir, 'operator-kubeconfig');
  await writeFile(operatorKubeconfig, await userKubeconfig(cluster('hub'), `system:serviceaccount:${operatorNamespace}:infra-operator`, ['system:masters']), {
    mode: 0o600,
  });
  await kubectlOk('spoke', ['create', 'namespace', namespace]);
  infra = await startTestInfra(
    {
      namespace: operatorNamespace,
      destination,
      operatorKubeconfig,
      operatorConfig: {
        notifications: {
          webhooks: [
            {
              name: 'receiver',
              format: 'generic',
              urlSecretRef: { name: webhookSecret },
              on: ['new', 'approved', 'denied', 'cancelled'],
              initialBackoff: '100ms',
            },
          ],
        },
      },
    },
    { [requester]: password, [approver]: password },
  );
  const { port } = receiver.address() as AddressInfo;
  await kubectlOk('hub', [
    'create',
    'secret',
    'generic',
    webhookSecret,
    '-n',
    operatorNamespace,
    `--from-literal=url=http://127.0.0.1:${port}/hooks/${uniqueName('token')}`,
  ]);
  await applyHub([viewAccessPolicy(policy, destination, { requesters: [requester], approvers: [approver] })]);
  // The connector has registered its roles, so requests can be checked against them.
  await eventually(async () => expect(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.status.roles}'])).toContain('view'), 30_000);
  caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  requesterHome = await newUserHome(dir);
  approverHome = await newUserHome(dir);
  await login(requesterHome, requester);
  await login(approverHome, approver);
}, 180_000);

afterAll(async () => {
  await kubectl('hub', ['delete', 'accessrequests', '--all', '--wait=false']);
  await kubectl('hub', ['delete', 'accesspolicy', policy, '--ignore-not-found']);
  await infra?.stop();
  receiver?.close();
  await kubectl('spoke', ['delete', 'namespace', namespace, '--wait=false']);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('access requests with the infra CLI', () => {
  it('`infra request --wait` returns only after `infra requests approve`, with a context kubectl uses through the connector; the webhook hears new and approved', async () => {
    const waiting = inBackground(cli(requesterHome, ['request', 'view', resource, '--for', '10m', '--reason', 'INC-7: read the pods', '--wait']));

    const row = new RegExp(`^ {2}(\\S+) +${escaped(requester)} +view +${escaped(resource)} +10m +Pending\\b`, 'm');
    const name = await eventually(async () => {
      const list = await cli(approverHome, ['requests', 'list', '--pending']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(row);
      return row.exec(list.stdout)![1]!;
    }, 20_000);
    // Pending is not decided: the waiting CLI must still be waiting.
    await sleep(1_500);
    expect(waiting.ended()).toBe(false);

    const approved = await cli(approverHome, ['requests', 'approve', name, '--comment', 'ok']);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`AccessRequest ${name}: role view on ${resource} approved until `);
    // Whatever fails below, the next test must not find this access still there.
    onTestFinished(async () => expect(await cli(approverHome, ['requests', 'revoke', name])).toMatchObject({ code: 0 }));

    const done = await waiting.result;
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(requestName(done.stdout)).toBe(name);
    expect(done.stdout).toContain(`Use it: kubectl --context infra:${resource}`);
    const kubeconfig = parse(await readFile(requesterHome.KUBECONFIG, 'utf8')) as { contexts: { name: string; context: { namespace?: string } }[] };
    expect(kubeconfig.contexts).toContainEqual(expect.objectContaining({ name: `infra:${resource}`, context: expect.objectContaining({ namespace }) }));
    await eventually(async () => {
      const pods = await userKubectl(['--context', `infra:${resource}`, 'get', 'pods'], requesterHome);
      expect(pods.stderr).toContain(`No resources found in ${namespace} namespace.`);
      expect(pods.code).toBe(0);
    }, 30_000);

    await eventually(() => expect(notificationTypes(name)).toEqual(['new', 'approved']), 15_000);
    const [asked, decided] = received.filter((n) => n.request.name === name);
    expect(asked).toMatchObject({
      version: genericPayloadVersion,
      type: 'new',
      request: { name, spec: { role: 'view', resource, duration: '10m' }, status: { state: 'Pending', requester, policy } },
    });
    expect(decided).toMatchObject({
      version: genericPayloadVersion,
      type: 'approved',
      request: { name, status: { state: 'Approved', requester, reviews: [{ user: approver, decision: 'Approve', comment: 'ok' }] } },
    });
  });

  it('`infra requests deny` shows Denied in the requester’s list and tells the webhook; the requester cancels their own, and may not approve it', async () => {
    const denied = await cli(requesterHome, ['request', 'view', resource, '--for', '10m', '--reason', 'INC-8']);
    expect(denied.code, denied.stderr).toBe(0);
    const deniedName = requestName(denied.stdout);
    const deny = await cli(approverHome, ['requests', 'deny', deniedName, '--comment', 'use the runbook']);
    expect(deny.code, deny.stderr).toBe(0);
    expect(deny.stdout).toContain(`AccessRequest ${deniedName}: role view on ${resource} for 10m is Denied`);
    const mine = await cli(requesterHome, ['requests', 'list', '--mine', '-o', 'json']);
    expect(mine.code, mine.stderr).toBe(0);
    const listed = (JSON.parse(mine.stdout) as AccessRequest[]).find((r) => r.metadata.name === deniedName);
    expect(listed?.status).toMatchObject({ state: 'Denied', requester, reviews: [{ user: approver, decision: 'Deny', comment: 'use the runbook' }] });
    await eventually(() => expect(notificationTypes(deniedName)).toEqual(['new', 'denied']), 15_000);
    expect(received.find((n) => n.request.name === deniedName && n.type === 'denied')).toMatchObject({
      version: genericPayloadVersion,
      request: { status: { state: 'Denied' } },
    });

    const own = await cli(requesterHome, ['request', 'view', resource, '--for', '10m', '--reason', 'INC-9']);
    expect(own.code, own.stderr).toBe(0);
    const ownName = requestName(own.stdout);
    const selfApproved = await cli(requesterHome, ['requests', 'approve', ownName]);
    expect(selfApproved.code).not.toBe(0);
    expect(selfApproved.stderr).toMatch(/nobody may approve their own request, directly or through a group/);
    expect(selfApproved.stderr).toContain(ownName);
    const cancelled = await cli(requesterHome, ['requests', 'cancel', ownName]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain(`AccessRequest ${ownName}: role view on ${resource} for 10m is Cancelled`);
    const after = JSON.parse((await cli(requesterHome, ['requests', 'list', '--mine', '-o', 'json'])).stdout) as AccessRequest[];
    expect(after.find((r) => r.metadata.name === ownName)?.status?.state).toBe('Cancelled');
    expect((await cli(approverHome, ['requests', 'list', '--pending'])).stdout).not.toContain(ownName);
    await eventually(() => expect(notificationTypes(ownName)).toEqual(['new', 'cancelled']), 15_000);
  });
});
