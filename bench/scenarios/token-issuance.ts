// Token issuance through the operator's public door: one password login, then
// TokenRequests with a bearer session over keep-alive HTTPS at bounded concurrency, sent
// by hack/tools/loadgen. Baseline: the fastest raw signing of the same claims there is,
// issueToken itself (node:crypto, on the calling thread), in this process with no HTTP, no
// auth and no lookups — the floor the door's target is set against (issue 26). jose's
// SignJWT, the floor the issue first named and what the operator signed with until
// session 11, is reported too, without a target: it is slower, so a ratio against it
// would flatter the door. A second baseline is a bare node:https door that signs the same
// token per request (bench/bare-token-door.ts), driven by the same load generator in the
// same repetitions: what any Node door pays per token, so the operator's own share shows.
import { Agent } from 'node:https';
import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT, type CryptoKey } from 'jose';
import { generateSigningKey, issueToken, signingAlgorithm, type IssueTokenOptions, type SigningKey } from '../../api/tokens.ts';
import { https } from '../../hack/local-infra/https.ts';
import { nodeFlags } from '../../lib/node-flags.ts';
import { createCertificateAuthority } from '../../lib/pki.ts';
import type { BareTokenDoorConfig } from '../bare-token-door.ts';
import { httpLoad } from '../loadgen.ts';
import {
  baselineProcess,
  boundedLoad,
  cpuBetween,
  machineCpuMs,
  operator,
  operatorCA,
  ownNamespace,
  processThreadsCpuMs,
  userWithGrant,
  waitForQuiet,
  type Scenario,
} from '../harness.ts';
import { median, percent, percentile, type Row } from '../table.ts';

const authPath = '/apis/auth.infrahq.com/v1alpha1';
const concurrency = 8;

const post = (agent: Agent, url: string, body: string, headers: Record<string, string> = {}) => https(url, { agent, method: 'POST', body, headers });

/** The claim names and header of a token, sorted: what "the same claims shape" compares. */
function shape(token: string): string {
  return JSON.stringify({ header: Object.keys(decodeProtectedHeader(token)).sort(), claims: Object.keys(decodeJwt(token)).sort() });
}

const title = 'Token issuance (public door)';

/** jose's signing: the same header and claims as issueToken, through SignJWT and WebCrypto, as the operator signed until session 11 (issue 26). */
function joseSigner(key: SigningKey): (claims: IssueTokenOptions) => Promise<string> {
  const privateKey = importJWK(key.privateJwk, signingAlgorithm) as Promise<CryptoKey>;
  return async (claims) => {
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ groups: [...claims.groups] })
      .setProtectedHeader({ alg: signingAlgorithm, kid: key.kid, typ: 'JWT' })
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setSubject(claims.subject)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + 300)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(await privateKey);
  };
}

