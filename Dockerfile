# Container images of the bundled plugins and of the cluster backend's node agent (docs/images.md). Build them with
# `sriov-lab image build`, or by hand after `npm run build` (the stages copy the bundles from dist/):
#   docker build --target device-plugin -t sriov-lab/device-plugin:latest .
#   docker build --target cni -t sriov-lab/cni:latest .
#   docker build --target node-agent -t sriov-lab/node-agent:latest .
# NODE_IMAGE is the base of the build stage only; the images are FROM scratch with the files they run. The build
# stage runs node in exec form (no shell), so a base made of just node and its libraries (`image build --local-base`)
# works as well as the default.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY dist/sriov-lab-image-stage.mjs dist/sriov-lab-device-plugin.mjs dist/sriov-lab-cni-sea.cjs dist/sriov-lab-node-agent.mjs dist/
COPY node_modules/postject/package.json node_modules/postject/
COPY node_modules/postject/dist/api.js node_modules/postject/dist/
RUN ["node", "dist/sriov-lab-image-stage.mjs", "runtime", "/out/device-plugin"]
RUN ["node", "dist/sriov-lab-image-stage.mjs", "libs", "/out/cni"]
RUN ["node", "dist/sriov-lab-image-stage.mjs", "sea", "dist/sriov-lab-cni-sea.cjs", "/out/cni/usr/lib/sriov-lab/sriov"]

# The device plugin: node, its libraries and the bundle (its gRPC API is built in: no .proto). It runs as root: it
# creates its sockets in the kubelet's root-owned /var/lib/kubelet/device-plugins and must connect to kubelet.sock,
# which the kubelet creates writable by root only.
FROM scratch AS device-plugin
COPY --from=build /out/device-plugin/ /
COPY --from=build /build/dist/sriov-lab-device-plugin.mjs /usr/lib/sriov-lab/dist/
# node flags: plugins/device-plugin/node-flags.ts (a smaller young generation and one V8 worker thread: RSS)
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=1", "--v8-pool-size=1", "/usr/lib/sriov-lab/dist/sriov-lab-device-plugin.mjs"]

# The CNI: one single executable (node with the CNI script embedded) and the libraries it needs inside the image.
# Its entrypoint copies it into the host's CNI bin directory, mounted at /host/opt/cni/bin as upstream's sriov-cni
# image expects, then sleeps; on the host it needs only glibc >= 2.28 and libstdc++, as any node binary does. It runs
# as root only to write that root-owned directory; the DaemonSet drops every capability.
FROM scratch AS cni
COPY --from=build /out/cni/ /
ENTRYPOINT ["/usr/lib/sriov-lab/sriov", "install"]
CMD ["--dest", "/host/opt/cni/bin"]

# The cluster backend's node agent (harness/backends/cluster/agent.ts): node, the agent bundle, and nsenter and sleep
# from the build stage's base, each with its libraries. Its DaemonSet's container runs `sleep infinity`; the backend
# starts `node /opt/sriov-lab/sriov-lab-node-agent.mjs --stdio --host-ns` in it through exec, which runs the node's
# commands with nsenter in the node's namespaces (the pod is privileged, hostPID). The kind backend does not use it:
# it enters its node containers with docker exec.
# (a stage of its own, so that a plugin image's build does not need the base's nsenter and sleep)
FROM build AS agent-build
RUN ["node", "dist/sriov-lab-image-stage.mjs", "agent", "/out/node-agent"]

FROM scratch AS node-agent
COPY --from=agent-build /out/node-agent/ /
COPY --from=agent-build /build/dist/sriov-lab-node-agent.mjs /opt/sriov-lab/
ENV PATH=/usr/local/bin:/usr/bin
