// A new Grant is bound from the connector's first sight of it, before the operator has
// labelled it with its destination: the operator is off the Grant → binding path
// (docs/adr/0028-grants-bound-before-labelled.md). Here the operator is stopped once the
// connector runs, so no Grant gets the label, then started again to label them; the real
// hub and spoke, real kubectl.
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cluster, kubectl, kubectlOk, uniqueName } from '../test/cluster.ts';
import { startInfra, type Infra } from '../hack/local-infra/infra.ts';
import { eventually, startOperator, type RunningOperator } from '../hack/local-infra/programs.ts';

const destination = uniqueName('early');
const namespace = uniqueName('infra');
const web = uniqueName('web');
const run = uniqueName('unlabelled');
let infra: Infra;
let restarted: RunningOperator | undefined;

const applyGrant = (name: string, spec: object) =>
  kubectlOk('hub', ['apply', '-f', '-'], { input: stringify({ apiVersion: 'infrahq.com/v1alpha1', kind: 'Grant', metadata: { name }, spec }) });
const grantField = (name: string, jsonpath: string) => kubectlOk('hub', ['get', 'grant', name, '-o', `jsonpath=${jsonpath}`]);

async function viewers(): Promise<string[]> {
  const result = await kubectl('spoke', ['get', 'rolebinding', 'infra:view', '-n', web, '-o', 'jsonpath={.subjects[*].name}']);
  return result.code === 0 ? result.stdout.split(' ').filter(Boolean) : [];
}

beforeAll(async () => {
  await kubectlOk('spoke', ['create', 'namespace', web]);
  infra = await startInfra({
    hubKubeconfig: cluster('hub').adminKubeconfig,
    spokeKubeconfig: cluster('spoke').adminKubeconfig,
    namespace,
    destination,
  });
  // The connector has its hub credential and has listed the Grants: nothing needs the operator now.
  await eventually(async () => expect(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'jsonpath={.status.connected}'])).toBe('true'));
  await infra.operator.stop();
}, 120_000);

afterAll(async () => {
  await restarted?.stop();
  await infra?.stop();
});

it('binds a Grant the operator has not labelled, and unbinds it when it is deleted', async () => {
  const alice = `${run}-alice@example.com`;
  await applyGrant(`${run}-alice`, { user: alice, role: 'view', resource: `${destination}.${web}` });
  await eventually(async () => expect(await viewers()).toContain(alice));
  expect(await grantField(`${run}-alice`, '{.metadata.labels}')).toBe('');

  await kubectlOk('hub', ['delete', 'grant', `${run}-alice`]);
  await eventually(async () => expect(await viewers()).not.toContain(alice));
});

it("leaves another destination's unlabelled Grant alone", async () => {
  const bob = `${run}-bob@example.com`;
  const carol = `${run}-carol@example.com`;
  await applyGrant(`${run}-bob`, { user: bob, role: 'view', resource: `elsewhere-${run}.${web}` });
  // A Grant of ours after it: once it is bound, the other one has been seen and passed over.
  await applyGrant(`${run}-carol`, { user: carol, role: 'view', resource: `${destination}.${web}` });
  await eventually(async () => expect(await viewers()).toContain(carol));
  expect(await viewers()).not.toContain(bob);
  await kubectlOk('hub', ['delete', 'grant', `${run}-bob`, `${run}-carol`]);
});

it('unbinds an unlabelled Grant moved to another destination', async () => {
  const dave = `${run}-dave@example.com`;
  await applyGrant(`${run}-dave`, { user: dave, role: 'view', resource: `${destination}.${web}` });
  await eventually(async () => expect(await viewers()).toContain(dave));
  await applyGrant(`${run}-dave`, { user: dave, role: 'view', resource: `elsewhere-${run}.${web}` });
  await eventually(async () => expect(await viewers()).not.toContain(dave));
  await kubectlOk('hub', ['delete', 'grant', `${run}-dave`]);
});

it('writes Synced once the operator labels the Grant, keeps it bound, and unbinds it when moved away', async () => {
  const erin = `${run}-erin@example.com`;
  const grant = `${run}-erin`;
  await applyGrant(grant, { user: erin, role: 'view', resource: `${destination}.${web}` });
  await eventually(async () => expect(await viewers()).toContain(erin));
  // The hub refuses a connector's status write on an unlabelled Grant: none is tried.
  expect(await grantField(grant, '{.status.conditions[?(@.type=="Synced")].status}')).toBe('');

  restarted = await startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace });
  await eventually(async () => expect(await grantField(grant, '{.metadata.labels.infrahq\\.com/destination}')).toBe(destination));
  await eventually(async () => expect(await grantField(grant, '{.status.conditions[?(@.type=="Synced")].status}')).toBe('True'));
  expect(await viewers()).toContain(erin);

  // Labelled now: moved to another destination, the operator relabels it and it leaves this one.
  await applyGrant(grant, { user: erin, role: 'view', resource: `elsewhere-${run}.${web}` });
  await eventually(async () => expect(await grantField(grant, '{.metadata.labels.infrahq\\.com/destination}')).toBe(`elsewhere-${run}`));
  await eventually(async () => expect(await viewers()).not.toContain(erin));
  await kubectlOk('hub', ['delete', 'grant', grant]);
});
