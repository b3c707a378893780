// The commands through the real argument parser, with a fake server and terminal.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { accessKeyChoice, newServerChoice, passwordChoice } from './commands/login.ts';
import { loadConfig, saveConfig, type ServerTrust } from './config.ts';
import { ApiStatusError, describeError, PinMismatchError, UntrustedCertificateError } from './errors.ts';
import { buildProgram } from './program.ts';
import { defaultHandler, fake, review, server, type Fake } from './testing.ts';

const kubeconfigOf = (f: Fake) => parse(readFileSync(f.kubeconfig, 'utf8')) as { contexts: { name: string }[]; 'current-context'?: string };

describe('infra list', () => {
  it('prints destinations and namespaces with their roles, as a table', async () => {
    const f = fake();
    await f.run('list');
    expect(f.out.join('\n')).toBe(
      ['  NAME (3)            ACCESS', '  development-aws-us  admin', '  production.web      edit, view', '  staging             view  (not connected)'].join(
        '\n',
      ),
    );
    expect(f.calls.map((c) => [c.kind, c.options.bearer])).toEqual([['AccessReview', 'iss_old.secret']]);
    // ...and refreshes the kubeconfig on the way
    expect(kubeconfigOf(f).contexts.map((c) => c.name)).toEqual(['infra:development-aws-us', 'infra:production', 'infra:production.web']);
  });

  it('prints JSON or YAML with -o, without the CA bundles', async () => {
    const f = fake();
    await f.run('list', '-o', 'json');
    const json = JSON.parse(f.out[0]!) as { user: object; destinations: Record<string, unknown>[] };
    expect(json.user).toEqual(review.user);
    expect(json.destinations.map((d) => d['name'])).toEqual(['development-aws-us', 'production', 'staging']);
    expect(json.destinations[0]).not.toHaveProperty('caBundle');
    await f.run('ls', '--output=yaml');
    expect(parse(f.out[1]!)).toEqual(json);
  });

  it('rejects an unknown output format and unknown options through the parser', async () => {
    const f = fake();
    await expect(f.run('list', '-o', 'xml')).rejects.toThrow(CommanderError);
    expect(f.err.join('\n')).toMatch(/argument 'xml' is invalid. Allowed choices are table, json, yaml/);
    await expect(f.run('list', '--bogus')).rejects.toThrow(/unknown option '--bogus'/);
    expect(f.calls).toEqual([]);
  });

  it('says so when the user has access to nothing, and when not logged in', async () => {
    const f = fake({ handler: () => ({ user: review.user, destinations: [] }) });
    await f.run('list');
    expect(f.out).toEqual(['alice@example.com has no access to any destination yet: ask an Infra admin for a Grant.']);
    await expect(fake({ loggedIn: false }).run('list')).rejects.toThrow('not logged in: run `infra login SERVER` first');
  });

  it('turns a 401 into "your session has expired"', async () => {
    const f = fake({ handler: () => Promise.reject(new ApiStatusError(401, 'Unauthorized', 'authentication failed')) });
    const error = await f.run('list').catch((e: unknown) => e);
    expect(describeError(error)).toBe('your session has expired or was revoked: run `infra login`');
  });
});

describe('infra use', () => {
  it('switches the current context to a destination or a namespace', async () => {
    const f = fake();
    await f.run('use', 'production.web');
    expect(kubeconfigOf(f)['current-context']).toBe('infra:production.web');
    expect(f.out).toEqual(['Switched to context "infra:production.web".']);
    await f.run('use', 'development-aws-us');
    expect(kubeconfigOf(f)['current-context']).toBe('infra:development-aws-us');
  });

  it('names the valid destinations when given an unknown one', async () => {
    const f = fake();
    await expect(f.run('use', 'nope')).rejects.toThrow('unknown destination "nope": use one of development-aws-us, production, production.web');
  });
});

