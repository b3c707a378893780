// The audit trail joins up, in proxy mode, against the real spoke with its audit log on:
// a Login and a TokenRequest at the operator, kubectl through the connector's proxy, the
// spoke's kube-apiserver. The operator's TokenRequest line names the jti it issued; the
// proxy's line for each request carries that jti as its credential id; the spoke's own line
// for the same request (same auditID, which the proxy sends as Audit-ID) records the
// impersonated user. No token, password or session key is in any of them.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialIDKey, issuedCredentialIDAnnotation, type AuditEvent } from '../lib/audit.ts';
import { auditEventsIn, credentialOf, issuingChain, readAuditLog, requestsWithToken, sameRequest } from '../test/audit-trail.ts';
import { cluster, grantObject, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';

const spokeAuditLog = cluster('spoke').files.auditLog;
const namespace = uniqueName('infra');
const destination = uniqueName('prod');
const web = uniqueName('web');
const alice = `${uniqueName('alice')}@example.com`;
const password = 'a long enough password';
const grantName = uniqueName('alice-view');
let infra: Infra;
let token: string;
let jti: string;

// The kind spoke's API server runs in a container whose audit log this run cannot read
// (hostAddress marks a kind cluster): there the suite is skipped.
describe.skipIf(cluster('spoke').hostAddress !== undefined)('the audit trail, in proxy mode', () => {
  beforeAll(async () => {
    if (spokeAuditLog === undefined) {
      throw new Error('the spoke has no audit log: the local control plane must start with auditLog (a `make dev` started before it had one: restart it)');
    }
    await kubectlOk('spoke', ['create', 'namespace', web]);
    infra = await startTestInfra({ namespace, destination }, { [alice]: password }, [
      grantObject(grantName, { user: alice, role: 'view', resource: `${destination}.${web}` }),
    ]);
    token = await eventually(() => infra.token(alice, password));
    jti = decodeJwt(token).jti!;
  }, 120_000);

  afterAll(async () => {
    await kubectl('hub', ['delete', 'grant', grantName, '--ignore-not-found']);
    await infra?.stop();
  });

  const operatorEvents = () => auditEventsIn(infra.operator.logs);
  const proxyEvents = () => auditEventsIn(infra.connector.logs);
  const spokeEvents = () => readAuditLog(spokeAuditLog!);

  it('the operator names the jti it issued, and the session behind it back to the login', async () => {
    // A line is written once its answer is sent: it may reach the log just after the client has the answer.
    const chain = await eventually(() => {
      const found = issuingChain(operatorEvents(), jti);
      expect(found, 'a Login and a TokenRequest line that issued this token').toBeDefined();
      return found;
    });
    expect(chain!.tokenRequest).toMatchObject({
      verb: 'create',
      user: { username: alice },
      objectRef: { resource: 'tokenrequests', apiGroup: 'auth.infrahq.com', apiVersion: 'v1alpha1' },
      responseStatus: { code: 201 },
      annotations: { [issuedCredentialIDAnnotation]: `JTI=${jti}`, 'infrahq.com/destination': destination, 'infrahq.com/component': 'infra-operator' },
    });
    expect(credentialOf(chain!.tokenRequest)).toMatch(/^Session=/);
    expect(chain!.login).toMatchObject({
      user: { username: alice },
      objectRef: { resource: 'logins' },
      responseStatus: { code: 201 },
      annotations: { [issuedCredentialIDAnnotation]: credentialOf(chain!.tokenRequest), 'infrahq.com/login-method': 'password' },
    });
    expect(Date.parse(chain!.login.stageTimestamp)).toBeLessThanOrEqual(Date.parse(chain!.tokenRequest.requestReceivedTimestamp));
  });

  it('the operator has a line for the Grant that gives the access, naming what it gives', async () => {
    const line = await eventually(() => {
      const found = operatorEvents().find((event) => event.objectRef?.resource === 'grants' && event.objectRef.name === grantName);
      expect(found, `the line for Grant ${grantName}`).toBeDefined();
      return found!;
    });
    expect(line).toMatchObject({
      verb: 'create',
      objectRef: { apiGroup: 'infrahq.com', apiVersion: 'v1alpha1' },
      annotations: {
        'infrahq.com/subject': `user:${alice}`,
        'infrahq.com/role': 'view',
        'infrahq.com/resource': `${destination}.${web}`,
        'infrahq.com/field-manager': 'kubectl-client-side-apply',
      },
    });
  });

  it('a request through the proxy has the jti in the proxy’s line, and the impersonated user in the spoke’s line for the same request', async () => {
    const kubeconfig = await infra.proxyKubeconfig(token);
    // Until the connector has bound the Grant, the spoke answers 403: both lines say so too.
    await eventually(async () => {
      const pods = await kubectl('spoke', ['get', 'pods', '-n', web], { kubeconfig });
      expect(pods.code, pods.stderr).toBe(0);
    });
    const listed = (event: AuditEvent) => event.verb === 'list' && event.objectRef?.resource === 'pods' && event.objectRef.namespace === web;
    const proxyLine = await eventually(async () => {
      const line = requestsWithToken(proxyEvents(), jti).findLast((event) => listed(event) && event.responseStatus.code === 200);
      expect(line, 'the proxy’s line for kubectl get pods').toBeDefined();
      return line!;
    });
    expect(proxyLine).toMatchObject({
      user: { username: alice, extra: { [credentialIDKey]: [`JTI=${jti}`] } },
      objectRef: { resource: 'pods', namespace: web, apiVersion: 'v1' },
      sourceIPs: ['127.0.0.1'],
      userAgent: expect.stringMatching(/^kubectl/) as unknown,
      annotations: { 'infrahq.com/component': 'infra-connector', 'infrahq.com/destination': destination },
    });

    // The spoke writes its line once the response is complete: wait for it.
    const spokeLine = await eventually(async () => {
      const line = sameRequest(await spokeEvents(), proxyLine);
      expect(line, `the spoke's line with auditID ${proxyLine.auditID}`).toBeDefined();
      return line!;
    });
    expect(spokeLine).toMatchObject({
      requestURI: proxyLine.requestURI,
      verb: 'list',
      user: { username: infra.proxyIdentity.username },
      impersonatedUser: { username: alice },
      objectRef: { resource: 'pods', namespace: web, apiVersion: 'v1' },
      responseStatus: { code: 200 },
    });
    // The same request by time as well: the spoke received it while the proxy held it.
    const spokeReceived = Date.parse(spokeLine.requestReceivedTimestamp);
    expect(spokeReceived).toBeGreaterThanOrEqual(Date.parse(proxyLine.requestReceivedTimestamp) - 1);
    expect(spokeReceived).toBeLessThanOrEqual(Date.parse(proxyLine.stageTimestamp) + 1);
  });

  it('a request RBAC forbids is in both lines with its 403', async () => {
    const kubeconfig = await infra.proxyKubeconfig(token);
    const secrets = await kubectl('spoke', ['get', 'secrets', '-n', web], { kubeconfig });
    expect(secrets.stderr).toContain('forbidden');
    const proxyLine = await eventually(async () => {
      const line = requestsWithToken(proxyEvents(), jti).find((event) => event.objectRef?.resource === 'secrets');
      expect(line).toBeDefined();
      return line!;
    });
    expect(proxyLine.responseStatus.code).toBe(403);
    const spokeLine = await eventually(async () => {
      const line = sameRequest(await spokeEvents(), proxyLine);
      expect(line).toBeDefined();
      return line!;
    });
    expect(spokeLine).toMatchObject({
      impersonatedUser: { username: alice },
      responseStatus: { code: 403 },
      objectRef: { resource: 'secrets', namespace: web },
    });
  });

  it('no token or password is in any line of the three', async () => {
    const all = [...infra.operator.logs, ...infra.connector.logs, ...(await spokeEvents()).map((event) => JSON.stringify(event))].join('\n');
    expect(auditEventsIn(infra.operator.logs).length).toBeGreaterThan(0);
    expect(auditEventsIn(infra.connector.logs).length).toBeGreaterThan(0);
    for (const secret of [token, token.split('.')[2]!, password]) expect(all).not.toContain(secret);
  });
});
