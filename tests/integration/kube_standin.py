"""A tiny in-memory stand-in for the Kubernetes API server, for client tests.

It speaks the REST paths the fleet uses — ``/api/v1[/namespaces/{ns}]/{plural}[/{name}]`` and
``/apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}[/status]]`` — with create (POST),
get/list (GET, ``labelSelector``), merge patch (PATCH), replace (PUT) and delete (DELETE), and answers
errors with real ``Status`` objects: 404 NotFound, 409 AlreadyExists/Conflict, 422 Invalid. ray.io
objects are checked against the KubeRay CRD schema like a real API server would (422 on failure).
``script_status`` plays the operator: each read of an object advances its ``status``.
:class:`KubeletStandIn` plays the kubelet for batch Jobs: it runs each new Job's container command
as a process on this machine, records a Pod with its exit code and logs (``pods/{name}/log``), and
sets the Job's status (succeeded, failed, or DeadlineExceeded past ``activeDeadlineSeconds``).

Not a real API server: no auth, no watch, no admission, no garbage collection. Not a real kubelet:
no image, no container isolation (securityContext and NetworkPolicy are not enforced).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cluster.graphserver import free_port

PATH = re.compile(
    r"^/(?P<gv>api/v1|apis/[^/]+/[^/]+)(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)"
    r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>status|log))?$"
)
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class KubeStandIn:
    """``start()`` it, point a ``kubernetes.client.Configuration`` at ``url``, ``stop()`` it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.objects: dict[tuple[str, str, str], dict[str, dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.logs: dict[tuple[str, str], str] = {}  # (namespace, pod) -> its container's log
        self._scripts: dict[tuple[str, str], list[dict]] = {}
        self._lock = threading.Lock()
        self._version = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> KubeStandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def script_status(self, plural: str, name: str, statuses: list[dict]) -> None:
        """Each later read of ``plural/name`` shows the next status; the last one sticks."""
        self._scripts[(plural, name)] = list(statuses)

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """Route one request; returns (HTTP code, JSON body)."""
        m = PATH.match(path)
        if not m:
            return 404, status(
                404, "NotFound", f"the server could not find the requested resource {path}"
            )
        gv, ns, plural, name, sub = m.group("gv", "ns", "plural", "name", "sub")
        with self._lock:
            self.requests.append((method, path))
            store = self.objects.setdefault((gv, ns or "", plural), {})
            if name is None:
                if method == "GET":
                    return 200, self._list(plural, store, query.get("labelSelector", ""))
                if method == "POST":
                    return self._create(gv, ns, plural, store, body)
                return 405, status(405, "MethodNotAllowed", f"{method} on a collection")
            return self._item(method, gv, plural, store, name, sub, body)

    # ------------------------------------------------------------------ verbs

    def _read(self, plural: str, name: str, obj: dict) -> dict:
        """Every read plays the operator: the object's next scripted status shows up."""
        script = self._scripts.get((plural, name))
        if script:
            obj["status"] = script.pop(0) if len(script) > 1 else script[0]
        return copy.deepcopy(obj)

    def _list(self, plural: str, store: dict[str, dict], selector: str) -> dict:
        want = dict(p.split("=", 1) for p in selector.split(",") if "=" in p)
        items = [
            self._read(plural, name, o)
            for name, o in store.items()
            if all(o.get("metadata", {}).get("labels", {}).get(k) == v for k, v in want.items())
        ]
        return {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}

    def _create(
        self, gv: str, ns: str | None, plural: str, store: dict, body: Any
    ) -> tuple[int, Any]:
        name = (body.get("metadata") or {}).get("name", "") if isinstance(body, dict) else ""
        problems = _problems(gv, body, name)
        if problems:
            return 422, invalid(body, gv, plural, name, problems)
        if name in store:
            return 409, status(
                409,
                "AlreadyExists",
                f'{plural}.{_group(gv)} "{name}" already exists',
                name=name,
                plural=plural,
            )
        obj = copy.deepcopy(body)
        meta = obj["metadata"]
        if ns:
            meta["namespace"] = ns
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._bump(),
            creationTimestamp="2026-01-01T00:00:00Z",
            generation=1,
        )
        store[name] = obj
        return 201, copy.deepcopy(obj)

    def _item(
        self, method: str, gv: str, plural: str, store: dict, name: str, sub: str | None, body: Any
    ) -> tuple[int, Any]:
        obj = store.get(name)
        if obj is None:
            return 404, status(
                404,
                "NotFound",
                f'{plural}.{_group(gv)} "{name}" not found',
                name=name,
                plural=plural,
            )
        if method == "GET" and sub == "log":
            return 200, PlainText(self.logs.get((obj["metadata"].get("namespace", ""), name), ""))
        if method == "GET":
            return 200, self._read(plural, name, obj)
        if method == "DELETE":
            del store[name]
            return 200, copy.deepcopy(obj)
        if method == "PUT":
            sent = (body.get("metadata") or {}).get("resourceVersion")
            if sent and sent != obj["metadata"]["resourceVersion"]:
                return 409, status(
                    409,
                    "Conflict",
                    f"Operation cannot be fulfilled on {plural}.{_group(gv)} "
                    f'"{name}": the object has been modified',
                    name=name,
                    plural=plural,
                )
            new = copy.deepcopy(body)
        elif method == "PATCH":
            new = merge_patch(obj, body if sub is None else {})
        else:
            return 405, status(405, "MethodNotAllowed", method)
        # With a status subresource the main resource's writes never change status (and back).
        new.pop("status", None)
        problems = _problems(gv, new, name)
        if problems:
            return 422, invalid(new, gv, plural, name, problems)
        if "status" in obj:
            new["status"] = (
                obj["status"]
                if sub is None
                else merge_patch(obj["status"], (body or {}).get("status"))
            )
        new["metadata"] = {
            **obj["metadata"],
            **new.get("metadata", {}),
            "resourceVersion": self._bump(),
        }
        store[name] = new
        return 200, copy.deepcopy(new)

    def _bump(self) -> str:
        self._version += 1
        return str(self._version)


def _group(gv: str) -> str:
    return gv.split("/")[1] if gv.startswith("apis/") else "core"


def _problems(gv: str, body: Any, name: str) -> list[str]:
    if not isinstance(body, dict):
        return ["body: must be an object"]
    if not DNS1123.match(name or ""):
        return [
            f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist '
            "of lower case alphanumeric characters, '-' or '.'"
        ]
    if gv.startswith("apis/ray.io/"):
        from cluster.kuberay_validate import schema_problems

        return schema_problems(body)
    return []


def status(code: int, reason: str, message: str, **details: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


def invalid(body: Any, gv: str, plural: str, name: str, problems: list[str]) -> dict:
    kind = body.get("kind", plural) if isinstance(body, dict) else plural
    msg = f'{kind}.{_group(gv)} "{name}" is invalid: ' + ", ".join(problems)
    return status(422, "Invalid", msg, name=name, plural=plural)


def _handler(server: KubeStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            path, _, qs = self.path.partition("?")
            query = dict(p.split("=", 1) for p in qs.split("&") if "=" in p)
            query = {k: _unquote(v) for k, v in query.items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                code, out = 400, status(400, "BadRequest", "body is not JSON")
            else:
                code, out = server.handle(self.command, path, query, body)
            plain = isinstance(out, PlainText)
            data = str(out).encode() if plain else json.dumps(out).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if plain else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


def _unquote(value: str) -> str:
    from urllib.parse import unquote

    return unquote(value)


class PlainText(str):
    """A non-JSON answer (a pod's log)."""


class KubeletStandIn:
    """Runs the Jobs created in ``api`` (a :class:`KubeStandIn`) as local processes."""

    def __init__(self, api: KubeStandIn, *, poll_s: float = 0.1) -> None:
        self.api, self.poll_s = api, poll_s
        self.ran: list[dict] = []  # the pod specs it ran
        self._seen: set[tuple[str, str]] = set()
        self._stop = threading.Event()

    def start(self) -> KubeletStandIn:
        threading.Thread(target=self._loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            with self.api._lock:
                jobs = [
                    (ns, name, copy.deepcopy(job))
                    for (gv, ns, plural), store in self.api.objects.items()
                    if gv == "apis/batch/v1" and plural == "jobs"
                    for name, job in store.items()
                    if (ns, name) not in self._seen
                ]
            for ns, name, job in jobs:
                self._seen.add((ns, name))
                threading.Thread(target=self._run, args=(ns, name, job), daemon=True).start()

    def _run(self, ns: str, name: str, job: dict) -> None:
        import subprocess

        template = job["spec"]["template"]
        c = template["spec"]["containers"][0]
        self.ran.append(copy.deepcopy(template["spec"]))
        env = {"PATH": "/usr/bin:/bin", **{e["name"]: e["value"] for e in c.get("env", [])}}
        deadline = job["spec"].get("activeDeadlineSeconds")
        try:
            proc = subprocess.run(
                c["command"], cwd=c.get("workingDir"), env=env, capture_output=True,
                text=True, timeout=deadline,
            )  # fmt: skip
            code, log, expired = proc.returncode, proc.stdout + proc.stderr, False
        except subprocess.TimeoutExpired as exc:
            code, expired = 137, True
            log = (
                (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            )
        pod_name = f"{name}-{uuid.uuid4().hex[:5]}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": ns, "labels": template["metadata"]["labels"]},
            "spec": template["spec"],
            "status": {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": [
                    {"name": c["name"], "ready": False, "restartCount": 0, "image": c["image"],
                     "imageID": "", "state": {"terminated": {"exitCode": code}}}
                ],
            },
        }  # fmt: skip
        if expired:
            status = {"failed": 1, "conditions": [{"type": "Failed", "status": "True",
                                                   "reason": "DeadlineExceeded"}]}  # fmt: skip
        elif code == 0:
            status = {"succeeded": 1}
        else:
            status = {"failed": 1, "conditions": [{"type": "Failed", "status": "True",
                                                   "reason": "BackoffLimitExceeded"}]}  # fmt: skip
        with self.api._lock:
            self.api.objects.setdefault(("api/v1", ns, "pods"), {})[pod_name] = pod
            self.api.logs[(ns, pod_name)] = log
            stored = self.api.objects.get(("apis/batch/v1", ns, "jobs"), {}).get(name)
            if stored is not None:
                stored["status"] = status
