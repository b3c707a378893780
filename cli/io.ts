// Everything a command touches outside itself, in one object: the unit tests pass fakes.
import type { ClientOptions, InfraClient } from './api.ts';
import type { ServerTrust } from './config.ts';
import type { ExecPlugin } from './kubeconfig.ts';
import { execPluginFor, type RunningProgram } from './self.ts';

export interface Prompter {
  /** The signal cancels the prompt (it then rejects). */
  input(message: string, signal?: AbortSignal): Promise<string>;
  password(message: string): Promise<string>;
  /** A secret that is never shown, not even as a mask: an access key. */
  secret(message: string): Promise<string>;
  confirm(message: string): Promise<boolean>;
  /** One of the choices' values; the cursor starts on `initial` when it is one. */
  select(message: string, choices: { name: string; value: string }[], initial?: string): Promise<string>;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** A person at a terminal can answer prompts. */
  interactive: boolean;
  readStdin(): Promise<string>;
  prompt: Prompter;
  client: (options: ClientOptions) => InfraClient;
  /** Connects and checks the server's certificate against the trust; throws UntrustedCertificateError or UnreachableError. */
  checkServer(server: string, trust: ServerTrust): Promise<void>;
  /** How kubeconfig users run `infra tokens`: `infra` on PATH, or this program's absolute path. */
  exec: ExecPlugin;
  /** Opens the URL in the person's browser; false when there is no browser to open. */
  openBrowser(url: string): Promise<boolean>;
}

/** The real terminal, network and prompts; heavy modules load on first use. */
export function processIo(program: RunningProgram): Io {
  return {
    out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    env: process.env,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    async readStdin() {
      let text = '';
      for await (const chunk of process.stdin) text += String(chunk);
      return text;
    },
    prompt: {
      input: async (message, signal) => (await import('@inquirer/prompts')).input({ message, required: true }, signal ? { signal } : {}),
      password: async (message) => (await import('@inquirer/prompts')).password({ message, mask: true }),
      secret: async (message) => (await import('@inquirer/prompts')).password({ message, toggleMask: false }),
      confirm: async (message) => (await import('@inquirer/prompts')).confirm({ message, default: false }),
      select: async (message, choices, initial) =>
        (await import('@inquirer/prompts')).select({ message, choices, ...(initial === undefined ? {} : { default: initial }) }),
    },
    client: (options: ClientOptions): InfraClient => ({
      server: options.server,
      create: async (kind, spec) => (await import('./api.ts')).authClient(options).create(kind, spec),
      request: async (method, path, body, contentType) => (await import('./api.ts')).authClient(options).request(method, path, body, contentType),
    }),
    checkServer: async (server, trust) => (await import('./api.ts')).checkServer(server, trust),
    openBrowser: async (url) => (await import('./browser.ts')).openBrowser(url, process.env),
    exec: execPluginFor(program, process.env),
  };
}
