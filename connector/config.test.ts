// The connector's leader election settings: defaults a standby takes over with inside the
// 15 s promise, and timings that could not work refused with what to change.
import { describe, expect, it } from 'vitest';
import { connectorConfigSchema } from './config.ts';

const base = { destination: 'prod', hubKubeconfig: '/etc/infra/hub/kubeconfig', issuer: 'https://infra.example.com' };
const problems = (leaderElection: object) => {
  const result = connectorConfigSchema.safeParse({ ...base, leaderElection });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('connector leaderElection config', () => {
  it('is on by default, on the Lease infra-connector, with a lease short enough to fail over within seconds', () => {
    expect(connectorConfigSchema.parse(base).leaderElection).toEqual({
      enabled: true,
      leaseName: 'infra-connector',
      leaseDuration: 6_000,
      renewDeadline: 4_000,
      retryPeriod: 1_500,
    });
  });

  it('takes durations as people write them', () => {
    const parsed = connectorConfigSchema.parse({ ...base, leaderElection: { leaseDuration: '3s', renewDeadline: '2s', retryPeriod: '500ms' } });
    expect(parsed.leaderElection).toMatchObject({ leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 });
  });

  it('refuses a renew deadline a standby could outrun, and one a single slow renewal would miss, saying why', () => {
    expect(problems({ leaseDuration: '4s', renewDeadline: '4s' })).toEqual([
      'leaderElection.leaseDuration: must be longer than renewDeadline, so a leader that cannot renew stops before a standby takes over',
    ]);
    expect(problems({ renewDeadline: '2s', retryPeriod: '2s' })).toEqual([
      'leaderElection.renewDeadline: must be more than 1.2 × retryPeriod, or one slow renewal loses the lease',
    ]);
    expect(problems({ leaseName: 'Infra_Connector' })).toEqual(['leaderElection.leaseName: must be a Lease name (a DNS label)']);
  });
});
