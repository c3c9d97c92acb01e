"""An HTTP server on 127.0.0.1 in a thread, serving a folder, with faults the tests can inject.

Faults, per URL path: `drop` (send the headers and half the body, then close the connection), `truncate`
(a complete response whose body is the first half of the file), `corrupt` (a complete response of garbage),
`status:NNN` (an HTTP error), `swap:OTHER` (serve another file's bytes under this path). ETags are the sha256
of the body, and `If-None-Match` is answered with 304, so client caches can be tested byte-exactly.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclass
class Served:
    root: Path
    faults: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    credentials: list[str] = field(default_factory=list)  # conda tokens (/t/<token>/...) and Authorization headers
    httpd: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def _handler(state: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._head_only = True
            try:
                self.do_GET()
            finally:
                self._head_only = False

        def do_GET(self) -> None:
            path = unquote(urlsplit(self.path).path)
            if token := re.match(r"^/t/([^/]+)(/.*)$", path):  # a conda token channel serves the same files
                state.credentials.append(token.group(1))
                path = token.group(2)
            if self.headers.get("Authorization"):
                state.credentials.append(self.headers["Authorization"])
            if not getattr(self, "_head_only", False):
                state.requests.append(path)
            fault = state.faults.get(path, "")
            if fault.startswith("status:"):
                return self._send(int(fault.split(":", 1)[1]), b"error\n")
            source = fault.split(":", 1)[1] if fault.startswith("swap:") else path
            file = (state.root / source.lstrip("/")).resolve()
            json_api = "application/vnd.pypi.simple.v1+json" in self.headers.get("Accept", "")
            self._json_api = file.is_dir() and json_api and (file / "index.v1.json").is_file()
            if self._json_api:  # PEP 691 content negotiation
                file = file / "index.v1.json"
            elif file.is_dir() and (file / "index.html").is_file():
                file = file / "index.html"
            if state.root.resolve() not in file.parents or not file.is_file():
                return self._send(404, b"not found\n")
            body = file.read_bytes()
            if fault == "truncate":
                body = body[: len(body) // 2]
            elif fault == "corrupt":
                body = b"\x00garbage{{{" * 10
            etag = '"' + hashlib.sha256(body).hexdigest() + '"'
            if fault == "" and self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", etag=etag)
            if fault == "slow":  # the body in four parts over ~1.6 s: long enough for progress lines
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                step = max(1, len(body) // 4 + 1)
                for i in range(0, len(body), step):
                    self.wfile.write(body[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.4)
                return None
            if fault == "drop":
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._send(200, body, etag=etag)

        def _send(self, code: int, body: bytes, etag: str | None = None) -> None:
            self.send_response(code)
            if etag:
                self.send_header("ETag", etag)
            ctype = "text/html" if self.path.endswith((".html", "/")) else "application/octet-stream"
            if self.path.endswith(".json"):
                ctype = "application/json"
            if getattr(self, "_json_api", False):
                ctype = "application/vnd.pypi.simple.v1+json"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and not getattr(self, "_head_only", False):
                self.wfile.write(body)

    return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early (uv and rattler cancel requests they no longer need) is not a fault of
        the server; printing its traceback would land in the captured stderr of the command under test."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


def serve(root: Path) -> Served:
    """Start serving root on 127.0.0.1 (a free port) in a daemon thread."""
    state = Served(Path(root))
    state.httpd = _Server(("127.0.0.1", 0), _handler(state))
    state.httpd.daemon_threads = True
    state.thread = threading.Thread(target=state.httpd.serve_forever, daemon=True)
    state.thread.start()
    return state