describe('infra login', () => {
  it('logs in with --user and --password-stdin, keeps the session (0600), writes the contexts', async () => {
    const f = fake({ loggedIn: false, stdin: 'hunter2 hunter2\n' });
    await f.run('login', 'infra.example.com', '--user', 'alice@example.com', '--password-stdin');
    expect(f.calls.map((c) => [c.kind, c.spec, c.options.bearer])).toEqual([
      ['Login', { email: 'alice@example.com', password: 'hunter2 hunter2' }, undefined],
      ['AccessReview', {}, 'iss_new.secret'],
    ]);
    expect(loadConfig(f.io.env)).toMatchObject({ current: server, servers: { [server]: { session: { key: 'iss_new.secret' } } } });
    expect(statSync(join(f.home, 'config.json')).mode & 0o777).toBe(0o600);
    expect(statSync(f.home).mode & 0o777).toBe(0o700);
    expect(kubeconfigOf(f).contexts).toHaveLength(3);
    expect(f.out[0]).toBe(`Logged in to ${server} as alice@example.com`);
  });

  it('logs in with an access key from INFRA_ACCESS_KEY', async () => {
    const f = fake({ loggedIn: false });
    f.io.env['INFRA_ACCESS_KEY'] = 'iak_k.s';
    await f.run('login', server);
    expect(f.calls[0]).toMatchObject({ kind: 'Login', spec: { accessKey: 'iak_k.s' } });
  });

  it('logs in with an access key from standard input, keeping it out of the process list', async () => {
    const f = fake({ loggedIn: false, stdin: 'iak_k.s\n' });
    await f.run('login', server, '--key-stdin');
    expect(f.calls[0]).toMatchObject({ kind: 'Login', spec: { accessKey: 'iak_k.s' } });
    expect(f.err.join('\n')).not.toContain('warning');
    await expect(fake({ loggedIn: false, stdin: '\n' }).run('login', server, '--key-stdin')).rejects.toThrow(
      'the access key read from standard input is empty',
    );
    await expect(fake({ loggedIn: false, stdin: 'k' }).run('login', server, '--key-stdin', '--key', 'k')).rejects.toThrow('--key-stdin or --key, not both');
  });

  it('warns that --key shows the access key to other users of the machine', async () => {
    const f = fake({ loggedIn: false });
    await f.run('login', server, '--key', 'iak_k.s');
    expect(f.calls[0]).toMatchObject({ kind: 'Login', spec: { accessKey: 'iak_k.s' } });
    expect(f.err.join('\n')).toContain('warning: --key shows the access key to every user of this machine (ps); use --key-stdin or INFRA_ACCESS_KEY');
  });

  it('says the password was wrong', async () => {
    const f = fake({ loggedIn: false, stdin: 'nope\n', handler: () => Promise.reject(new ApiStatusError(401, 'Unauthorized', 'authentication failed')) });
    await expect(f.run('login', server, '--user', 'alice@example.com', '--password-stdin')).rejects.toThrow(
      `login failed: wrong email or password for ${server}`,
    );
    expect(loadConfig(f.io.env).current).toBeUndefined();
  });

  it('without a terminal, refuses an untrusted certificate and names the flags', async () => {
    const check = (trust: ServerTrust) => {
      if (!trust.fingerprint) throw new UntrustedCertificateError(server, 'AA:BB', 'self-signed certificate');
    };
    const f = fake({ loggedIn: false, stdin: 'pw\n', check });
    await expect(f.run('login', server, '--user', 'a@example.com', '--password-stdin')).rejects.toThrow(/--trust-fingerprint AA:BB.*--ca-file/);
    expect(f.calls).toEqual([]); // nothing sent

    const fp = 'ab'.repeat(32);
    await f.run('login', server, '--user', 'a@example.com', '--password-stdin', '--trust-fingerprint', fp);
    expect(loadConfig(f.io.env).servers[server]?.trust).toEqual({ fingerprint: 'AB:'.repeat(31) + 'AB' });
  });

  it('on a terminal, shows the fingerprint, asks, and prompts for email and password', async () => {
    const check = (trust: ServerTrust) => {
      if (!trust.fingerprint) throw new UntrustedCertificateError(server, 'AA:BB', 'self-signed certificate');
    };
    const f = fake({
      loggedIn: false,
      interactive: true,
      check,
      answers: { 'Trust this certificate?': true, 'Log in with:': passwordChoice, 'Email:': 'alice@example.com', 'Password:': 'pw' },
    });
    await f.run('login', server);
    expect(f.err.join('\n')).toContain("The SHA-256 fingerprint of its CA's public key is AA:BB");
    expect(f.calls[0]).toMatchObject({ kind: 'Login', spec: { email: 'alice@example.com', password: 'pw' }, options: { trust: { fingerprint: 'AA:BB' } } });

    const no = fake({ loggedIn: false, interactive: true, check, answers: { 'Trust this certificate?': false } });
    await expect(no.run('login', server)).rejects.toThrow(/login cancelled/);
  });

  it('on a terminal, fails without asking when the server no longer matches the pinned CA key', async () => {
    const pinned = 'AB:'.repeat(31) + 'AB';
    let mismatch = false;
    const check = (trust: ServerTrust) => {
      if (trust.fingerprint !== pinned) throw new UntrustedCertificateError(server, 'CD:CD', 'self-signed certificate');
      if (mismatch) throw new PinMismatchError(server, pinned, 'no certificate it presented has the pinned CA key');
    };
    const f = fake({
      loggedIn: false,
      interactive: true,
      check,
      answers: { 'Trust this certificate?': true, 'Log in with:': passwordChoice, 'Email:': 'alice@example.com', 'Password:': 'pw' },
    });
    await f.run('login', server, '--trust-fingerprint', pinned);
    const sent = f.calls.length;
    mismatch = true;
    await expect(f.run('login', server)).rejects.toThrow(
      `the certificate of ${server} does not match the CA key pinned for it, ${pinned}: no certificate it presented has the pinned CA key. Nothing was sent.`,
    );
    expect(f.err.join('\n')).not.toContain('Trust this certificate?');
    expect(f.err.join('\n')).not.toContain('is not trusted');
    expect(f.calls.length).toBe(sent);
    expect(loadConfig(f.io.env).servers[server]?.trust).toEqual({ fingerprint: pinned });
  });

  it('reads the CA from --ca-file and refuses a file without a certificate', async () => {
    const f = fake({ loggedIn: false, stdin: 'pw' });
    const pem = join(f.home, '..', 'ca.pem');
    writeFileSync(pem, 'not a certificate');
    await expect(f.run('login', server, '--user', 'a@example.com', '--password-stdin', '--ca-file', pem)).rejects.toThrow(/holds no PEM certificate/);
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    await f.run('login', server, '--user', 'a@example.com', '--password-stdin', '--ca-file', pem);
    expect(f.calls[0]?.options.trust.ca).toContain('BEGIN CERTIFICATE');
  });

  const knownServers = (f: Fake, ...servers: string[]) => {
    const config = loadConfig(f.io.env);
    for (const other of servers) config.servers[other] = { trust: {} };
    saveConfig(config, f.io.env);
  };

  it('without SERVER, on a terminal, offers the known servers with the last one under the cursor, and another', async () => {
    const other = 'https://testing.example.com';
    const f = fake({
      interactive: true,
      answers: { 'Select a server:': other, 'Log in with:': passwordChoice, 'Email:': 'alice@example.com', 'Password:': 'pw' },
    });
    knownServers(f, other);
    await f.run('login');
    expect(f.asked[0]).toEqual({
      message: 'Select a server:',
      choices: [
        { name: `${server} (alice@example.com)`, value: server },
        { name: other, value: other },
        { name: 'another server…', value: newServerChoice },
      ],
      initial: server,
    });
    expect(f.calls[0]?.options.server).toBe(other);
    expect(loadConfig(f.io.env).current).toBe(other);

    const typed = fake({
      interactive: true,
      answers: {
        'Select a server:': newServerChoice,
        'Server (e.g. https://infra.example.com):': 'new.example.com',
        'Log in with:': accessKeyChoice,
        'Access key:': 'iak_k.s',
      },
    });
    knownServers(typed, other);
    await typed.run('login');
    expect(typed.calls[0]).toMatchObject({ kind: 'Login', options: { server: 'https://new.example.com' } });
  });

  it('without SERVER and without a terminal, takes the only known server, and otherwise names `infra login SERVER`', async () => {
    const only = fake({ stdin: 'iak_k.s' });
    await only.run('login', '--key-stdin');
    expect(only.calls[0]).toMatchObject({ kind: 'Login', options: { server } });

    const several = fake({ stdin: 'iak_k.s' });
    knownServers(several, 'https://testing.example.com');
    await expect(several.run('login', '--key-stdin')).rejects.toThrow(
      `name the server to log in to, one of ${server}, https://testing.example.com: infra login SERVER (on a terminal, infra login offers them)`,
    );
    await expect(fake({ loggedIn: false }).run('login')).rejects.toThrow(
      'name the server to log in to: infra login SERVER, e.g. infra login https://infra.example.com',
    );
    expect(several.calls).toEqual([]);
  });

  it('on a terminal, offers an access key beside providers and password, read as a secret', async () => {
    const f = fake({ loggedIn: false, interactive: true, answers: { 'Log in with:': accessKeyChoice, 'Access key:': ' iak_k.s\n' } });
    await f.run('login', server);
    expect(f.asked.map((a) => a.message)).toEqual(['Log in with:', 'Access key:']);
    expect(f.asked[0]?.choices).toEqual([
      { name: 'email and password', value: passwordChoice },
      { name: 'an access key', value: accessKeyChoice },
    ]);
    expect(f.calls[0]).toMatchObject({ kind: 'Login', spec: { accessKey: 'iak_k.s' } });
    expect(f.out[0]).toBe(`Logged in to ${server} as alice@example.com`);

    const empty = fake({ loggedIn: false, interactive: true, answers: { 'Log in with:': accessKeyChoice, 'Access key:': ' ' } });
    await expect(empty.run('login', server)).rejects.toThrow('the access key is empty: paste the key `infra keys add` printed, or pipe it in with --key-stdin');
    expect(empty.calls).toEqual([]);
  });

  it('without a terminal or flags, says how to pass credentials', async () => {
    await expect(fake({ loggedIn: false }).run('login', server)).rejects.toThrow(/--user EMAIL with --password-stdin, or --key/);
    await expect(fake({ loggedIn: false }).run('login')).rejects.toThrow(/name the server/);
  });
});

