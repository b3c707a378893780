// The auth API's OpenAPI documents as a Kubernetes API server serves them, so the hub's
// aggregator merges them into its own (kubectl explain, kubectl's field validation,
// client generators): /openapi/v2, /openapi/v3 (the list of group-versions, each with the
// hash of its document) and /openapi/v3/apis/auth.infrahq.com/v1alpha1. Built once, when
// the door is made: they change only with the program.
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import express from 'express';
import { authOpenAPI, openAPIV3GroupVersionPath } from '../../api/auth/v1alpha1/openapi.ts';
import type { Kind } from '../../api/auth/v1alpha1/types.ts';

interface Served {
  body: Buffer;
  etag: string;
}

function served(document: object): Served & { hash: string } {
  const body = Buffer.from(JSON.stringify(document));
  // Kubernetes' form (kube-openapi handler3): the upper-case hex SHA-512 of the document.
  const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
  return { body, hash, etag: `"${hash}"` };
}

/** Answers 304 to a client that holds this version (the aggregator sends If-None-Match). */
function send(req: Request, res: Response, { body, etag }: Served): void {
  res.set('ETag', etag);
  if (req.headers['if-none-match'] === etag) return void res.status(304).end();
  res.type('application/json').send(body);
}

/** The OpenAPI routes for the kinds a door serves (all when not said). */
export function authOpenAPIRoutes(servedKinds?: ReadonlySet<Kind>): express.Router {
  const { v2, v3 } = authOpenAPI(servedKinds);
  const v2Served = served(v2);
  const groupVersion = served(v3);
  const groupVersionURL = `/openapi/v3/${openAPIV3GroupVersionPath}`;
  const discovery = served({ paths: { [openAPIV3GroupVersionPath]: { serverRelativeURL: `${groupVersionURL}?hash=${groupVersion.hash}` } } });

  const router = express.Router();
  router.get('/openapi/v2', (req, res) => send(req, res, v2Served));
  router.get('/openapi/v3', (req, res) => send(req, res, discovery));
  router.get(groupVersionURL, (req, res) => {
    const hash = req.query.hash;
    if (typeof hash === 'string') {
      // A URL with a hash names one version of the document for good, and clients cache it
      // as such: an old hash is sent on to the current one, as Kubernetes does.
      if (hash !== groupVersion.hash) return void res.redirect(301, `${groupVersionURL}?hash=${groupVersion.hash}`);
      res.set('Cache-Control', 'public, immutable');
    }
    send(req, res, groupVersion);
  });
  return router;
}
