// Where the operator keeps a built-in user's password hash when it sets one (a one-time
// password, or the user's own new one): the Secret infra-password-<User name> in its
// namespace (passwordSecretName, in secret-refs.ts beside the rule that lets only this
// user point at it), one per user, so changing one person's password never touches a
// Secret that an admin made and may share.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { User } from '../../api/v1alpha1/types.ts';
import { passwordSecretName } from '../secret-refs.ts';
import { hashPassword } from './passwords.ts';

const hashKey = 'hash';
const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export class PasswordSecrets {
  private readonly core: CoreV1Api;
  private readonly namespace: string;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = namespace;
  }

  /** Hashes the password into the user's own Secret; returns the reference for spec.passwordSecretRef. */
  async write(user: User, password: string): Promise<{ name: string; key: string }> {
    const name = passwordSecretName(user.metadata.name!);
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'infra-operator' },
        annotations: { 'infrahq.com/password-of': user.metadata.name! },
      },
      type: 'Opaque',
      data: { [hashKey]: Buffer.from(await hashPassword(password)).toString('base64') },
    };
    await this.core.patchNamespacedSecret({ name, namespace: this.namespace, body, fieldManager: 'infra-operator', force: true }, applyPatch);
    return { name, key: hashKey };
  }
}
