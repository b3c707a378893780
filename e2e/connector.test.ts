// The connector end to end, with the real hub and spoke API servers, the real operator
// and real kubectl: Grants become bindings in the spoke, and users reach the spoke
// through the verifying, impersonating proxy with tokens from the operator.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyGrant, applyHub, grantCondition, grantObject, kubectl, kubectlOk, startTestInfra, uniqueName } from '../test/cluster.ts';
import type { Infra } from '../hack/local-infra/infra.ts';
import { eventually } from '../hack/local-infra/programs.ts';

const destination = uniqueName('prod');
const web = uniqueName('web');
const alice = `${uniqueName('alice')}@example.com`;
const password = 'a long enough password';
// An identity provider's group, named after its Provider as Grants and spoke bindings name it.
const webdevs = `okta:${uniqueName('WebDev')}`;
let infra: Infra;

interface Binding {
  metadata: { labels?: Record<string, string> };
  roleRef: { name: string };
  subjects?: { kind: string; name: string }[];
}

async function binding(args: string[]): Promise<Binding | undefined> {
  const result = await kubectl('spoke', ['get', ...args, '-o', 'json']);
  return result.code === 0 ? (JSON.parse(result.stdout) as Binding) : undefined;
}

const syncedCondition = (name: string) => grantCondition(name, 'Synced');

beforeAll(async () => {
  await kubectlOk('spoke', ['create', 'namespace', web]);
  infra = await startTestInfra({ namespace: uniqueName('infra'), destination }, { [alice]: password });
}, 120_000);

afterAll(async () => {
  await infra?.stop();
});

describe('registration', () => {
  it('fills in the Destination: proxy URL, CA, version, namespaces, roles, connected', async () => {
    await eventually(async () => {
      const dest = JSON.parse(await kubectlOk('hub', ['get', 'destination', destination, '-o', 'json'])) as {
        spec: { url?: string; caBundle?: string };
        status?: { connected?: boolean; kubernetesVersion?: string; namespaces?: string[]; roles?: string[] };
      };
      expect(dest.spec.url).toBe(infra.connector.proxyURL);
      expect(Buffer.from(dest.spec.caBundle ?? '', 'base64').toString()).toContain('BEGIN CERTIFICATE');
      expect(dest.status).toMatchObject({ connected: true, kubernetesVersion: 'v1.36.3' });
      expect(dest.status?.namespaces).toContain(web);
      expect(dest.status?.roles).toEqual(expect.arrayContaining(['view', 'edit', 'admin', 'cluster-admin']));
    });
    expect(await kubectlOk('hub', ['get', 'destination', destination])).toMatch(
      new RegExp(`${destination}\\s+https://127\\.0\\.0\\.1:\\d+\\s+true\\s+v1\\.36\\.3`),
    );
  });

  it('works with a hub identity that can touch nothing but its own Destination and Grants', async () => {
    const identity = `system:serviceaccount:${(await kubectlOk('hub', ['get', 'sa', '-A', '-l', `infrahq.com/destination=${destination}`, '-o', 'jsonpath={.items[0].metadata.namespace}'])).trim()}:connector-${destination}`;
    const can = async (...args: string[]) => (await kubectl('hub', ['auth', 'can-i', ...args, '--as', identity])).stdout.trim();
    expect(await can('watch', 'grants.infrahq.com')).toBe('yes');
    expect(await can('patch', `destinations.infrahq.com/${destination}`)).toBe('yes');
    expect(await can('delete', 'grants.infrahq.com')).toBe('no');
    expect(await can('create', 'grants.infrahq.com')).toBe('no');
    expect(await can('get', 'secrets', '-A')).toBe('no');
    // Every connector shares one ClusterRole (ADR 21); the hub's admission policy keeps
    // each to its own Destination (ADR 15).
    const other = uniqueName('someone-else');
    await applyHub([{ apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: other }, spec: { kind: 'kubernetes' } }]);
    try {
      const patch = await kubectl('hub', [
        'patch',
        'destination',
        other,
        '--type=merge',
        '-p',
        '{"spec":{"url":"https://attacker.example.com"}}',
        '--dry-run=server',
        '--as',
        identity,
      ]);
      expect(patch.code).not.toBe(0);
      expect(patch.stderr).toContain(`Destination ${other} is not its own`);
    } finally {
      await kubectl('hub', ['delete', 'destination', other, '--ignore-not-found']);
    }
  });
});

