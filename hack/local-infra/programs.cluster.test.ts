// The harness that starts the programs for e2e tests and benchmarks: a port another
// process took between picking and binding costs a restart on other ports, not a red run;
// any other failure to start is reported at once.
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../controlplane/controlplane.ts';
import { cluster, kubectlOk, uniqueName } from '../../test/cluster.ts';
import { startOperator, type PortPicker } from './programs.ts';

let namespace: string;
/** Holds a port as another program would; a connection to it is closed at once, so nothing waits on it. */
const squatter = createServer((socket) => socket.destroy());

beforeAll(async () => {
  namespace = uniqueName('programs');
  await kubectlOk('hub', ['create', 'namespace', namespace]);
  squatter.listen(0, '127.0.0.1');
  await once(squatter, 'listening');
});

afterAll(async () => {
  squatter.close();
  await kubectlOk('hub', ['delete', 'namespace', namespace, '--wait=false']);
});

/** Hands out `first` on the first call (the ports then taken), free ports afterwards; counts the calls. */
function picker(first: (count: number) => Promise<number[]>): PortPicker & { calls: number } {
  const pick = Object.assign(async (count: number) => (++pick.calls === 1 ? first(count) : freePorts(count)), { calls: 0 });
  return pick;
}

describe('starting a program', () => {
  it('starts it again on other ports when another process took one of its own', async () => {
    const taken = (squatter.address() as AddressInfo).port;
    const pickPorts = picker(async (count) => [taken, ...(await freePorts(count - 1))]);
    const operator = await startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace, pickPorts });
    try {
      expect(pickPorts.calls).toBe(2);
      expect(operator.publicURL).not.toBe(`https://127.0.0.1:${taken}`);
      expect((await fetch(`${operator.metricsURL}/readyz`)).status).toBe(200);
    } finally {
      await operator.stop();
    }
  }, 100_000); // two starts of up to 30 s each before the harness gives up and says why

  it("reports any other failure after one attempt, with the program's last words", async () => {
    const pickPorts = picker(freePorts);
    const failed = startOperator({ kubeconfig: '/nonexistent/kubeconfig', namespace, pickPorts });
    await expect(failed).rejects.toThrow(/the program exited with \d+:\n[\s\S]*kubeconfig/);
    expect(pickPorts.calls).toBe(1);
  });

  it('reports a program that ends before it is stopped, with its last lines, and not one that is stopped', async () => {
    const crashing = await startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace });
    process.kill(crashing.process.pid!, 'SIGKILL');
    await expect(crashing.crashed).resolves.toMatch(new RegExp(`^operator \\(pid ${crashing.process.pid}\\) exited with SIGKILL; its last lines:\n.*"msg"`));

    const stopped = await startOperator({ kubeconfig: cluster('hub').adminKubeconfig, namespace });
    let report: string | undefined;
    void stopped.crashed.then((r) => (report = r));
    await stopped.stop();
    await new Promise(setImmediate);
    expect(stopped.process.exitCode ?? stopped.process.signalCode).not.toBeNull();
    expect(report).toBeUndefined();
  });
});
