import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDirectory } from '../test/temporary.ts';
import { execPluginFor, findOnPath } from './self.ts';

/** An executable file at path (its directories made). */
function executableFile(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n', { mode: 0o755 });
  return path;
}

describe('the exec entry for this program', () => {
  it('is `infra` when the infra on PATH is this single executable, itself or through a link', () => {
    const dir = testDirectory('infra-self-');
    const executable = executableFile(join(dir, 'bin', 'infra'));
    expect(execPluginFor({ executable }, { PATH: `/nowhere:${join(dir, 'bin')}` })).toEqual({ command: 'infra', args: [] });
    symlinkSync(executable, join(dir, 'link'));
    mkdirSync(join(dir, 'linked'));
    symlinkSync(executable, join(dir, 'linked', 'infra'));
    expect(execPluginFor({ executable: join(dir, 'link') }, { PATH: join(dir, 'linked') })).toEqual({ command: 'infra', args: [] });
  });

  it('is the absolute path of the executable when infra is not on PATH, or another program is', () => {
    const dir = testDirectory('infra-self-');
    const executable = executableFile(join(dir, 'downloads', 'infra-linux-amd64'));
    expect(execPluginFor({ executable }, { PATH: '/usr/bin' })).toEqual({ command: executable, args: [] });
    executableFile(join(dir, 'old', 'infra'));
    expect(execPluginFor({ executable }, { PATH: join(dir, 'old'), INFRA_HOME: '/h' })).toEqual({
      command: executable,
      args: [],
      env: [{ name: 'INFRA_HOME', value: '/h' }],
    });
  });

  it('for a script: `infra` when npm linked it onto PATH, else the node binary and the absolute script', () => {
    const dir = testDirectory('infra-self-');
    const script = executableFile(join(dir, 'lib', 'node_modules', 'infra', 'main.js'));
    const program = { node: '/opt/node/bin/node', script };
    expect(execPluginFor(program, { PATH: '' })).toEqual({ command: '/opt/node/bin/node', args: [script] });
    mkdirSync(join(dir, 'bin'));
    symlinkSync(script, join(dir, 'bin', 'infra'));
    expect(execPluginFor(program, { PATH: join(dir, 'bin') })).toEqual({ command: 'infra', args: [] });
  });
});

describe('findOnPath', () => {
  it('finds the first executable of that name, as a shell does, and skips relative entries and files that are not executable', () => {
    const dir = testDirectory('infra-path-');
    writeFileSync(join(dir, 'infra'), 'not executable', { mode: 0o644 });
    const second = executableFile(join(dir, 'second', 'infra'));
    executableFile(join(dir, 'third', 'infra'));
    expect(findOnPath('infra', ['relative/bin', dir, join(dir, 'second'), join(dir, 'third')].join(':'))).toBe(second);
    expect(findOnPath('infra', undefined)).toBeUndefined();
  });
});