describe('RBAC sync', () => {
  it('creates a ClusterRoleBinding for a cluster-wide Grant, reports Synced, and removes it when the Grant goes', async () => {
    const name = uniqueName('alice-view');
    await applyGrant(name, { user: alice, role: 'view', resource: destination });
    await eventually(async () => {
      const crb = await binding(['clusterrolebinding', 'infra:view']);
      expect(crb?.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('infra');
      expect(crb?.roleRef.name).toBe('view');
      expect(crb?.subjects).toEqual([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: alice }]);
      expect(await syncedCondition(name)).toMatchObject({ status: 'True', reason: 'Bound' });
    });
    await kubectlOk('hub', ['delete', 'grant', name]);
    await eventually(async () => expect(await binding(['clusterrolebinding', 'infra:view'])).toBeUndefined());
  });

  it('binds a namespace Grant with a RoleBinding, and a group as a Group subject', async () => {
    const name = uniqueName('webdev-edit');
    await applyGrant(name, { group: webdevs, role: 'edit', resource: `${destination}.${web}` });
    await eventually(async () => {
      const rb = await binding(['rolebinding', '-n', web, 'infra:edit']);
      expect(rb?.subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: webdevs }]);
      expect(await syncedCondition(name)).toMatchObject({ status: 'True', message: expect.stringContaining(`RoleBinding ${web}/infra:edit`) });
    });
  });

  it('leaves alone a binding someone else made for the same role', async () => {
    await kubectlOk('spoke', ['create', 'rolebinding', 'team-edit', '-n', web, '--clusterrole=edit', '--group=team']);
    const name = uniqueName('more-edit');
    await applyGrant(name, { user: alice, role: 'edit', resource: `${destination}.${web}` });
    await eventually(async () => {
      const rb = await binding(['rolebinding', '-n', web, 'infra:edit']);
      expect(rb?.subjects?.map((s) => s.name).sort()).toEqual([alice, webdevs].sort());
    });
    const theirs = await binding(['rolebinding', '-n', web, 'team-edit']);
    expect(theirs?.subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'team' }]);
    expect(theirs?.metadata.labels).toBeUndefined();
  });

  it('binds a namespace created after its Grant at once, and says why until then', async () => {
    const later = uniqueName('later');
    const name = uniqueName('later-view');
    await applyGrant(name, { user: alice, role: 'view', resource: `${destination}.${later}` });
    await eventually(async () => expect(await syncedCondition(name)).toMatchObject({ status: 'False', reason: 'NamespaceNotFound' }));
    await kubectlOk('spoke', ['create', 'namespace', later]);
    const created = Date.now();
    await eventually(async () => expect((await binding(['rolebinding', '-n', later, 'infra:view']))?.subjects?.[0]?.name).toBe(alice), 5_000, 50);
    expect(Date.now() - created).toBeLessThan(3_000);
  });

  it('reports a role the destination does not have', async () => {
    const name = uniqueName('ghost-role');
    await applyGrant(name, { user: alice, role: 'no-such-role', resource: destination });
    await eventually(async () => {
      const synced = await syncedCondition(name);
      expect(synced).toMatchObject({ status: 'False', reason: 'RoleNotFound' });
      expect(synced?.message).toContain('ClusterRole no-such-role does not exist');
    });
  });

  it("moves a subject to the new binding before removing it from the old one when a Grant's role changes", async () => {
    const name = uniqueName('carol-role');
    const carol = `${uniqueName('carol')}@example.com`;
    await applyGrant(name, { user: carol, role: 'view', resource: `${destination}.${web}` });
    const holders = async () => {
      const result = await kubectl('spoke', [
        'get',
        'rolebindings',
        '-n',
        web,
        '-l',
        'app.kubernetes.io/managed-by=infra',
        '-o',
        'jsonpath={range .items[*]}{.roleRef.name}={.subjects[*].name};{end}',
      ]);
      return result.stdout
        .split(';')
        .filter((entry) => entry.includes(carol))
        .map((entry) => entry.split('=')[0]!);
    };
    await eventually(async () => expect(await holders()).toEqual(['view']));
    await applyGrant(name, { user: carol, role: 'admin', resource: `${destination}.${web}` });
    const seen: string[][] = [];
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const now = await holders();
      seen.push(now);
      if (now.length === 1 && now[0] === 'admin') break;
    }
    expect(seen.at(-1)).toEqual(['admin']);
    expect(
      seen.filter((roles) => roles.length === 0),
      `carol had no binding at some point: ${JSON.stringify(seen)}`,
    ).toEqual([]);
  });

  it('puts back a binding someone edited or deleted by hand', async () => {
    await kubectlOk('spoke', ['delete', 'rolebinding', '-n', web, 'infra:edit']);
    await eventually(async () => expect((await binding(['rolebinding', '-n', web, 'infra:edit']))?.subjects?.length).toBe(2));
    await kubectlOk('spoke', [
      'patch',
      'rolebinding',
      '-n',
      web,
      'infra:edit',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/subjects","value":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"intruder@example.com"}]}]',
    ]);
    await eventually(async () => {
      const names = (await binding(['rolebinding', '-n', web, 'infra:edit']))?.subjects?.map((s) => s.name).sort();
      expect(names).toEqual([alice, webdevs].sort());
    });
  });
});

