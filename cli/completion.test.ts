// Shell completion as a shell runs it: the real bash sources `infra completion bash` and
// completes `infra use <TAB>` from the names the CLI cached at login, with the session's
// server listening on loopback to catch any request completion might send.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { extractedShell, type ExtractedShell } from '../test/shells.ts';
import { loadConfig, saveConfig } from './config.ts';
import { destinationCachePath } from './paths.ts';
import { fake, server, type Fake } from './testing.ts';

const run = promisify(execFile);

/** What the shell's completion offers for the words typed so far (the last one being completed). */
async function bashCompletes(f: Fake, script: string, ...typed: string[]): Promise<string[]> {
  const words = typed.map((w) => `'${w}'`).join(' ');
  const program = `source "$1"; COMP_WORDS=(infra ${words}); COMP_CWORD=${typed.length}; _infra; printf '%s\\n' "\${COMPREPLY[@]}"`;
  // PATH without `infra` or `node`: completion must not need either.
  const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', program, 'bash', script], {
    env: { PATH: '/usr/bin:/bin', HOME: join(f.home, '..'), INFRA_HOME: f.home },
  });
  return stdout.split('\n').filter(Boolean);
}

async function completionScript(f: Fake, shell: string): Promise<string> {
  await f.run('completion', shell);
  const script = join(f.home, '..', `infra.${shell}`);
  writeFileSync(script, f.out.at(-1)!);
  return script;
}

/** A TCP listener on loopback that counts the connections made to it. */
async function countingServer(): Promise<{ listener: Server; url: string; connections: () => number }> {
  let connections = 0;
  const listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as { port: number };
  return { listener, url: `https://127.0.0.1:${port}`, connections: () => connections };
}

let listener: Server | undefined;
afterEach(() => void listener?.close());

/** Logged in (which caches the names), then the session moved to a server that counts every connection. */
async function loggedInBehindCountingServer(): Promise<{ f: Fake; connections: () => number }> {
  const f = fake({ loggedIn: false, stdin: 'iak_k.s' });
  await f.run('login', server, '--key-stdin');
  expect(readFileSync(destinationCachePath(f.io.env), 'utf8')).toBe('development-aws-us\nproduction\nproduction.web\n');
  const counting = await countingServer();
  listener = counting.listener;
  const config = loadConfig(f.io.env);
  config.servers[counting.url] = config.servers[server]!;
  config.current = counting.url;
  saveConfig(config, f.io.env);
  return { f, connections: counting.connections };
}

/** A shell program's output lines, run with the user's environment but this home. */
async function shellLines(f: Fake, shell: ExtractedShell, args: string[]): Promise<string[]> {
  const env = { ...process.env, ...shell.env, HOME: join(f.home, '..'), INFRA_HOME: f.home };
  const { stdout } = await run(shell.command, args, { env });
  return stdout.split('\n').filter(Boolean);
}

/** The first run downloads Debian's zsh and fish packages (about 8 MB). */
const downloadTimeout = 120_000;

