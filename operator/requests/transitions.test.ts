import { describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../api/v1alpha1/types.ts';
import { StatusError } from '../../lib/status-error.ts';
import { decideOnFreshRead, RequestChanged } from './transitions.ts';

const version = (resourceVersion: string) => ({ metadata: { name: 'r', resourceVersion } }) as AccessRequest;

/** Reads answer versions 1, 2, 3, …; decide is told each and does what `outcome` says. */
function attempt(outcome: (request: AccessRequest) => AccessRequest) {
  const decided: string[] = [];
  let reads = 0;
  const run = decideOnFreshRead(
    async () => version(String(++reads)),
    async (request) => {
      decided.push(request.metadata.resourceVersion!);
      return outcome(request);
    },
  );
  return { run, decided };
}

describe('decideOnFreshRead', () => {
  it('decides again on a fresh read when the request changed under the write', async () => {
    const { run, decided } = attempt((request) => {
      if (request.metadata.resourceVersion === '1') throw new RequestChanged('r');
      return request;
    });
    expect((await run).metadata.resourceVersion).toBe('2');
    expect(decided).toEqual(['1', '2']);
  });

  it('answers a refusal at once: a check that fails on the fresh state is the answer', async () => {
    const { run, decided } = attempt(() => {
      throw new StatusError(409, 'Conflict', 'AccessRequest r is Approved: only a Pending request can be approved or denied');
    });
    await expect(run).rejects.toThrow('is Approved');
    expect(decided).toEqual(['1']);
  });

  it('gives up after three reads of a request that keeps changing', async () => {
    const { run, decided } = attempt(() => {
      throw new RequestChanged('r');
    });
    await expect(run).rejects.toThrow('AccessRequest r changed while this was decided: look at it again');
    expect(decided).toEqual(['1', '2', '3']);
  });
});
