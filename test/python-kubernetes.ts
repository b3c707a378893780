// The official Kubernetes Python client, for suites that show the API works with a client
// other than kubectl: installed on first use (and cached) by hack/python-kubernetes.sh.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The python of a venv with the pinned `kubernetes` package. */
export async function kubernetesPython(): Promise<string> {
  // A cold install takes a minute: its progress goes to our stderr.
  const child = promisify(execFile)('bash', [join(import.meta.dirname, '..', 'hack', 'python-kubernetes.sh')], { maxBuffer: 1 << 20 });
  child.child.stderr?.pipe(process.stderr);
  return (await child).stdout.trim();
}