describe('infra logout', () => {
  it('ends the session on the server, removes infra:* contexts, tokens and the session', async () => {
    const f = fake();
    await f.run('list');
    writeFileSync(join(f.home, 'tokens-marker'), '');
    await f.run('logout');
    expect(f.calls.at(-1)).toMatchObject({ kind: 'Logout', spec: {}, options: { bearer: 'iss_old.secret' } });
    expect(kubeconfigOf(f).contexts).toEqual([]);
    expect(existsSync(join(f.home, 'tokens'))).toBe(false);
    expect(loadConfig(f.io.env).servers[server]).toEqual({ trust: {} });
    await expect(f.run('list')).rejects.toThrow(/not logged in/);
  });

  it('asks for all sessions with --all, and still cleans up when the session is already gone', async () => {
    const f = fake({
      handler: (kind, spec) => (kind === 'Logout' ? { revoked: (spec as { all?: boolean }).all ? 3 : 1 } : defaultHandler(kind, spec, {} as never)),
    });
    await f.run('logout', '--all');
    expect(f.out[0]).toBe('Ended 3 session(s).');
    const gone = fake({ handler: () => Promise.reject(new ApiStatusError(401, 'Unauthorized', 'x')) });
    await gone.run('logout');
    expect(gone.err).toEqual([]);
    expect(loadConfig(gone.io.env).servers[server]?.session).toBeUndefined();
  });
});

