// A fake server and terminal for in-process tests of the commands: every auth API call
// and management request is recorded and answered by a handler the test chooses.
import { join } from 'node:path';
import { loginProvidersPath, type AccessReviewStatus, type Kind } from '../api/auth/v1alpha1/types.ts';
import { testDirectory } from '../test/temporary.ts';
import type { ClientOptions, InfraClient } from './api.ts';
import { saveConfig, type ServerTrust } from './config.ts';
import type { Io } from './io.ts';
import { buildProgram } from './program.ts';

export const server = 'https://infra.example.com';
export const review: AccessReviewStatus = {
  user: { email: 'alice@example.com', groups: ['devs'] },
  destinations: [
    { name: 'development-aws-us', url: 'https://dev.example.com', caBundle: 'Q0E=', connected: true, clusterRoles: ['admin'], namespaces: [] },
    { name: 'production', url: 'https://prod.example.com', connected: true, clusterRoles: [], namespaces: [{ name: 'web', roles: ['edit', 'view'] }] },
    { name: 'staging', connected: false, clusterRoles: ['view'], namespaces: [] },
  ],
};

export interface Fake {
  io: Io;
  out: string[];
  err: string[];
  calls: { kind: Kind; spec: unknown; options: ClientOptions }[];
  /** Management API requests, in order: `GET /apis/infrahq.com/v1alpha1/grants`... */
  requests: { method: string; path: string; body: unknown; contentType: string | undefined }[];
  kubeconfig: string;
  home: string;
  /** URLs the command asked to open in a browser. */
  opened: string[];
  /** The prompts shown, in order, with a select's choices and where its cursor started. */
  asked: { message: string; choices?: { name: string; value: string }[]; initial?: string }[];
  run(...args: string[]): Promise<void>;
}

export type Handler = (kind: Kind, spec: unknown, options: ClientOptions) => unknown;
export type RequestHandler = (method: string, path: string, body: unknown) => unknown;

export const defaultHandler: Handler = (kind) => {
  if (kind === 'AccessReview') return review;
  if (kind === 'Login') return { sessionKey: 'iss_new.secret', expirationTimestamp: new Date(Date.now() + 3_600_000).toISOString(), user: review.user };
  if (kind === 'Logout') return { revoked: 1 };
  if (kind === 'AccessKey') return { accessKey: 'iak_x.y', expirationTimestamp: '2030-01-01T00:00:00Z', user: 'alice@example.com' };
  throw new Error(`unexpected ${kind}`);
};

export interface FakeOptions {
  loggedIn?: boolean;
  handler?: Handler;
  interactive?: boolean;
  stdin?: string;
  answers?: Record<string, string | boolean>;
  check?: (trust: ServerTrust) => void;
  request?: RequestHandler;
  /** The browser: called with each URL the command opens; false means there is none. */
  browser?: (url: string) => boolean;
}

/** `infra list` also shows the caller's pending access requests: none, unless a test answers. */
const accessRequestsPath = '/apis/infrahq.com/v1alpha1/accessrequests';

export function fake(options: FakeOptions = {}): Fake {
  const home = testDirectory('infra-cli-program-');
  const env = { INFRA_HOME: join(home, 'infra'), KUBECONFIG: join(home, 'kube', 'config') };
  if (options.loggedIn !== false) {
    saveConfig(
      {
        current: server,
        servers: { [server]: { trust: {}, session: { key: 'iss_old.secret', expiresAt: new Date(Date.now() + 3_600_000).toISOString(), user: review.user } } },
      },
      env,
    );
  }
  const out: string[] = [];
  const err: string[] = [];
  const calls: Fake['calls'] = [];
  const requests: Fake['requests'] = [];
  const opened: string[] = [];
  const asked: Fake['asked'] = [];
  const handler = options.handler ?? defaultHandler;
  const answer = async (message: string) => {
    asked.push({ message });
    const value = options.answers?.[message];
    if (value === undefined) throw new Error(`unexpected prompt ${message}`);
    return value;
  };
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    env,
    interactive: options.interactive ?? false,
    readStdin: async () => options.stdin ?? '',
    prompt: {
      input: async (m) => String(await answer(m)),
      password: async (m) => String(await answer(m)),
      secret: async (m) => String(await answer(m)),
      confirm: async (m) => Boolean(await answer(m)),
      select: async (m, choices, initial) => {
        const value = String(await answer(m));
        asked[asked.length - 1] = { message: m, choices, ...(initial === undefined ? {} : { initial }) };
        return value;
      },
    },
    client: (clientOptions): InfraClient => ({
      server: clientOptions.server,
      create: async (kind, spec) => {
        calls.push({ kind, spec, options: clientOptions });
        return handler(kind, spec, clientOptions) as never;
      },
      request: async (method, path, body, contentType) => {
        requests.push({ method, path, body, contentType });
        if (options.request) return options.request(method, path, body);
        if (method === 'GET' && path === loginProvidersPath) return { items: [] };
        if (method === 'GET' && path === accessRequestsPath) return { items: [] };
        throw new Error(`unexpected ${method} ${path}`);
      },
    }),
    checkServer: async (_server, trust) => options.check?.(trust),
    exec: { command: '/node', args: ['/cli/main.ts'] },
    openBrowser: async (url) => {
      opened.push(url);
      return options.browser?.(url) ?? false;
    },
  };
  return {
    io,
    out,
    err,
    calls,
    requests,
    kubeconfig: env.KUBECONFIG,
    home: env.INFRA_HOME,
    opened,
    asked,
    run: async (...args) => void (await buildProgram(io).parseAsync(args, { from: 'user' })),
  };
}
