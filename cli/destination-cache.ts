// ~/.infra/destinations: the names `infra use` accepts, one a line, rewritten whenever the
// CLI writes its kubeconfig contexts. Shell completion reads this file itself, so
// completing `infra use <TAB>` starts no process and sends nothing over the network.
import { rmSync } from 'node:fs';
import { dnsLabel, parseResource } from '../api/grants.ts';
import { writeFileAtomic } from './files.ts';
import { destinationCachePath } from './paths.ts';

/**
 * DEST or DEST.NAMESPACE, both DNS labels. The completion scripts offer what the file
 * holds, so nothing else is ever written to it: a name the shell could expand stays out.
 */
function completable(name: string): boolean {
  const { destination, namespace } = parseResource(name);
  return dnsLabel.test(destination) && (namespace === undefined || dnsLabel.test(namespace)) && name.split('.').length <= 2;
}

export function saveDestinationNames(names: string[], env: NodeJS.ProcessEnv): void {
  writeFileAtomic(
    destinationCachePath(env),
    names
      .filter(completable)
      .map((name) => `${name}\n`)
      .join(''),
  );
}

export function removeDestinationNames(env: NodeJS.ProcessEnv): void {
  rmSync(destinationCachePath(env), { force: true });
}