describe('infra use <TAB>', () => {
  it('offers in bash the destinations cached at login, with no network request, and nothing after logout', async () => {
    const { f, connections } = await loggedInBehindCountingServer();
    const script = await completionScript(f, 'bash');
    expect(await bashCompletes(f, script, 'use', '')).toEqual(['development-aws-us', 'production', 'production.web']);
    expect(await bashCompletes(f, script, 'use', 'prod')).toEqual(['production', 'production.web']);
    expect(await bashCompletes(f, script, 'use', '--')).toEqual(['--help']);
    expect(await bashCompletes(f, script, 'us')).toEqual(['use', 'users']);
    expect(connections()).toBe(0);

    await f.run('logout');
    expect(existsSync(destinationCachePath(f.io.env))).toBe(false);
    expect(await bashCompletes(f, script, 'use', '')).toEqual([]);
  });

  it('offers in fish the cached destinations, subcommands and options, with no network request', { timeout: downloadTimeout }, async () => {
    const fish = await extractedShell('fish');
    const { f, connections } = await loggedInBehindCountingServer();
    const script = await completionScript(f, 'fish');
    const complete = (line: string) => shellLines(f, fish, ['--no-config', '-c', `source $argv[1]; complete -C '${line}'`, script]);
    expect(await complete('infra use ')).toEqual(['development-aws-us', 'production', 'production.web']);
    expect(await complete('infra use prod')).toEqual(['production', 'production.web']);
    expect(await complete('infra use production ')).toEqual([]);
    expect((await complete('infra grants ')).map((l) => l.split('\t')[0])).toEqual(['add', 'list', 'ls', 'remove', 'rm']);
    expect(await complete('infra login --ca')).toEqual(["--ca-file\ttrust the server's certificate through this CA certificate (PEM)"]);
    expect(connections()).toBe(0);
  });

  it('registers in zsh through bashcompinit, and its function offers the cached destinations', { timeout: downloadTimeout }, async () => {
    const zsh = await extractedShell('zsh');
    const { f, connections } = await loggedInBehindCountingServer();
    const script = await completionScript(f, 'zsh');
    // As zsh's _bash_complete calls it: sh emulation, COMP_WORDS and COMP_CWORD set.
    const program = `${zsh.prelude}autoload -U +X compinit && compinit -u; source $1; print -r -- "$_comps[infra]"; emulate sh -c 'COMP_WORDS=(infra use prod); COMP_CWORD=2; _infra; printf "%s\n" "\${COMPREPLY[@]}"'`;
    expect(await shellLines(f, zsh, ['-f', '-c', program, 'zsh', script])).toEqual(['_bash_complete -o default -F _infra', 'production', 'production.web']);
    expect(connections()).toBe(0);
  });

  it('never expands what the cache file holds', async () => {
    const f = fake();
    await f.run('list');
    const marker = join(f.home, 'expanded');
    writeFileSync(destinationCachePath(f.io.env), `production\n$(touch ${marker})\n\`touch ${marker}\`\n`);
    const script = await completionScript(f, 'bash');
    expect(await bashCompletes(f, script, 'use', '')).toEqual(['production', `$(touch ${marker})`, `\`touch ${marker}\``]);
    expect(existsSync(marker)).toBe(false);
  });

  it('caches only plain DEST and DEST.NAMESPACE names', async () => {
    const f = fake({
      handler: () => ({
        user: { email: 'alice@example.com', groups: [] },
        destinations: [
          { name: 'ok', url: 'https://ok.example.com', connected: true, clusterRoles: ['view'], namespaces: [{ name: '$(id)', roles: ['view'] }] },
          { name: '`id`', url: 'https://x.example.com', connected: true, clusterRoles: ['view'], namespaces: [] },
        ],
      }),
    });
    await f.run('list');
    expect(readFileSync(destinationCachePath(f.io.env), 'utf8')).toBe('ok\n');
  });

  it('gives zsh the same function through bashcompinit, and fish the same cache file', async () => {
    const f = fake();
    await f.run('completion', 'zsh');
    const zsh = f.out.at(-1)!;
    expect(zsh.split('\n').slice(0, 2)).toEqual(['#compdef infra', 'autoload -U +X bashcompinit && bashcompinit']);
    expect(zsh).toContain('use) COMPREPLY=(); _infra_destinations; return ;;');
    expect(zsh).toContain('local file="${INFRA_HOME:-$HOME/.infra}/destinations" name');

    await f.run('completion', 'fish');
    const fish = f.out.at(-1)!;
    expect(fish).toContain(`complete -c infra -n '__infra_path_is use' -a '(__infra_destinations)'`);
    expect(fish).toContain(`test -r "$home/destinations"; and string match -r -- '^[a-z0-9][-a-z0-9.]*$' <"$home/destinations"`);
    expect(fish).toContain(`complete -c infra -n '__infra_path_is' -a use -d 'switch kubectl\\'s current context to a destination or one of its namespaces'`);
    expect(fish).toContain(`complete -c infra -n '__infra_path_is grants' -a add -d`);
    expect(fish).toContain(`complete -c infra -n '__infra_path_starts login' -l ca-file -r -F -d`);
    expect(fish).not.toMatch(/\b(infra|node) (tokens|list)\b/); // completion runs no command
  });
});
