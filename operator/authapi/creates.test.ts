import { describe, expect, it } from 'vitest';
import { kinds, type Kind } from '../../api/auth/v1alpha1/types.ts';
import { echoedSpec, secretSpecFields } from './creates.ts';

const verifier = 'v'.repeat(43);
// Each kind's spec as a client sends it, and what the answer may repeat of it.
const cases: [Kind, string, Record<string, unknown>, Record<string, unknown>][] = [
  ['Login', 'a password', { email: 'carl@example.com', password: 'correct horse battery' }, { email: 'carl@example.com' }],
  ['Login', 'an access key', { accessKey: 'iak_abc.secret' }, {}],
  [
    'Login',
    'an authorization code',
    { provider: 'okta', code: 'the-code', redirectURI: 'http://127.0.0.1:8250/callback', codeVerifier: verifier, nonce: 'n'.repeat(16) },
    { provider: 'okta', redirectURI: 'http://127.0.0.1:8250/callback', nonce: 'n'.repeat(16) },
  ],
  ['Login', 'a device code', { provider: 'okta', deviceCode: 'the-device-code' }, { provider: 'okta' }],
  ['PasswordChange', 'both passwords', { currentPassword: 'old password here', newPassword: 'a new long password' }, {}],
  ['PasswordReset', 'no secret', { user: 'carl@example.com' }, { user: 'carl@example.com' }],
  ['AccessKey', 'no secret', { name: 'ci', user: 'carl@example.com', ttl: '30d' }, { name: 'ci', user: 'carl@example.com', ttl: '30d' }],
  ['TokenRequest', 'no secret', { destination: 'prod' }, { destination: 'prod' }],
  ['AccessReview', 'no secret', {}, {}],
  ['Logout', 'no secret', { all: true }, { all: true }],
  ['DeviceAuthorization', 'no secret', { provider: 'okta' }, { provider: 'okta' }],
];

describe('the spec a create answer echoes', () => {
  it.each(cases)('%s with %s keeps only what is not a credential', (kind, _what, spec, echoed) => {
    const parsed = kinds[kind].spec.safeParse(spec);
    expect(parsed.success, JSON.stringify(parsed.error)).toBe(true);
    expect(echoedSpec(kind, parsed.data as Record<string, unknown>)).toEqual(echoed);
  });

  it('covers every kind', () => {
    expect(new Set(cases.map(([kind]) => kind))).toEqual(new Set(Object.keys(kinds)));
  });

  it('names only fields the kinds have, so a renamed secret field cannot slip through unnoticed', () => {
    for (const [kind, fields] of Object.entries(secretSpecFields) as [Kind, readonly string[]][]) {
      expect(Object.keys(kinds[kind].spec.shape)).toEqual(expect.arrayContaining([...fields]));
    }
  });
});
