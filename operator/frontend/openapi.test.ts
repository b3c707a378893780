import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authOpenAPI } from '../../api/auth/v1alpha1/openapi.ts';
import { aggregatedKinds } from '../authapi/creates.ts';
import { authOpenAPIRoutes } from './openapi.ts';

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(authOpenAPIRoutes(aggregatedKinds));
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, redirect: 'manual' });

async function groupVersionURL(): Promise<string> {
  const discovery = (await (await get('/openapi/v3')).json()) as { paths: Record<string, { serverRelativeURL: string }> };
  expect(Object.keys(discovery.paths)).toEqual(['apis/auth.infrahq.com/v1alpha1']);
  return discovery.paths['apis/auth.infrahq.com/v1alpha1']!.serverRelativeURL;
}

describe('the OpenAPI routes', () => {
  it('serve the v2 document of the kinds the door serves', async () => {
    const res = await get('/openapi/v2', { accept: 'application/json' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(authOpenAPI(aggregatedKinds).v2);
  });

  it('list the group-version in v3 discovery at a URL with its hash, served as immutable', async () => {
    const url = await groupVersionURL();
    expect(url).toMatch(/^\/openapi\/v3\/apis\/auth\.infrahq\.com\/v1alpha1\?hash=[0-9A-F]{128}$/);
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, immutable');
    expect(res.headers.get('etag')).toBe(`"${url.split('hash=')[1]}"`);
    expect(await res.json()).toEqual(authOpenAPI(aggregatedKinds).v3);
  });

  it('send an old hash on to the current document', async () => {
    const res = await get('/openapi/v3/apis/auth.infrahq.com/v1alpha1?hash=0123');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe(await groupVersionURL());
  });

  it("answer 304 to a client that holds the document's ETag", async () => {
    const etag = (await get('/openapi/v2')).headers.get('etag')!;
    const res = await get('/openapi/v2', { 'if-none-match': etag });
    expect(res.status).toBe(304);
  });
});
