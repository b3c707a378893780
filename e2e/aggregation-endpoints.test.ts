// On kind the hub's API server runs in a container, and the aggregation layer
// reaches a test's operator on the host through a selectorless Service whose
// EndpointSlice holds the host's address (hostServiceObjects in hack/local-infra/host-service.ts). This
// suite runs that wiring against a real kube-apiserver that routes to endpoints itself
// (--enable-aggregator-routing; on kind, kube-proxy routes the Service's ClusterIP), with
// this machine's own network address in the EndpointSlice (which refuses loopback), as
// the kind network's gateway is the host's. It runs its own control plane for that flag,
// which would refuse the ExternalName Service every other suite uses.
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../hack/controlplane/controlplane.ts';
import { installHubAPI } from '../hack/controlplane/crds.ts';
import { grantObject, hostServiceObjects, kubectlOk, manifest, uniqueName } from '../test/cluster.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';

const ns = uniqueName('infra');
const destination = uniqueName('dest');
const oncall = uniqueName('oncall');
const apiService = 'v1alpha1.auth.infrahq.com';
let controlPlane: ControlPlane;
let hostAddress: string;
let operator: RunningOperator;

/** The real kubectl against this suite's own hub. */
const kubectl = (args: string[], input?: string) =>
  kubectlOk('hub', args, { kubeconfig: controlPlane.state.clusters.hub.adminKubeconfig, ...(input !== undefined ? { input } : {}) });

/** This machine's first non-loopback IPv4 address. */
function externalIPv4(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!address) throw new Error('this machine has no non-loopback IPv4 address for the EndpointSlice');
  return address;
}

beforeAll(async () => {
  hostAddress = externalIPv4();
  controlPlane = await ControlPlane.start({ apiServerFlags: ['--enable-aggregator-routing=true'] });
  const hub = controlPlane.state.clusters.hub.adminKubeconfig;
  await installHubAPI(hub);
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['apply', '--server-side', '-f', join(import.meta.dirname, '..', 'config', 'rbac', 'auth-api-users.yaml')]);
  operator = await startOperator({ kubeconfig: hub, namespace: ns, aggregatedHost: hostAddress, config: { apiService: { register: true } } });
  const objects = [
    ...hostServiceObjects(ns, 'infra-operator', operator.aggregatedPort, hostAddress),
    { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: destination }, spec: { kind: 'kubernetes' } },
    grantObject(`${oncall}-view`, { group: `hub:${oncall}`, role: 'view', resource: destination }),
  ];
  await kubectl(['apply', '-f', '-'], manifest(objects));
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await controlPlane?.stop();
});

describe('the aggregated door behind a Service with an EndpointSlice at the host', () => {
  it('is an Available APIService', async () => {
    await eventually(
      async () => {
        const conditions = JSON.parse(await kubectl(['get', 'apiservice', apiService, '-o', 'jsonpath={.status.conditions}'])) as {
          type: string;
          status: string;
        }[];
        expect(conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True' }));
      },
      45_000,
      500,
    );
    const slices = await kubectl([
      'get',
      'endpointslices',
      '-n',
      ns,
      '-l',
      'kubernetes.io/service-name=infra-operator',
      '-o',
      'jsonpath={.items[*].endpoints[*].addresses[*]}',
    ]);
    expect(slices).toBe(hostAddress);
  });

  it('issues a token to `kubectl create -f tokenrequest.yaml --as … --as-group …`', async () => {
    const request = stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', metadata: { name: 'mine' }, spec: { destination } });
    const created = JSON.parse(await kubectl(['create', '-f', '-', '--as', 'suzie@example.com', '--as-group', oncall, '-o', 'json'], request)) as {
      status: { token: string };
    };
    expect(created.status.token.split('.')).toHaveLength(3);
  });
});
