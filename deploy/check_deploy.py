"""What deploy/check.sh asks of the YAML under deploy/, beyond the schemas.

The schemas (kubernetes-validate, the compose spec) say a file is well
formed; this says it deploys callbridge as intended: the probes reach the
daemon's endpoints, the pod cannot run as root, the store is on a volume,
the Service finds the pod and kustomize applies every manifest.
Prints one line per problem and exits 1 if there is any.
"""

import pathlib
import re
import sys

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent
KUBE = DEPLOY / "kubernetes"
DATA_DIR = "/var/lib/callbridge"
DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def load_all():
    """Every YAML file under deploy/, parsed; a parse error is a problem."""
    docs = {}
    for path in sorted(DEPLOY.rglob("*.y*ml")):
        try:
            docs[path] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as error:
            problem(path.relative_to(DEPLOY), f"not valid YAML: {error}")
    return docs


def dig(value, *keys):
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def check_kubernetes(docs):
    manifests = {}  # file name -> its documents
    for path, file_docs in docs.items():
        if path.parent != KUBE or path.name == "kustomization.yaml":
            continue
        if any(isinstance(d, dict) and "kind" in d for d in file_docs):
            manifests[path.name] = file_docs

    objects = []
    for name, file_docs in manifests.items():
        for doc in file_docs:
            where = f"kubernetes/{name}"
            if not isinstance(doc, dict):
                problem(where, "a document is not a mapping")
                continue
            for key in ("apiVersion", "kind"):
                if not isinstance(doc.get(key), str) or not doc[key]:
                    problem(where, f"no {key}")
            meta_name = dig(doc, "metadata", "name")
            if not isinstance(meta_name, str) or not DNS_NAME.match(meta_name):
                problem(where, f"metadata.name {meta_name!r} is not a DNS-1123 name")
            objects.append((where, doc))

    kustomization = (docs.get(KUBE / "kustomization.yaml") or [None])[0]
    generated_configmaps = set()
    if not isinstance(kustomization, dict):
        problem("kubernetes/kustomization.yaml", "missing or empty")
    else:
        listed = kustomization.get("resources") or []
        for missing in sorted(set(manifests) - set(listed)):
            problem("kubernetes/kustomization.yaml", f"resources does not list {missing}")
        for extra in sorted(set(listed) - set(manifests)):
            problem("kubernetes/kustomization.yaml", f"resources lists {extra}, which is not a manifest here")
        inputs = set()
        for generator in kustomization.get("configMapGenerator") or []:
            generated_configmaps.add(generator.get("name"))
            for entry in generator.get("files") or []:
                file = entry.split("=", 1)[-1]
                inputs.add(file)
                if not (KUBE / file).is_file():
                    problem("kubernetes/kustomization.yaml", f"configMapGenerator file {file} does not exist")
        for path in docs:
            if path.parent == KUBE and path.name != "kustomization.yaml":
                if path.name not in manifests and path.name not in inputs:
                    problem(f"kubernetes/{path.name}", "neither a manifest nor a generator input in kustomization.yaml")

    by_kind = {}
    for where, doc in objects:
        by_kind.setdefault(doc.get("kind"), []).append((where, doc))

    def names(kind):
        return {dig(doc, "metadata", "name") for _, doc in by_kind.get(kind, [])}

    deployments = by_kind.get("Deployment", [])
    if len(deployments) != 1:
        problem("kubernetes", f"expected one Deployment, found {len(deployments)}")
        return
    where, deployment = deployments[0]
    spec = deployment.get("spec") or {}
    if spec.get("replicas") != 1:
        problem(where, "replicas must be 1: the SQLite store takes one serving process")
    if dig(spec, "strategy", "type") != "Recreate":
        problem(where, "strategy.type must be Recreate, so two pods never share the store")
    pod_labels = dig(spec, "template", "metadata", "labels") or {}
    match_labels = dig(spec, "selector", "matchLabels") or {}
    if not match_labels or any(pod_labels.get(k) != v for k, v in match_labels.items()):
        problem(where, "selector.matchLabels must be non-empty and match the pod template's labels")

    pod = dig(spec, "template", "spec") or {}
    containers = pod.get("containers") or []
    if len(containers) != 1:
        problem(where, f"expected one container, found {len(containers)}")
        return
    container = containers[0]
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
    if 8080 not in ports.values():
        problem(where, "the container does not declare containerPort 8080 (server.listen)")

    def resolve(port):
        return ports.get(port) if isinstance(port, str) else port

    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = dig(container, probe, "httpGet") or {}
        if get.get("path") != path:
            problem(where, f"{probe} must GET {path}, not {get.get('path')!r}")
        if resolve(get.get("port")) not in ports.values():
            problem(where, f"{probe} port {get.get('port')!r} is not a port of the container")

    pod_security = pod.get("securityContext") or {}
    security = container.get("securityContext") or {}
    if security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is not True:
        problem(where, "runAsNonRoot must be true")
    if security.get("runAsUser", pod_security.get("runAsUser")) == 0:
        problem(where, "runAsUser must not be 0")
    if security.get("readOnlyRootFilesystem") is not True:
        problem(where, "readOnlyRootFilesystem must be true")
    if security.get("allowPrivilegeEscalation") is not False:
        problem(where, "allowPrivilegeEscalation must be false")
    if "ALL" not in (dig(security, "capabilities", "drop") or []):
        problem(where, "capabilities.drop must include ALL")
    resources = container.get("resources") or {}
    if not dig(resources, "requests", "memory") or not dig(resources, "limits", "memory"):
        problem(where, "resources must request and limit memory")

    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    mounts = {m.get("mountPath"): m.get("name") for m in container.get("volumeMounts") or []}
    data = volumes.get(mounts.get(DATA_DIR)) or {}
    claim = dig(data, "persistentVolumeClaim", "claimName")
    if claim is None:
        problem(where, f"{DATA_DIR} must be mounted from a PersistentVolumeClaim")
    elif claim not in names("PersistentVolumeClaim"):
        problem(where, f"claimName {claim!r} is not a PersistentVolumeClaim in the manifests")
    for volume in volumes.values():
        configmap = dig(volume, "configMap", "name")
        if configmap is not None and configmap not in names("ConfigMap") | generated_configmaps:
            problem(where, f"ConfigMap {configmap!r} is neither a manifest nor generated")
    for source in container.get("envFrom") or []:
        secret = dig(source, "secretRef", "name")
        if secret is not None and secret not in names("Secret"):
            problem(where, f"Secret {secret!r} is not in the manifests")

    services = by_kind.get("Service", [])
    if not services:
        problem("kubernetes", "no Service")
    for where, service in services:
        selector = dig(service, "spec", "selector") or {}
        if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
            problem(where, f"selector {selector} does not select the Deployment's pods {pod_labels}")
        for port in dig(service, "spec", "ports") or []:
            target = port.get("targetPort", port.get("port"))
            if resolve(target) not in ports.values():
                problem(where, f"targetPort {target!r} is not a port of the container")

    # A committed Secret must hold placeholders only.
    for where, secret in by_kind.get("Secret", []):
        for key, value in {**(secret.get("stringData") or {}), **(secret.get("data") or {})}.items():
            if "CHANGE" not in str(value):
                problem(where, f"{key} does not look like a placeholder: commit no real secrets")


