"""Creates a TokenRequest with the official Kubernetes Python client's DynamicClient, as a
platform team's automation would: it finds the kind through the hub's discovery, as
served by the aggregation layer. Prints the created object as JSON.

usage: create_token_request.py KUBECONFIG DESTINATION DISCOVERY_CACHE_FILE
"""

import json
import sys

from kubernetes import config
from kubernetes.dynamic import DynamicClient


def main() -> None:
    kubeconfig, destination, discovery_cache = sys.argv[1:4]
    client = DynamicClient(config.new_client_from_config(config_file=kubeconfig), cache_file=discovery_cache)
    token_requests = client.resources.get(api_version="auth.infrahq.com/v1alpha1", kind="TokenRequest")
    created = token_requests.create(
        body={
            "apiVersion": "auth.infrahq.com/v1alpha1",
            "kind": "TokenRequest",
            "metadata": {"name": "from-python"},
            "spec": {"destination": destination},
        }
    )
    json.dump(created.to_dict(), sys.stdout)


if __name__ == "__main__":
    main()
