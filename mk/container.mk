# mk/container.mk - the container image test (issue 10), included by the Makefile.
#
#   make container-test   builds docker/Dockerfile and docker/Dockerfile.named on a local
#                         mmdebstrap Debian 12 base, runs docker/k8s-sidecar.yaml with
#                         `podman kube play` and transfers a zone through it over TLS
#                         (root; installs podman & co. if missing; see docker/test.sh).
#                         About 3-5 min from cold, most of it the image build.

.PHONY: container-test
container-test:
	bash docker/test.sh
