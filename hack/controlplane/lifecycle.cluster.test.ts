import { access } from 'node:fs/promises';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ControlPlane, clusterNames, findRunning } from './controlplane.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('control plane lifecycle', () => {
  it('starts, is found by a second process, and stops without leaving processes, ports or files', async () => {
    const controlPlane = await ControlPlane.start();
    const { state } = controlPlane;
    const pids = state.processes.map((p) => p.pid);
    expect(state.processes.map((p) => p.name).sort()).toEqual([
      'etcd',
      'kube-apiserver (hub)',
      'kube-apiserver (spoke)',
      'kube-controller-manager (hub)',
      'kube-controller-manager (spoke)',
    ]);
    const urls = [state.etcd.url, ...clusterNames.map((n) => state.clusters[n].server)];
    try {
      expect(pids.every(isAlive)).toBe(true);
      expect(await Promise.all(urls.map(portOpen))).toEqual(urls.map(() => true));
      expect((await findRunning(state.dir))?.clusters.hub.server).toBe(state.clusters.hub.server);
    } finally {
      await controlPlane.stop();
    }
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await Promise.all(urls.map(portOpen))).toEqual(urls.map(() => false));
    await expect(access(state.dir)).rejects.toThrow(/ENOENT/);
    expect(await findRunning(state.dir)).toBeUndefined();
  });
});
