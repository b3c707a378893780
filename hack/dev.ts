// `make dev`: Infra running locally. A hub and a spoke control plane on loopback, the
// CRDs and samples in the hub, the operator (its auth API also served through the hub's
// aggregation layer, as in a cluster), and a connector that registers the spoke as the
// destination `development`, plus a built-in admin to log in with. It prints the `infra`
// commands to type and a TokenRequest that works. Runs until Ctrl-C. Tests can reuse the
// control plane with INFRA_CONTROLPLANE_DIR=.infra/dev.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { findOnPath } from '../cli/self.ts';
import { startInfra, type Infra } from './local-infra/infra.ts';
import { eventually } from './local-infra/programs.ts';
import { buildPrograms } from './build.ts';
import { buildExecutable, hostPlatform } from './executable.ts';
import { ControlPlane, findRunning, userKubeconfig } from './controlplane/controlplane.ts';
import { installHubAPI } from './controlplane/crds.ts';

const repoRoot = join(import.meta.dirname, '..');
const dir = join(repoRoot, '.infra', 'dev');
const destination = 'development';
const admin = 'admin@example.com';

if (await findRunning(dir)) {
  console.error(`A local control plane is already running from ${relative(process.cwd(), dir)}; stop it (Ctrl-C in its terminal) first.`);
  process.exit(1);
}

const started = Date.now();
/** How to run `infra` here: the one on PATH (make install), else this checkout's executable, else its bundle. */
async function buildInfraCommand(): Promise<string> {
  await buildPrograms();
  if (findOnPath('infra', process.env['PATH'])) return 'infra';
  const host = hostPlatform();
  if (host instanceof Error) return `node ${relative(process.cwd(), join(repoRoot, 'dist', 'cli', 'main.js'))}`;
  return relative(process.cwd(), await buildExecutable(host));
}

const [controlPlane, infraCommand] = await Promise.all([ControlPlane.start({ dir, auditLog: true }), buildInfraCommand()]);
let infra: Infra | undefined;
let stopping: Promise<void> | undefined;
// Ctrl-C reaches every process of the terminal's group, so a signal and the "crashed"
// notice of a child that got the same signal can race: stop once.
const stop = (reason: string, code: number) =>
  (stopping ??= (async () => {
    console.error(`\n${reason}; stopping Infra and the local control plane...`);
    await infra?.stop();
    await controlPlane.stop();
    process.exit(code);
  })());
process.once('SIGINT', () => void stop('Interrupted', 0));
process.once('SIGTERM', () => void stop('Terminated', 0));
void controlPlane.crashed.then((reason) => stop(reason, 1));

try {
  const { hub, spoke } = controlPlane.state.clusters;
  const kubectl = (kubeconfig: string, ...args: string[]) => promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args]);
  await installHubAPI(hub.adminKubeconfig);
  await kubectl(hub.adminKubeconfig, 'apply', '--server-side', '-f', join(repoRoot, 'config', 'samples'));
  // The operator under its ServiceAccount's name, as in a cluster: the admission policy for
  // AccessRequests lets only that identity write their status.
  const operatorKubeconfig = join(dir, 'operator.kubeconfig');
  await writeFile(operatorKubeconfig, await userKubeconfig(hub, 'system:serviceaccount:infra-system:infra-operator', ['system:masters']), { mode: 0o600 });
  infra = await startInfra({
    hubKubeconfig: hub.adminKubeconfig,
    spokeKubeconfig: spoke.adminKubeconfig,
    operatorKubeconfig,
    namespace: 'infra-system',
    destination,
    logDir: dir,
    operatorConfig: { bootstrapAdmins: [admin] },
    aggregated: true,
  });
  const password = randomBytes(12).toString('base64url');
  await infra.addUser(admin, password);
  const child = promisify(execFile)('kubectl', ['--kubeconfig', hub.adminKubeconfig, 'apply', '-f', '-']);
  child.child.stdin!.end(
    stringify({
      apiVersion: 'infrahq.com/v1alpha1',
      kind: 'Grant',
      metadata: { name: 'admin-cluster-admin-development' },
      spec: { user: admin, role: 'cluster-admin', resource: destination },
    }),
  );
  await child;
  const caFile = join(dir, 'operator-ca.crt');
  await writeFile(caFile, infra.operatorCA);
  // What dev prints must work: ask for a token through the aggregation layer once.
  const tokenRequestFile = join(dir, 'tokenrequest.yaml');
  await writeFile(tokenRequestFile, stringify({ apiVersion: 'auth.infrahq.com/v1alpha1', kind: 'TokenRequest', spec: { destination } }));
  // The admin's Grant reaches the operator's cache a moment after it is applied.
  await eventually(() => kubectl(hub.adminKubeconfig, 'create', '-f', tokenRequestFile, '--as', admin, '-o', 'name'), 30_000);

  const rel = (path: string) => relative(process.cwd(), path);
  console.log(`
Infra is running locally, up in ${((Date.now() - started) / 1000).toFixed(1)}s (Kubernetes ${controlPlane.state.kubernetesVersion}).

  hub        ${hub.server}    export KUBECONFIG=${rel(hub.adminKubeconfig)}
  spoke      ${spoke.server}    export KUBECONFIG=${rel(spoke.adminKubeconfig)}
  operator   ${infra.operator.publicURL}    (the auth API; CA in ${rel(caFile)})
  connector  ${infra.connector.proxyURL}    (destination "${destination}")

Log in as the built-in admin, then use the spoke through the connector:

  echo '${password}' | ${infraCommand} login ${infra.operator.publicURL} --user ${admin} --password-stdin --ca-file ${rel(caFile)}
  ${infraCommand} list
  ${infraCommand} use ${destination}
  kubectl get namespaces
  ${infraCommand} grants add -g okta:Oncall ${destination} --role edit --for 8h
  ${infraCommand} grants list
${infraCommand === 'infra' ? '' : `(make install puts this as \`infra\` on your PATH; kubeconfigs then say \`command: infra\`)\n`}
A TokenRequest through the hub's aggregation layer (the auth API, auth.infrahq.com), as the admin:

  kubectl --kubeconfig ${rel(hub.adminKubeconfig)} api-resources --api-group=auth.infrahq.com
  kubectl --kubeconfig ${rel(hub.adminKubeconfig)} create -f ${rel(tokenRequestFile)} --as ${admin} -o yaml

Grants and the samples: kubectl --kubeconfig ${rel(hub.adminKubeconfig)} get infra
Run the tests against this control plane from another terminal: INFRA_CONTROLPLANE_DIR=.infra/dev make test
Logs: ${rel(dir)}/operator.log, ${rel(dir)}/connector.log (audit lines: kind Event), ${rel(dir)}/*/kube-apiserver.log, ${rel(dir)}/*/audit.log. Press Ctrl-C to stop.`);
} catch (err) {
  await stop(`Setting up failed: ${(err as Error).message}`, 1);
}
