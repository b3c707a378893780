import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDirectory } from '../test/temporary.ts';
import { loadOperatorConfig } from './config.ts';

function configFile(text: string): string {
  const path = join(testDirectory('infra-operator-config-'), 'config.yaml');
  writeFileSync(path, text);
  return path;
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = loadOperatorConfig(argv, env);
  if (parsed.kind !== 'run') throw new Error(`expected a run config, got ${parsed.kind}`);
  return parsed.config;
}

describe('operator configuration', () => {
  it('fills defaults around the one required setting', () => {
    const config = run(['--public-url', 'https://infra.example.com/']);
    expect(config.publicURL).toBe('https://infra.example.com');
    expect(config.namespace).toBe('infra-system');
    expect(config.tokens.lifetime).toBe(5 * 60_000);
    expect(config.listen.public).toBe('0.0.0.0:8443');
    expect(config.leaderElection.enabled).toBe(true);
  });

  it("takes the Lease's timings, and refuses ones that would lose or overlap the lease", () => {
    expect(run(['--public-url', 'https://infra.example.com']).leaderElection).toMatchObject({ leaseDuration: 6_000, renewDeadline: 4_000, retryPeriod: 1_500 });
    const file = configFile('publicURL: https://infra.example.com\nleaderElection:\n  leaseDuration: 15s\n  renewDeadline: 10s\n  retryPeriod: 2s\n');
    expect(run(['--config', file]).leaderElection).toMatchObject({ leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000 });
    const overlapping = configFile('publicURL: https://infra.example.com\nleaderElection:\n  renewDeadline: 10s\n');
    expect(() => run(['--config', overlapping])).toThrow(/leaderElection\.leaseDuration: must be longer than renewDeadline/);
  });

  it('takes a file, then environment, then flags', () => {
    const file = configFile('publicURL: https://file.example.com\nnamespace: from-file\ntokens:\n  lifetime: 2m\nbootstrapAdmins: [admin@example.com]\n');
    const config = run(['--config', file, '--namespace', 'from-flag'], { INFRA_NAMESPACE: 'from-env', INFRA_PUBLIC_URL: 'https://env.example.com' });
    expect(config.namespace).toBe('from-flag');
    expect(config.publicURL).toBe('https://env.example.com');
    expect(config.tokens.lifetime).toBe(120_000);
    expect(config.bootstrapAdmins).toEqual(['admin@example.com']);
  });

  it.each([
    [['--public-url', 'http://infra.example.com'], /publicURL: must be the https:\/\/ URL/],
    [[], /publicURL/],
    [['--public-url', 'https://x.example.com', '--namespace', 'Infra_System'], /namespace: must be a namespace name/],
    [['--public-url', 'https://x.example.com', '--listen-public', '8443'], /listen\.public: must be host:port/],
    [['--public-url', 'https://x.example.com', '--log-level', 'loud'], /logLevel/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('rejects %j with an error naming the setting', (argv, message) => {
    expect(() => loadOperatorConfig(argv, {})).toThrow(message);
  });

  it('rejects bad values in a file with the file named', () => {
    const file = configFile('publicURL: https://x.example.com\ntokens:\n  lifetime: 1h\nsessions:\n  lifetime: soon\nunknownSetting: 1\n');
    let message = '';
    try {
      loadOperatorConfig(['--config', file], {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(file);
    expect(message).toMatch(/tokens\.lifetime: must be 10m or less/);
    expect(message).toMatch(/sessions\.lifetime: "soon" is not a duration/);
    expect(message).toMatch(/unknownSetting/);
  });

  it('takes trusted proxies as addresses or ranges, and names an entry that is neither', () => {
    expect(run(['--config', configFile('publicURL: https://x.example.com\ntrustedProxies: [10.0.0.0/8, loopback]\n')]).trustedProxies).toEqual([
      '10.0.0.0/8',
      'loopback',
    ]);
    expect(() => loadOperatorConfig(['--config', configFile('publicURL: https://x.example.com\ntrustedProxies: [my-load-balancer]\n')], {})).toThrow(
      /trustedProxies\.0: invalid IP address: my-load-balancer: write an IP address or a CIDR range/,
    );
  });

  it('rejects the removed tls setting by name', () => {
    const file = configFile('publicURL: https://x.example.com\ntls:\n  certFile: /etc/tls/tls.crt\n  keyFile: /etc/tls/tls.key\n');
    expect(() => loadOperatorConfig(['--config', file], {})).toThrow(/Unrecognized key: "tls"/);
  });

  it('reports an unreadable or malformed file clearly', () => {
    expect(() => loadOperatorConfig(['--config', '/nonexistent/infra.yaml'], {})).toThrow(/cannot read config file \/nonexistent\/infra.yaml/);
    expect(() => loadOperatorConfig(['--config', configFile('a: [')], {})).toThrow(/is not valid YAML/);
  });
});
