// The leaderElection settings the operator and the connector share: which Lease, who this
// replica is, and the Lease's timings (lib/leaderelection.ts), checked against each other.
import { z } from 'zod';
import { duration } from './duration.ts';
import { dnsLabel } from './grants.ts';

/** leaderElection for a program whose Lease is called `leaseName` unless configured. */
export function leaderElectionConfig(leaseName: string) {
  return z
    .object({
      enabled: z.boolean().default(true),
      leaseName: z.string().regex(dnsLabel, 'must be a Lease name (a DNS label)').default(leaseName),
      identity: z.string().min(1).optional().describe("this replica's holderIdentity on the Lease; the pod name (POD_NAME), else host and pid"),
      // A standby takes over at most ~6 s + one jittered retry (≤ 3.3 s) after the leader
      // dies, leaving room in the 15 s promise (docs) for the new leader's first reconciles.
      leaseDuration: duration.prefault('6s'),
      renewDeadline: duration.prefault('4s'),
      retryPeriod: duration.prefault('1500ms'),
    })
    .prefault({})
    .superRefine(({ leaseDuration, renewDeadline, retryPeriod }, ctx) => {
      if (!(renewDeadline > 1.2 * retryPeriod)) {
        ctx.addIssue({ code: 'custom', path: ['renewDeadline'], message: 'must be more than 1.2 × retryPeriod, or one slow renewal loses the lease' });
      }
      if (!(leaseDuration > renewDeadline)) {
        ctx.addIssue({
          code: 'custom',
          path: ['leaseDuration'],
          message: 'must be longer than renewDeadline, so a leader that cannot renew stops before a standby takes over',
        });
      }
    });
}
