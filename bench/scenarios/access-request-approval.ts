// Access request approval → kubectl allowed through the connector, beside a plain Grant
// in the same run. A user who may already reach one namespace (so they hold a token) asks
// for view on the whole destination; the sample runs from the approver's approve call
// until the user's request through the connector's proxy for pods in another namespace
// stops being forbidden (the operator creates the Grant, the connector binds it, the spoke
// authorizes). Baseline: the same access from `kubectl apply` of a Grant, timed the same
// way. Each sample is revoked (or deleted) and seen forbidden again before the next.
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { https } from '../../hack/local-infra/https.ts';
import { infra, kubectl, uniqueName, waitForQuiet, type Scenario } from '../harness.ts';
import { percentile, type Row } from '../table.ts';

const title = 'Access request approval';
const pollMs = 20;
const sampleTimeoutMs = 60_000;

export const accessRequestApproval: Scenario = {
  id: 'access-requests',
  title,
  async run(ctx) {
    const sizes = ctx.quick ? { warmup: 1, samples: 3, seconds: 90 } : { warmup: 2, samples: 20, seconds: 300 };
    const destination = uniqueName('bench-jit');
    const installed = await infra(ctx, destination, { asServiceAccount: true });
    const [alice, bob] = [`${uniqueName('bench-alice')}@example.com`, `${uniqueName('bench-bob')}@example.com`];
    const password = 'correct horse battery staple';
    const run = uniqueName('run');
    const home = uniqueName('home');
    await kubectl(ctx.spokeKubeconfig, ['create', 'namespace', home]);
    for (const email of [alice, bob]) await installed.addUser(email, password);
    const policy = {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'AccessPolicy',
      metadata: { name: run },
      spec: { resources: [destination], roles: ['view'], requesters: { users: [alice] }, approvers: { users: [bob] }, maxDuration: '1h' },
    };
    const homeGrant = {
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'Grant',
      metadata: { name: `${run}-home` },
      spec: { user: alice, role: 'view', resource: `${destination}.${home}` },
    };
    await kubectl(ctx.hubKubeconfig, ['apply', '-f', '-'], [policy, homeGrant].map((o) => stringify(o)).join('---\n'));

    const token = await eventuallyValue(() => installed.token(alice, password), 60_000);
    const caBundle = Buffer.from(await kubectl(ctx.hubKubeconfig, ['get', 'destination', destination, '-o', 'jsonpath={.spec.caBundle}']), 'base64').toString();
    /** The user's list of pods in default through the proxy: 200 once the cluster-wide view is bound, 403 before. */
    const probe = async () =>
      (await https(`${installed.connector.proxyURL}/api/v1/namespaces/default/pods?limit=1`, { ca: caBundle, headers: { authorization: `Bearer ${token}` } }))
        .status;
    const until = async (status: number) => {
      const deadline = performance.now() + sampleTimeoutMs;
      for (;;) {
        if ((await probe()) === status) return performance.now();
        if (performance.now() > deadline) throw new Error(`the proxy did not answer ${status} within ${sampleTimeoutMs / 1000} s`);
        await sleep(pollMs);
      }
    };
    const session = async (email: string) => {
      const login = await https(`${installed.operator.publicURL}/apis/auth.infrahq.com/v1alpha1/logins`, {
        ca: installed.operatorCA,
        body: { apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'Login', spec: { email, password } },
      });
      if (login.status !== 201) throw new Error(`login of ${email} failed: ${login.text}`);
      return login.json<{ status: { sessionKey: string } }>().status.sessionKey;
    };
    const sessions = { [alice]: await session(alice), [bob]: await session(bob) };
    const requests = `${installed.operator.publicURL}/apis/infrahq.com/v1alpha1/accessrequests`;
    const call = async (email: string, path: string, body: unknown) => {
      const answer = await https(`${requests}${path}`, { ca: installed.operatorCA, headers: { authorization: `Bearer ${sessions[email]}` }, body });
      if (answer.status >= 300) throw new Error(`${path || 'create'} answered ${answer.status}: ${answer.text}`);
      return answer.json<{ metadata: { name: string }; status?: { state?: string } }>();
    };
    await until(403);

    const approval: number[] = [];
    const plain: number[] = [];
    await waitForQuiet(ctx);
    const deadline = Date.now() + sizes.seconds * 1000;
    for (let i = 0; i < sizes.warmup + sizes.samples && Date.now() < deadline; i++) {
      const created = await call(alice, '', {
        apiVersion: 'infrahq.com/v1alpha1',
        kind: 'AccessRequest',
        metadata: {},
        spec: { role: 'view', resource: destination, duration: '1h' },
      });
      await eventuallyValue(async () => {
        const state = (await call(alice, `/${created.metadata.name}`, undefined)).status?.state;
        if (state !== 'Pending') throw new Error(`request ${created.metadata.name} is ${state}`);
      }, 10_000);
      const approvedStart = performance.now();
      await call(bob, `/${created.metadata.name}/approve`, {});
      const approvedMs = (await until(200)) - approvedStart;
      await call(bob, `/${created.metadata.name}/revoke`, {});
      await until(403);

      const grant = `${run}-plain-${i}`;
      const plainStart = performance.now();
      await kubectl(
        ctx.hubKubeconfig,
        ['apply', '-f', '-'],
        stringify({
          apiVersion: 'infrahq.com/v1alpha1',
          kind: 'Grant',
          metadata: { name: grant },
          spec: { user: alice, role: 'view', resource: destination },
        }),
      );
      const plainMs = (await until(200)) - plainStart;
      await kubectl(ctx.hubKubeconfig, ['delete', 'grant', grant]);
      await until(403);

      const measured = i >= sizes.warmup;
      ctx.log(
        `${measured ? `sample ${i - sizes.warmup + 1}/${sizes.samples}` : `warm-up ${i + 1}/${sizes.warmup}`}: approval → allowed ${approvedMs.toFixed(0)} ms; Grant → allowed ${plainMs.toFixed(0)} ms`,
      );
      if (!measured) continue;
      approval.push(approvedMs);
      plain.push(plainMs);
    }
    if (approval.length === 0) throw new Error(`no sample measured within ${sizes.seconds} s`);
    const baselineLabel = '`kubectl apply` of a Grant for the same access, until the proxy allows it';
    const row = (p: number, extra: Pick<Row, 'note'> = {}): Row => ({
      scenario: title,
      metric: `approval → kubectl allowed through the connector p${p}`,
      unit: 'ms',
      ours: percentile(approval, p),
      baseline: percentile(plain, p),
      baselineLabel,
      ...extra,
    });
    return [
      row(50, {
        note: `${approval.length} samples after ${sizes.warmup} warm-up, alternating with the baseline; from the approve call's start until the user's list of pods through the proxy is allowed (polled every ${pollMs} ms); the Grant the approval makes has the same effect as the baseline's, so the difference is the request's own path (the approve call, the operator creating the Grant) against the baseline's start of a kubectl process`,
      }),
      row(99),
    ];
  },
};

async function eventuallyValue<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}
