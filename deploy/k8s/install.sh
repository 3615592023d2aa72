#!/bin/sh
# Install or upgrade CRO AI Agent on a Kubernetes cluster with the official Dagster Helm chart.
#
#   IMAGE=registry.example.com/cro-ai-agent:0.1.0 sh deploy/k8s/install.sh
#
# Needs helm and kubectl pointed at the cluster, the namespace, and the Secrets `dagster-postgresql-secret`
# and `cro-secrets` created first (README, "Kubernetes"). NAMESPACE and RELEASE default to `cro`.
set -eu

CHART_VERSION=1.13.27 # = the dagster version in uv.lock; tests/deploy/test_k8s.py keeps them equal
NAMESPACE="${NAMESPACE:-cro}"
RELEASE="${RELEASE:-cro}"
: "${IMAGE:?set IMAGE=REGISTRY/cro-ai-agent:TAG, the image built from the Dockerfile}"

repository="${IMAGE%:*}"
tag="${IMAGE##*:}"
case "$tag" in
  */* | "$IMAGE" | "") echo "IMAGE must end in :TAG (a unique tag per build), got $IMAGE" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"

for secret in dagster-postgresql-secret cro-secrets; do
  if ! kubectl get secret "$secret" --namespace "$NAMESPACE" >/dev/null 2>&1; then
    echo "the Secret $secret does not exist in namespace $NAMESPACE: create it first (README, Kubernetes)" >&2
    exit 1
  fi
done

kubectl apply --namespace "$NAMESPACE" -f "$here/cro-config.yaml" -f "$here/storage.yaml"

helm repo add dagster https://dagster-io.github.io/helm >/dev/null 2>&1 || true
helm repo update dagster
helm upgrade --install "$RELEASE" dagster/dagster --version "$CHART_VERSION" --namespace "$NAMESPACE" \
  -f "$here/values.yaml" \
  --set "dagster-user-deployments.deployments[0].image.repository=$repository" \
  --set "dagster-user-deployments.deployments[0].image.tag=$tag" \
  --wait

sed "s|image: cro-ai-agent:0.1.0|image: $IMAGE|" "$here/webhook.yaml" | kubectl apply --namespace "$NAMESPACE" -f -
echo "installed $RELEASE (chart dagster $CHART_VERSION, image $IMAGE) in namespace $NAMESPACE"
