#!/bin/sh
# One-shot job (the temporal-namespace service of docker-compose.yml, temporalio/admin-tools
# image): waits until the Temporal frontend answers, then registers the namespace ASTS runs in
# (ASTS_TEMPORAL_NAMESPACE, "default" unless set) if it does not exist yet. The plain server image
# creates no namespace, and workers and the API fail on a missing one. An existing namespace is
# left as it is, including a retention changed since with `temporal operator namespace update`.
set -eu

address=${TEMPORAL_ADDRESS:-temporal:7233}
namespace=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_RETENTION:-30d}
attempts=${TEMPORAL_WAIT_ATTEMPTS:-60}

n=1
until temporal operator cluster health --address "$address" >/dev/null 2>&1; do
  if [ "$n" -ge "$attempts" ]; then
    echo "temporal-namespace: $address did not become healthy after $attempts attempts" >&2
    exit 1
  fi
  n=$((n + 1))
  sleep 2
done

if temporal operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; then
  echo "temporal-namespace: $namespace exists, left as it is"
  exit 0
fi
temporal operator namespace create --address "$address" --namespace "$namespace" --retention "$retention"
echo "temporal-namespace: created $namespace (retention $retention)"