describe('the proxy', () => {
  let kubeconfig: string;
  const viewName = uniqueName('alice-web-view');

  beforeAll(async () => {
    await applyGrant(viewName, { user: alice, role: 'view', resource: `${destination}.${web}` });
    await eventually(async () => expect(await syncedCondition(viewName)).toMatchObject({ status: 'True' }));
    kubeconfig = await infra.proxyKubeconfig(await infra.token(alice, password));
  });

  it('lets kubectl list pods where a Grant allows it and forbids it elsewhere', async () => {
    const allowed = await kubectl('spoke', ['get', 'pods', '-n', web], { kubeconfig });
    expect(allowed.code, allowed.stderr).toBe(0);
    const forbidden = await kubectl('spoke', ['get', 'pods', '-n', 'default'], { kubeconfig });
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toContain(`User "${alice}" cannot list resource "pods"`);
  });

  it('agrees with `kubectl auth can-i`', async () => {
    const can = async (...args: string[]) => (await kubectl('spoke', ['auth', 'can-i', ...args], { kubeconfig })).stdout.trim();
    expect(await can('list', 'pods', '-n', web)).toBe('yes');
    expect(await can('delete', 'pods', '-n', web)).toBe('yes'); // alice also holds edit on this namespace
    expect(await can('list', 'pods', '-n', 'default')).toBe('no');
    expect(await can('create', 'namespaces')).toBe('no');
    const whoami = JSON.parse((await kubectl('spoke', ['auth', 'whoami', '-o', 'json'], { kubeconfig })).stdout) as {
      status: { userInfo: { username: string } };
    };
    expect(whoami.status.userInfo.username).toBe(alice);
  });

  it('streams `kubectl get pods -w` as events happen', async () => {
    const watcher = spawn('kubectl', ['--kubeconfig', kubeconfig, 'get', 'pods', '-n', web, '-w', '--output-watch-events'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    watcher.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const pod = uniqueName('pod');
      await kubectlOk('spoke', ['run', pod, '-n', web, '--image=registry.example/none:1', '--restart=Never']);
      await eventually(() => expect(output).toMatch(new RegExp(`ADDED\\s+${pod}`)), 10_000, 100);
      await kubectlOk('spoke', ['delete', 'pod', pod, '-n', web, '--wait=false']);
      await eventually(() => expect(output).toMatch(new RegExp(`(MODIFIED|DELETED)\\s+${pod}`)), 10_000, 100);
    } finally {
      watcher.kill();
    }
  });

  it('refuses kubectl --as through the proxy: a client never picks who it is', async () => {
    const result = await kubectl('spoke', ['get', 'pods', '-n', web, '--as', 'admin'], { kubeconfig });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/[Ff]orbidden|impersonat/);
  });

  it('refuses a token for another destination, a forged signature and garbage', async () => {
    const elsewhere = uniqueName('elsewhere');
    await applyHub([
      { apiVersion: 'infrahq.com/v1alpha1', kind: 'Destination', metadata: { name: elsewhere }, spec: { kind: 'kubernetes' } },
      grantObject(uniqueName('alice-elsewhere'), { user: alice, role: 'cluster-admin', resource: elsewhere }),
    ]);
    const otherAudience = await eventually(() => infra.token(alice, password, elsewhere));
    const forged = (await infra.token(alice, password)).replace(/\.[^.]+$/, '.AAAA');
    for (const token of [otherAudience, forged, 'not-a-jwt']) {
      const result = await kubectl('spoke', ['get', 'pods', '-n', web], { kubeconfig: await infra.proxyKubeconfig(token) });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/You must be logged in to the server|provide credentials/);
    }
  });
});
