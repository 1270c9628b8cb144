"""The deployment files are well formed: compose and Kubernetes YAML parse and name what they must, probes
point at /healthz, and the nginx configuration passes `nginx -t` (or a structural check without nginx)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

INFRA = ROOT / "infra"
K8S = INFRA / "k8s"
NGINX = INFRA / "nginx"


def k8s_documents() -> list[dict]:
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return documents


def by_kind(kind: str) -> list[dict]:
    return [doc for doc in k8s_documents() if doc["kind"] == kind]


def test_compose_runs_the_whole_stack():
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "seaweedfs", "migrate", "worker", "nginx"} <= set(services)
    apps = [name for name, service in services.items() if name.startswith("app")]
    assert len(apps) >= 2, "two or more app instances"
    for name in apps:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "DATABASE_URL" in services[name]["environment"] and "SECRET_KEY" in services[name]["environment"]
    assert services["worker"]["command"] == ["motcua", "worker"]
    assert services["worker"]["environment"]["MOTCUA_PUSH_WORKER"] == "external"
    assert "minio" not in (INFRA / "compose.yaml").read_text().lower().replace("minio's community edition", "")
    assert services["nginx"]["ports"] == ["80:80", "443:443"]
    # Every app upstream named in the nginx configuration is a compose service.
    upstreams = re.findall(r"server (app\d+):8000", (NGINX / "motcua.conf").read_text())
    assert sorted(upstreams) == sorted(apps)


def test_the_image_runs_as_a_user_and_checks_health():
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert re.search(r"^USER motcua$", dockerfile, re.M)
    assert "/healthz" in dockerfile and "motcua\", \"serve\"" in dockerfile
    for folder in ("server", "sync", "pwa"):
        assert f"COPY {folder} ./{folder}" in dockerfile


def test_kubernetes_manifests_are_well_formed():
    documents = k8s_documents()
    assert documents
    for doc in documents:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"], doc
        assert doc["kind"] == "Namespace" or doc["metadata"]["namespace"] == "motcua"
    kinds = {doc["kind"] for doc in documents}
    assert {"Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "ConfigMap", "Secret", "Job"} <= kinds


def test_lost_payment_notifications_are_asked_about_every_few_minutes_one_run_at_a_time():
    (job,) = by_kind("CronJob")
    assert job["spec"]["schedule"] == "*/5 * * * *" and job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "payments-query"
    (container,) = pod["spec"]["containers"]
    assert container["command"][:3] == ["motcua", "payments", "query-pending"]
    assert {"configMapRef": {"name": "motcua-config"}} in container["envFrom"]


def test_deployments_select_their_pods_and_the_app_is_probed_on_healthz():
    deployments = {doc["metadata"]["name"]: doc for doc in by_kind("Deployment")}
    assert {"motcua-app", "motcua-worker"} <= set(deployments)
    for deployment in deployments.values():
        spec = deployment["spec"]
        assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
        for container in spec["template"]["spec"]["containers"]:
            assert container["image"] and container["resources"]["requests"]
            assert {"configMapRef": {"name": "motcua-config"}} in container["envFrom"]
            assert {"secretRef": {"name": "motcua-secrets"}} in container["envFrom"]
    app = deployments["motcua-app"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert app[probe]["httpGet"]["path"] == "/healthz"
        assert app[probe]["httpGet"]["port"] in ("http", 8000)
    assert deployments["motcua-worker"]["spec"]["template"]["spec"]["containers"][0]["command"] == ["motcua", "worker"]


def test_service_ingress_and_autoscaler_point_at_the_app():
    app_labels = next(d for d in by_kind("Deployment") if d["metadata"]["name"] == "motcua-app")["spec"]["template"]["metadata"]["labels"]
    service = next(s for s in by_kind("Service") if s["metadata"]["name"] == "motcua-app")
    assert service["spec"]["selector"].items() <= app_labels.items()
    backend = by_kind("Ingress")[0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "motcua-app"
    autoscaler = by_kind("HorizontalPodAutoscaler")[0]["spec"]
    assert autoscaler["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "motcua-app"}
    assert 2 <= autoscaler["minReplicas"] < autoscaler["maxReplicas"]
    external = {s["metadata"]["name"]: s for s in by_kind("Service") if s["spec"].get("type") == "ExternalName"}
    assert {"motcua-postgres", "motcua-objects"} <= set(external), "the database and store are outside engines"


def production_nginx_config(tmp_path: Path, with_brotli: bool) -> Path:
    """motcua.conf inside a minimal nginx.conf, with the compose host names and certificate paths made local."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=motcua.test",
                    "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
                   check=True, capture_output=True)
    site = (NGINX / "motcua.conf").read_text()
    site = re.sub(r"server (app\d+|seaweedfs):(\d+)", r"server 127.0.0.1:\2", site)
    site = site.replace("/etc/nginx/tls/", f"{tmp_path}/").replace("/etc/nginx/motcua/", f"{NGINX}/")
    site = re.sub(r"listen (\[::\]:)?(80|443)", lambda m: "listen " + (m.group(1) or "") + ("18480" if m.group(2) == "80" else "18443"), site)
    if not with_brotli:
        site = site.replace(f"include {NGINX}/brotli.conf;", "")
    (tmp_path / "motcua.conf").write_text(site)
    for name in ("logs", "temp"):
        (tmp_path / name).mkdir()
    modules = "include /etc/nginx/modules-enabled/*.conf;\n" if with_brotli else ""
    main = tmp_path / "nginx.conf"
    main.write_text(f"{modules}pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n include /etc/nginx/mime.types;\n"
                    f" client_body_temp_path {tmp_path}/temp/body; proxy_temp_path {tmp_path}/temp/proxy;\n"
                    f" include {tmp_path}/motcua.conf;\n}}\n")
    return main


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed; the structural test covers it")
def test_the_production_nginx_configuration_passes_nginx_t(tmp_path):
    with_brotli = any(Path("/etc/nginx/modules-enabled").glob("*brotli*"))
    main = production_nginx_config(tmp_path, with_brotli)
    # Debian's prefix, so `load_module modules/…` in modules-enabled resolves as in the image.
    result = subprocess.run(["nginx", "-t", "-p", "/usr/share/nginx/", "-c", str(main), "-e", str(tmp_path / "logs" / "error.log")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_nginx_configuration_has_what_the_issue_asks():
    site = (NGINX / "motcua-site.conf").read_text()
    production = (NGINX / "motcua.conf").read_text()
    assert site.count("{") == site.count("}") and production.count("{") == production.count("}")

    def block(start: str) -> str:
        text = site[site.index(start):]
        return text[:text.index("\n}")]

    assert re.search(r"^client_max_body_size \d+m;", site, re.M)
    assert "gzip on;" in site and "brotli on;" in (NGINX / "brotli.conf").read_text()
    assert "include /etc/nginx/motcua/brotli.conf;" in production
    assert "immutable" in block("location ~") and "no-cache" in block("location = /sw.js")
    assert "ssl_certificate " in production and "return 301 https://" in production
    assert "X-Forwarded-Proto $scheme" in site, "the app learns of TLS to send HSTS and Secure cookies"
    for location in ("@too_large", "@unavailable"):
        answer = block(f"location {location}")
        assert "Content-Security-Policy" in answer and "nosniff" in answer and "always" in answer