export const tokenIssuance: Scenario = {
  id: 'tokens',
  title,
  async run(ctx) {
    const sizes = ctx.quick ? { count: 200, seconds: 10, reps: 2, warmup: 100 } : { count: 3000, seconds: 20, reps: 3, warmup: 1000 };
    const ns = await ownNamespace(ctx, 'bench-tokens');
    const { email, password, group, destination } = await userWithGrant(ctx, ns);

    const op = await operator(ctx, { namespace: ns });
    const ca = await operatorCA(ctx, ns);
    const agent = new Agent({ keepAlive: true, ca });
    ctx.defer(() => agent.destroy());

    const login = await post(
      agent,
      `${op.publicURL}${authPath}/logins`,
      JSON.stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'Login', spec: { email, password } }),
    );
    if (login.status !== 201) throw new Error(`login failed: ${login.status} ${login.text}`);
    const session = (JSON.parse(login.text) as { status: { sessionKey: string } }).status.sessionKey;

    const url = `${op.publicURL}${authPath}/tokenrequests`;
    const body = JSON.stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', spec: { destination } });
    const headers = { authorization: `Bearer ${session}` };
    const first = await post(agent, url, body, headers);
    if (first.status !== 201) throw new Error(`TokenRequest answered ${first.status}: ${first.text}`);
    const sample = (JSON.parse(first.text) as { status?: { token?: string } }).status?.token;
    if (!sample) throw new Error(`TokenRequest answered 201 without a token: ${first.text}`);
    const tokenRequests = {
      url,
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
      ca,
      concurrency,
      expectStatus: 201,
      expectBody: '"token":"',
    };

    const key = await generateSigningKey();
    const claims = { keys: key, issuer: op.publicURL, audience: destination, subject: email, groups: [group] };
    const signWithJose = joseSigner(key);
    const signers = { jose: () => signWithJose(claims), issueToken: () => issueToken(claims) };

    const bareCA = await createCertificateAuthority('bench-bare-token-door');
    const bare = await baselineProcess<BareTokenDoorConfig>(
      ctx,
      'bare-token-door.ts',
      {
        tls: await bareCA.issue({ commonName: 'localhost', usage: 'server', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
        authorization: headers.authorization,
        issuer: op.publicURL,
        subject: email,
        groups: [group],
      },
      nodeFlags.operator,
    );
    const doors = {
      operator: { requests: tokenRequests, pid: op.process.pid! },
      bare: { requests: { ...tokenRequests, url: `https://127.0.0.1:${bare.port}${authPath}/tokenrequests`, ca: bareCA.cert }, pid: bare.pid },
    };

    /** `count` requests to one door at `concurrency`, or until the time bound; with where the CPU went. */
    const load = async (door: (typeof doors)[keyof typeof doors], count: number) => {
      const [doorCpu0, machine0, benchCpu0] = [await processThreadsCpuMs(door.pid), await machineCpuMs(), process.cpuUsage()];
      const run = await httpLoad({ ...door.requests, count, durationMs: sizes.seconds * 1000 });
      const [doorCpu1, machine1, benchCpu] = [await processThreadsCpuMs(door.pid), await machineCpuMs(), process.cpuUsage(benchCpu0)];
      const done = run.completed;
      const doorCpu = cpuBetween(doorCpu0, doorCpu1);
      const benchCpuMs = (benchCpu.user + benchCpu.system) / 1000;
      const machineMs = machine1.total - machine0.total;
      return {
        done,
        rate: done / run.seconds,
        latencies: run.latenciesMs,
        doorCpuPerRequest: doorCpu.all / done,
        doorMainThreadCpuPerRequest: doorCpu.serving / done,
        loadgenCpuPerRequest: run.clientCpuMs / done,
        benchCpuPerRequest: benchCpuMs / done,
        machineBusy: (machine1.busy - machine0.busy) / machineMs,
        // CPU that neither the door, the load generator nor the bench used: other processes on the machine.
        otherBusy: (machine1.busy - machine0.busy - doorCpu.all - run.clientCpuMs - benchCpuMs) / machineMs,
      };
    };
    /** The baseline: the same number of tokens signed one after another, same time bound. */
    const raw = async (count: number, signer: () => Promise<unknown> = signers.issueToken) => {
      const latencies: number[] = [];
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      const done = await boundedLoad(count, 1, Date.now() + sizes.seconds * 1000, async () => {
        const sent = performance.now();
        await signer();
        latencies.push(performance.now() - sent);
      });
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpu0);
      return { done, rate: done / seconds, latencies, cpuPerToken: (cpu.user + cpu.system) / 1000 / done };
    };

    ctx.log(`warm-up: ${sizes.warmup} requests to each door and ${sizes.warmup} raw signatures`);
    await load(doors.operator, sizes.warmup);
    await load(doors.bare, sizes.warmup);
    await raw(sizes.warmup);
    await raw(sizes.warmup, signers.jose);
    for (const token of [await signers.jose(), (await signers.issueToken()).token]) {
      if (shape(sample) !== shape(token)) throw new Error(`the operator's tokens and the baseline's differ in shape: ${shape(sample)} vs ${shape(token)}`);
    }

    const ours: Awaited<ReturnType<typeof load>>[] = [];
    const bareDoor: Awaited<ReturnType<typeof load>>[] = [];
    const base: Awaited<ReturnType<typeof raw>>[] = [];
    const rawJose: Awaited<ReturnType<typeof raw>>[] = [];
    const perRequest = (o: Awaited<ReturnType<typeof load>>) =>
      `${o.rate.toFixed(0)} req/s (p50 ${percentile(o.latencies, 50).toFixed(2)} ms), ${o.doorCpuPerRequest.toFixed(3)} ms CPU each (event loop ${o.doorMainThreadCpuPerRequest.toFixed(3)}), loadgen ${o.loadgenCpuPerRequest.toFixed(3)} ms, ` +
      `machine ${percent(o.machineBusy)} busy (others ${percent(o.otherBusy)})`;
    for (let rep = 1; rep <= sizes.reps; rep++) {
      await waitForQuiet(ctx);
      const o = await load(doors.operator, sizes.count);
      ours.push(o);
      bareDoor.push(await load(doors.bare, o.done));
      const b = await raw(o.done);
      base.push(b);
      rawJose.push(await raw(o.done, signers.jose));
      ctx.log(
        `rep ${rep}/${sizes.reps}, ${o.done} requests each: operator ${perRequest(o)}, bench ${o.benchCpuPerRequest.toFixed(3)} ms; bare door ${perRequest(bareDoor.at(-1)!)}; ` +
          `raw issueToken ${b.rate.toFixed(0)}/s, ${b.cpuPerToken.toFixed(3)} ms CPU each; raw jose signing ${rawJose.at(-1)!.rate.toFixed(0)}/s, ${rawJose.at(-1)!.cpuPerToken.toFixed(3)} ms CPU each`,
      );
    }

    const ourLatencies = ours.flatMap((o) => o.latencies);
    const baseLatencies = base.flatMap((b) => b.latencies);
    const requests = ours.map((o) => o.done).join(', ');
    const scenario = title;
    const ourRate = median(ours.map((o) => o.rate));
    const ourCpuPerToken = median(ours.map((o) => o.doorCpuPerRequest));
    const bareDoorLabel = `bench/bare-token-door.ts: node:https, keep-alive, issueToken per POST, the bearer compared with one string; no session, Grants, schema or audit line; node ${nodeFlags.operator.join(' ')} as the operator`;
    return [
      {
        scenario,
        metric: 'throughput',
        unit: 'req/s',
        ours: ourRate,
        baseline: median(base.map((b) => b.rate)),
        baselineLabel:
          'issueToken (ES256 with node:crypto on the calling thread, what the operator signs with; the fastest raw signing of the same header and claims) in the bench process, sequential, same count',
        target: { on: 'ratio', op: '>=', value: 0.8 },
        note: `median of ${sizes.reps} reps (${requests} requests; bound ${sizes.count} or ${sizes.seconds} s each) after ${sizes.warmup} warm-up, each once the machine was idle (< 20% busy) or after 60 s; concurrency ${concurrency}, keep-alive HTTPS from hack/tools/loadgen (Go), one session`,
      },
      {
        scenario,
        metric: "throughput vs raw jose signing (the issue's first floor)",
        unit: 'req/s',
        ours: ourRate,
        baseline: median(rawJose.map((b) => b.rate)),
        baselineLabel: "jose's SignJWT (ES256 through WebCrypto, same header and claims) in the bench process, sequential, same count",
        note: `no target: jose is slower than the baseline above (raw issueToken ${median(base.map((b) => b.cpuPerToken)).toFixed(3)} ms of CPU per token, jose ${median(rawJose.map((b) => b.cpuPerToken)).toFixed(3)} ms), so a ratio against it flatters the door`,
      },
      {
        scenario,
        metric: 'throughput vs a bare Node HTTPS door',
        unit: 'req/s',
        ours: ourRate,
        baseline: median(bareDoor.map((o) => o.rate)),
        baselineLabel: bareDoorLabel,
        note: `no target: what the operator's own work per token (session, Grants, rate limit, schema, audit line) costs against a door that only signs; same load generator, same counts, right after the operator's in each rep`,
      },
      {
        scenario,
        metric: 'operator CPU per token vs a bare Node HTTPS door',
        unit: 'ms',
        ours: ourCpuPerToken,
        baseline: median(bareDoor.map((o) => o.doorCpuPerRequest)),
        baselineLabel: bareDoorLabel,
        note: `each process's user+system CPU / requests; ratio by rep: ${ours.map((o, i) => percent(o.doorCpuPerRequest / bareDoor[i]!.doorCpuPerRequest)).join(' / ')}`,
      },
      {
        scenario,
        metric: 'operator CPU per token',
        unit: 'ms',
        ours: ourCpuPerToken,
        baseline: median(base.map((b) => b.cpuPerToken)),
        baselineLabel: 'CPU of the bench process per raw issueToken call',
        note: `operator process user+system CPU / requests; meanwhile the load generator used ${median(ours.map((o) => o.loadgenCpuPerRequest)).toFixed(3)} ms per request, the bench process (reading the operator's logs) ${median(ours.map((o) => o.benchCpuPerRequest)).toFixed(3)} ms, and the machine was ${percent(median(ours.map((o) => o.machineBusy)))} busy, ${percent(median(ours.map((o) => o.otherBusy)))} of it other processes`,
      },
      {
        scenario,
        metric: 'latency p50',
        unit: 'ms',
        ours: percentile(ourLatencies, 50),
        baseline: percentile(baseLatencies, 50),
        baselineLabel: 'one raw issueToken call',
      },
      {
        scenario,
        metric: 'latency p99',
        unit: 'ms',
        ours: percentile(ourLatencies, 99),
        baseline: percentile(baseLatencies, 99),
        baselineLabel: 'one raw issueToken call',
      },
    ] satisfies Row[];
  },
};
