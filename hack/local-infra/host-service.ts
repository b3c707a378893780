// A Service for a process on this host: how the hub's aggregation layer reaches an
// operator run as a local process (make dev, the e2e suites).

/**
 * A Service `<name>` in `namespace` for a process on this host listening on `port`
 * (at listenAddressFor), e.g. the operator's aggregated door for an APIService. Locally
 * an ExternalName to localhost, the one kind of Service that can point at loopback; on
 * kind a selectorless Service whose EndpointSlice is the host's address on the
 * Docker network.
 */
export function hostServiceObjects(namespace: string, name: string, port: number, hostAddress: string | undefined): object[] {
  const ports = [{ name: 'https', port, protocol: 'TCP' }];
  if (!hostAddress) {
    return [{ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { type: 'ExternalName', externalName: 'localhost', ports } }];
  }
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: ports.map((p) => ({ ...p, targetPort: port })) } },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [hostAddress] }],
      ports,
    },
  ];
}
