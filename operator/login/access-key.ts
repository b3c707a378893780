// Logging in with an access key (CI, scripts): the key must be a live access key, not a
// session key, of a User that still exists. The session it makes is tied to the key
// (login.ts) and ends when the key is revoked.
import type { User } from '../../api/v1alpha1/types.ts';
import type { LoginDeps } from './deps.ts';

/** The key's User (undefined when the key is no good) and the key's id. */
export async function checkAccessKey(
  deps: Pick<LoginDeps, 'hub' | 'credentials'>,
  accessKey: string,
): Promise<{ user: User | undefined; accessKeyId: string | undefined }> {
  const credential = await deps.credentials.authenticate(accessKey);
  const user = credential?.kind === 'access-key' ? deps.hub.userByEmail(credential.email) : undefined;
  return { user, accessKeyId: credential?.id };
}