describe('infra keys add, info, version, completion', () => {
  it('creates an access key and prints it alone on stdout', async () => {
    const f = fake();
    await f.run('keys', 'add', 'ci-deploy', '--ttl', '90d');
    expect(f.calls[0]).toMatchObject({ kind: 'AccessKey', spec: { name: 'ci-deploy', ttl: '90d' } });
    expect(f.out).toEqual(['iak_x.y']);
    expect(f.err[0]).toMatch(/shown only this once/);
  });

  it('checks the key name and ttl before asking the server', async () => {
    const f = fake();
    await expect(f.run('keys', 'add', 'CI Deploy', '--ttl', 'forever')).rejects.toThrow(/NAME must be a short lowercase name.*--ttl must be a duration/);
    expect(f.calls).toEqual([]);
  });

  it('shows who you are', async () => {
    const f = fake();
    await f.run('whoami');
    expect(f.out[0]).toMatch(new RegExp(`^Server: +${server}\nUser: +alice@example.com\nGroups: +devs\nSession: +expires `));
  });

  it('prints a version and a bash completion that knows the commands', async () => {
    const f = fake();
    await f.run('version');
    expect(f.out[0]).toMatch(/^infra \d+\.\d+\.\d+/);
    await f.run('completion', 'bash');
    expect(f.out[1]).toContain(
      'login) words="--user --password-stdin --key-stdin --key --provider --no-browser --device --ca-file --trust-fingerprint --help"',
    );
    await expect(f.run('completion', 'tcsh')).rejects.toThrow('no completion for "tcsh": use bash, zsh or fish');
  });

  it('has examples in the help of every command', () => {
    const program = buildProgram(fake().io);
    const commands = [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)];
    for (const command of commands) {
      let help = '';
      command.configureOutput({ writeOut: (s) => (help += s) });
      command.outputHelp();
      expect(help, command.name()).toContain('Examples:');
    }
  });
});
