// The proxy reads a request's verb and object as the kube-apiserver does: the cases of
// k8s.io/apiserver's requestinfo_test.go that a proxied request can take.
import { describe, expect, it } from 'vitest';
import { requestInfo } from './request-info.ts';

describe('requestInfo', () => {
  it.each([
    // core group, namespaced
    ['GET', '/api/v1/namespaces/web/pods/nginx', 'get', { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' }],
    ['GET', '/api/v1/namespaces/web/pods', 'list', { resource: 'pods', namespace: 'web', apiVersion: 'v1' }],
    ['GET', '/api/v1/namespaces/web/pods?watch=true&resourceVersion=5', 'watch', { resource: 'pods', namespace: 'web', apiVersion: 'v1' }],
    ['GET', '/api/v1/namespaces/web/pods?watch=false', 'list', { resource: 'pods', namespace: 'web', apiVersion: 'v1' }],
    ['GET', '/api/v1/namespaces/web/pods?watch=1', 'watch', { resource: 'pods', namespace: 'web', apiVersion: 'v1' }],
    ['POST', '/api/v1/namespaces/web/pods', 'create', { resource: 'pods', namespace: 'web', apiVersion: 'v1' }],
    ['PUT', '/api/v1/namespaces/web/pods/nginx', 'update', { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' }],
    ['PATCH', '/api/v1/namespaces/web/pods/nginx', 'patch', { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' }],
    ['DELETE', '/api/v1/namespaces/web/pods/nginx', 'delete', { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' }],
    ['DELETE', '/api/v1/namespaces/web/pods', 'deletecollection', { resource: 'pods', namespace: 'web', apiVersion: 'v1' }],
    ['HEAD', '/api/v1/namespaces/web/pods/nginx', 'get', { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' }],
    // subresources
    [
      'GET',
      '/api/v1/namespaces/web/pods/nginx/log?follow=true',
      'get',
      { resource: 'pods', namespace: 'web', name: 'nginx', subresource: 'log', apiVersion: 'v1' },
    ],
    [
      'POST',
      '/api/v1/namespaces/web/pods/nginx/exec?command=sh',
      'create',
      { resource: 'pods', namespace: 'web', name: 'nginx', subresource: 'exec', apiVersion: 'v1' },
    ],
    [
      'PUT',
      '/apis/apps/v1/namespaces/web/deployments/api/scale',
      'update',
      { resource: 'deployments', namespace: 'web', name: 'api', subresource: 'scale', apiGroup: 'apps', apiVersion: 'v1' },
    ],
    // a group, namespaced and cluster-scoped
    ['GET', '/apis/apps/v1/namespaces/web/deployments', 'list', { resource: 'deployments', namespace: 'web', apiGroup: 'apps', apiVersion: 'v1' }],
    ['GET', '/apis/apps/v1/deployments', 'list', { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1' }],
    [
      'GET',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/view',
      'get',
      { resource: 'clusterroles', name: 'view', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' },
    ],
    ['GET', '/api/v1/nodes', 'list', { resource: 'nodes', apiVersion: 'v1' }],
    // namespaces themselves: the namespace is its own name
    ['GET', '/api/v1/namespaces', 'list', { resource: 'namespaces', apiVersion: 'v1' }],
    ['GET', '/api/v1/namespaces/web', 'get', { resource: 'namespaces', namespace: 'web', name: 'web', apiVersion: 'v1' }],
    ['PUT', '/api/v1/namespaces/web/finalize', 'update', { resource: 'namespaces', namespace: 'web', name: 'web', subresource: 'finalize', apiVersion: 'v1' }],
    ['PATCH', '/api/v1/namespaces/web/status', 'patch', { resource: 'namespaces', namespace: 'web', name: 'web', subresource: 'status', apiVersion: 'v1' }],
    // a list for one name, as kubectl get -w NAME sends it
    [
      'GET',
      '/api/v1/namespaces/web/pods?fieldSelector=metadata.name%3Dnginx&watch=true',
      'watch',
      { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' },
    ],
    [
      'GET',
      '/api/v1/namespaces/web/pods?fieldSelector=metadata.name%3D%3Dnginx',
      'list',
      { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' },
    ],
    ['GET', '/api/v1/namespaces/web/pods?fieldSelector=status.phase%3DRunning', 'list', { resource: 'pods', namespace: 'web', apiVersion: 'v1' }],
    // the old verb-in-path forms
    ['GET', '/api/v1/watch/namespaces/web/pods', 'watch', { resource: 'pods', namespace: 'web', apiVersion: 'v1' }],
    ['GET', '/api/v1/proxy/namespaces/web/pods/nginx/some/path', 'proxy', { resource: 'pods', namespace: 'web', name: 'nginx', apiVersion: 'v1' }],
    // escaped names, trailing slashes
    ['GET', '/api/v1/namespaces/web/configmaps/a%3Ab/', 'get', { resource: 'configmaps', namespace: 'web', name: 'a:b', apiVersion: 'v1' }],
    // dot segments are not resolved: the API server reads the path as sent
    [
      'GET',
      '/api/v1/namespaces/web/configmaps/../secrets',
      'get',
      { resource: 'configmaps', namespace: 'web', name: '..', subresource: 'secrets', apiVersion: 'v1' },
    ],
  ])('%s %s → %s', (method, path, verb, objectRef) => {
    expect(requestInfo(method, path)).toEqual({ verb, objectRef });
  });

  it.each([
    ['GET', '/version', 'get'],
    ['GET', '/healthz', 'get'],
    ['GET', '/api', 'get'],
    ['GET', '/api/v1', 'get'],
    ['GET', '/apis/apps/v1', 'get'],
    ['GET', '/openapi/v3/apis/apps/v1', 'get'],
    ['POST', '/apis/apps/v1/watch', 'post'],
    ['OPTIONS', '/', 'options'],
  ])('%s %s is a non-resource request: %s, no object', (method, path, verb) => {
    expect(requestInfo(method, path)).toEqual({ verb });
  });

  it('gives no verb for a method the API server has none for', () => {
    expect(requestInfo('OPTIONS', '/api/v1/pods').verb).toBe('');
  });
});
