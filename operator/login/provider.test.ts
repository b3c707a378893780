import { describe, expect, it, vi } from 'vitest';
import type { Provider } from '../../api/v1alpha1/types.ts';
import { StatusError } from '../../lib/status-error.ts';
import { fakeHub } from '../../test/fake-hub.ts';
import type { IdentityDeps } from '../identity/deps.ts';
import { loginWithProvider, startDeviceLogin } from './provider.ts';

const provider = (deviceFlow?: boolean): Provider => ({
  apiVersion: 'infrahq.com/v1alpha1',
  kind: 'Provider',
  metadata: { name: 'okta' },
  spec: {
    kind: 'okta',
    issuer: 'https://acme.okta.com',
    clientID: 'infra',
    clientSecretRef: { name: 'okta-client-secret', key: 'clientSecret' },
    ...(deviceFlow === undefined ? {} : { deviceFlow }),
  },
});

/** Identity deps whose provider client records what reached it. */
function deps(p: Provider) {
  const clients = {
    startDevice: vi.fn(async () => ({ user_code: 'ABCD', verification_uri: 'https://acme.okta.com/activate', device_code: 'dc', expires_in: 600 })),
    pollDevice: vi.fn(async () => ({ pending: 'AuthorizationPending' as const })),
  };
  return { clients, deps: { hub: fakeHub({ providers: [p] }).hub, clients, now: () => new Date() } as unknown as IdentityDeps };
}

describe('the device flow', () => {
  it('is refused, before the provider is asked, unless the Provider sets spec.deviceFlow: true', async () => {
    for (const setting of [undefined, false]) {
      const { clients, deps: d } = deps(provider(setting));
      const start = await startDeviceLogin(d, 'okta').catch((err: unknown) => err);
      expect(start).toBeInstanceOf(StatusError);
      expect(start).toMatchObject({
        code: 403,
        message:
          'the device flow is off for okta: log in with the browser instead (infra login --provider okta, with --no-browser on a machine without one), or ask an Infra admin to set spec.deviceFlow: true on Provider okta',
      });
      // A device code started at the provider directly is not redeemed either.
      await expect(loginWithProvider(d, { provider: 'okta', deviceCode: 'dc' })).rejects.toMatchObject({ code: 403 });
      expect(clients.startDevice).not.toHaveBeenCalled();
      expect(clients.pollDevice).not.toHaveBeenCalled();
    }
  });

  it('starts and polls at the provider for a Provider that opted in', async () => {
    const { clients, deps: d } = deps(provider(true));
    expect(await startDeviceLogin(d, 'okta')).toMatchObject({ userCode: 'ABCD', deviceCode: 'dc' });
    await expect(loginWithProvider(d, { provider: 'okta', deviceCode: 'dc' })).rejects.toMatchObject({ code: 409, reason: 'AuthorizationPending' });
    expect(clients.pollDevice).toHaveBeenCalledOnce();
  });
});
