// Local control plane start-up with cached binaries: ControlPlane.start() until both
// kube-apiservers answer /readyz (etcd, certificates, two API servers). Every `make dev`,
// `make test` and bench run pays it. Baseline: spawning `node -e 0`, the floor of starting
// any process from Node on this machine.
import { ControlPlane } from '../../hack/controlplane/controlplane.ts';
import { timeSpawn, type Scenario } from '../harness.ts';
import { median, type Row } from '../table.ts';

const title = 'Control plane start-up';

export const controlPlaneStartup: Scenario = {
  id: 'controlplane',
  title,
  async run(ctx) {
    const { warmup, reps } = ctx.quick ? { warmup: 0, reps: 1 } : { warmup: 1, reps: 3 };
    const startOnce = async () => {
      const start = performance.now();
      const cp = await ControlPlane.start();
      const seconds = (performance.now() - start) / 1000;
      let stopped = false;
      ctx.defer(() => (stopped ? undefined : cp.stop()));
      await cp.stop();
      stopped = true;
      return seconds;
    };
    for (let i = 0; i < warmup; i++) ctx.log(`warm-up start: ${(await startOnce()).toFixed(1)} s`);
    const times: number[] = [];
    for (let i = 1; i <= reps; i++) {
      times.push(await startOnce());
      ctx.log(`start ${i}/${reps}: ${times.at(-1)!.toFixed(1)} s`);
    }

    await timeSpawn(process.execPath, ['-e', '0']);
    const spawns: number[] = [];
    for (let i = 0; i < 5; i++) spawns.push((await timeSpawn(process.execPath, ['-e', '0'])) / 1000);

    return [
      {
        scenario: title,
        metric: 'start → hub and spoke ready',
        unit: 's',
        ours: median(times),
        baseline: median(spawns),
        baselineLabel: 'spawn `node -e 0` and wait for it to exit (median of 5)',
        target: { on: 'ours', op: '<=', value: 15 },
        note: `median of ${reps} (${times.map((t) => t.toFixed(1)).join(', ')} s) after ${warmup} warm-up; a second control plane next to the bench's own, binaries cached`,
      },
    ] satisfies Row[];
  },
};
