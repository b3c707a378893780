// For local clusters where you hold the hub's admin credentials and no Infra session yet
// (hack/kind-up.sh): what `infra destinations add NAME` does, printing only the bootstrap
// credential. Everyone else runs `infra destinations add`.
//
//   KUBECONFIG=<hub> INFRA_NAMESPACE=infra-system node hack/add-destination.ts production
import { destinationNameProblem } from '../api/grants.ts';
import { addDestination } from './local-infra/destinations.ts';

const [destination] = process.argv.slice(2);
const kubeconfig = process.env['KUBECONFIG'];
const problem = destination === undefined ? 'give the destination' : destinationNameProblem(destination);
if (problem || !kubeconfig) {
  console.error(
    `add-destination: ${problem ?? 'set KUBECONFIG to the hub'}\nusage: KUBECONFIG=<hub> [INFRA_NAMESPACE=infra-system] node hack/add-destination.ts DESTINATION`,
  );
  process.exit(2);
}
console.log(await addDestination(kubeconfig, process.env['INFRA_NAMESPACE'] ?? 'infra-system', destination!));
