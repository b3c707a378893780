import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { AccessReviewStatus } from '../api/auth/v1alpha1/types.ts';
import { testDirectory } from '../test/temporary.ts';
import { CliError } from './errors.ts';
import { contextsFor, editKubeconfig, mergeInfra, removeInfra } from './kubeconfig.ts';

const exec = { command: '/usr/bin/node', args: ['/repo/cli/main.ts'], env: [{ name: 'INFRA_HOME', value: '/tmp/h' }] };
const destinations: AccessReviewStatus['destinations'] = [
  {
    name: 'prod',
    url: 'https://prod.example.com:8443',
    caBundle: 'Q0E=',
    connected: true,
    clusterRoles: ['view'],
    namespaces: [{ name: 'web', roles: ['edit'] }],
  },
  { name: 'unregistered', connected: false, clusterRoles: ['admin'], namespaces: [] },
];

const existing = `# my own comment, keep me
apiVersion: v1
kind: Config
clusters:
  - name: mine
    cluster:
      server: https://mine.example.com # inline comment
  - name: infra:old
    cluster:
      server: https://old.example.com
contexts:
  - name: mine
    context: { cluster: mine, user: me }
  - name: infra:old
    context: { cluster: infra:old, user: infra:old }
users:
  - name: me
    user: { token: secret }
  - name: infra:old
    user: { token: stale }
current-context: infra:old
preferences: {}
`;

function tempFile(content?: string): string {
  const dir = testDirectory('infra-cli-kubeconfig-');
  const path = join(dir, 'config');
  if (content !== undefined) writeFileSync(path, content);
  return path;
}

interface Named {
  name: string;
  [key: string]: unknown;
}

describe('kubeconfig', () => {
  it('has a context per reachable destination and per namespace, none for a destination without a url', () => {
    expect(contextsFor(destinations).map((c) => c.name)).toEqual(['infra:prod', 'infra:prod.web']);
  });

  it('adds infra:* entries, leaves the others byte-for-byte, prunes stale infra:* entries', () => {
    const path = tempFile(existing);
    editKubeconfig(path, (doc) => mergeInfra(doc, destinations, exec));
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('# my own comment, keep me');
    expect(text).toContain('server: https://mine.example.com # inline comment');
    const config = parse(text) as { clusters: Named[]; contexts: Named[]; users: Named[]; 'current-context': string; preferences: object };
    const before = parse(existing) as typeof config;
    expect(config.clusters.find((c) => c.name === 'mine')).toEqual(before.clusters[0]);
    expect(config.contexts.find((c) => c.name === 'mine')).toEqual(before.contexts[0]);
    expect(config.users.find((c) => c.name === 'me')).toEqual(before.users[0]);
    expect(config.preferences).toEqual({});
    expect(config.clusters.map((c) => c.name)).toEqual(['mine', 'infra:prod']);
    expect(config.users.map((c) => c.name)).toEqual(['me', 'infra:prod']);
    expect(config.contexts.map((c) => c.name)).toEqual(['mine', 'infra:prod', 'infra:prod.web']);
    // The stale infra:old context was current: it is gone, so nothing infra-ish is current.
    expect(config['current-context']).toBe('');
    expect(config.clusters[1]).toEqual({ name: 'infra:prod', cluster: { server: 'https://prod.example.com:8443', 'certificate-authority-data': 'Q0E=' } });
    expect(config.contexts[2]).toEqual({ name: 'infra:prod.web', context: { cluster: 'infra:prod', user: 'infra:prod', namespace: 'web' } });
    expect(config.users[1]).toEqual({
      name: 'infra:prod',
      user: {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: '/usr/bin/node',
          args: ['/repo/cli/main.ts', 'tokens', '--destination', 'prod'],
          env: [{ name: 'INFRA_HOME', value: '/tmp/h' }],
          interactiveMode: 'Never',
          provideClusterInfo: false,
          installHint: expect.stringContaining('`make install`') as string,
        },
      },
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("keeps a current-context that is not Infra's, or an infra:* one that still exists", () => {
    const path = tempFile(existing.replace('current-context: infra:old', 'current-context: mine'));
    editKubeconfig(path, (doc) => mergeInfra(doc, destinations, exec));
    expect((parse(readFileSync(path, 'utf8')) as Record<string, unknown>)['current-context']).toBe('mine');
    editKubeconfig(path, (doc) => doc.set('current-context', 'infra:prod.web'));
    editKubeconfig(path, (doc) => mergeInfra(doc, destinations, exec));
    expect((parse(readFileSync(path, 'utf8')) as Record<string, unknown>)['current-context']).toBe('infra:prod.web');
  });

  it('writes atomically: a new file renamed over the old one, no temp file left behind', () => {
    const path = tempFile(existing);
    const inode = statSync(path).ino;
    editKubeconfig(path, (doc) => mergeInfra(doc, destinations, exec));
    expect(statSync(path).ino).not.toBe(inode);
    expect(readdirSync(join(path, '..'))).toEqual(['config']);
  });

  it('creates a kubeconfig (and its directory) when there is none', () => {
    const path = join(tempFile(), '..', 'kube', 'config');
    editKubeconfig(path, (doc) => mergeInfra(doc, destinations, exec));
    const config = parse(readFileSync(path, 'utf8')) as { apiVersion: string; contexts: Named[] };
    expect(config.apiVersion).toBe('v1');
    expect(config.contexts).toHaveLength(2);
  });

  it.each([
    ['broken YAML', 'apiVersion: v1\nclusters:\n  - name: a\n   cluster: [\n'],
    ['a list at the top', '- a\n- b\n'],
    ['contexts that are not a list', 'apiVersion: v1\ncontexts: hello\n'],
  ])('refuses %s with a clear error and leaves the file as it was', (_, content) => {
    const path = tempFile(content);
    expect(() => editKubeconfig(path, (doc) => mergeInfra(doc, destinations, exec))).toThrow(CliError);
    expect(() => editKubeconfig(path, removeInfra)).toThrow(/is not valid YAML .*left unchanged/);
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(readdirSync(join(path, '..'))).toEqual(['config']);
  });

  it('removes every infra:* entry on logout and nothing else', () => {
    const path = tempFile(existing);
    editKubeconfig(path, (doc) => mergeInfra(doc, destinations, exec));
    editKubeconfig(path, removeInfra);
    const config = parse(readFileSync(path, 'utf8')) as { clusters: Named[]; contexts: Named[]; users: Named[] };
    expect([...config.clusters, ...config.contexts, ...config.users].map((e) => e.name)).toEqual(['mine', 'mine', 'me']);
  });
});