def check_compose(docs):
    compose = (docs.get(DEPLOY / "compose.yaml") or [None])[0]
    where = "compose.yaml"
    if not isinstance(compose, dict):
        problem(where, "missing or empty")
        return
    services = compose.get("services") or {}
    service = services.get("callbridge")
    if not isinstance(service, dict):
        problem(where, "no callbridge service")
        return
    build = service.get("build") or {}
    dockerfile = (DEPLOY / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve()
    if not dockerfile.is_file():
        problem(where, f"build's Dockerfile {dockerfile} does not exist")
    if not any(str(p).split(":")[-1] == "8080" for p in service.get("ports") or []):
        problem(where, "does not publish container port 8080")
    named = set((compose.get("volumes") or {}).keys())
    data = [v for v in service.get("volumes") or [] if str(v).endswith(":" + DATA_DIR)]
    if not data or data[0].split(":")[0] not in named:
        problem(where, f"{DATA_DIR} must be a named volume declared under volumes")
    if service.get("restart") not in ("always", "unless-stopped", "on-failure"):
        problem(where, "needs a restart policy")


def main():
    docs = load_all()
    check_kubernetes(docs)
    check_compose(docs)
    for line in problems:
        print(line)
    if problems:
        return 1
    print(f"{len(docs)} YAML files parsed; kubernetes and compose essentials hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
