"""Keeping secrets that ride in URLs out of everything envgen writes or says.

Channel and index URLs carry credentials in three places: the userinfo (`https://user:password@host/`), conda's
token path segment (`https://host/t/<token>/channel`) and query parameters (`?token=...`, signed-URL
signatures). Two functions share one set of patterns:

- `strip_credentials(url)`: the canonical, credential-free URL, for files (lockfiles, cache metadata). The
  credentials themselves come from the environment when the URL is used (netrc, conda's token store,
  `UV_INDEX_*`), never from a committed file.
- `redact(text)`: any text (a message, a wrapped requests or uv error, a script line, a JSON value) with every
  secret replaced by `***`, wherever it sits: in a full URL, a bare `/t/<token>/` path or a query string.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# query parameter names that carry secrets (lower-cased); a name that ends in one of these counts too
_SECRET_PARAMS = ("token", "access_token", "auth", "authorization", "api_key", "apikey", "key", "password",
                  "passwd", "pwd", "secret", "client_secret", "signature", "sig", "credential", "credentials",
                  "session", "x-amz-signature", "x-amz-credential", "x-amz-security-token")
# `scheme:/` as well as `scheme://` (a URL that went through a path join loses a slash); schemes of two or more
# letters, so a Windows drive (`C:/Users/...`) is no URL
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]+:/{1,2})(?P<userinfo>[^/?#@\s'\"<>]+)@")
# a URL, or the path requests and urllib3 print after "url: " (`Max retries exceeded with url: /t/<token>/...`)
_URL_OR_PATH = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+:/{1,2}[^\s'\"<>]+|(?<=url: )/[^\s'\"<>]+")
_CONDA_TOKEN = re.compile(r"/t/(?!\*\*\*/)[^/?#]+(?=/)")
# a value ends at a separator, white space, a quote, or a colon that ends a sentence (`?token=abc: refused`)
_QUERY = re.compile(r"(?P<lead>[?&;])(?P<name>[A-Za-z0-9_.\-]+)=(?P<value>(?:[^&;#\s'\"<>:]|:(?![\s'\"<>]|$))*)")


def _secret_name(name: str) -> bool:
    low = name.lower()
    return low in _SECRET_PARAMS or low.endswith(("token", "secret", "password", "signature", "_key", "-key"))


def redact(text: str) -> str:
    """`text` with every URL credential replaced by `***` (userinfo, conda token segments, secret query values)."""
    if not text:
        return text
    out = _USERINFO.sub(lambda m: m["scheme"] + MASK + "@", text)
    out = _URL_OR_PATH.sub(lambda m: _CONDA_TOKEN.sub("/t/" + MASK, m[0]), out)
    return _QUERY.sub(lambda m: f"{m['lead']}{m['name']}={MASK}" if _secret_name(m["name"]) and m["value"]
                      else m[0], out)


def strip_credentials(url: str) -> str:
    """The URL without userinfo, conda token segment or secret query parameters: what a file may hold."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    path = re.sub(r"/t/[^/]+(?=/)", "", parts.path)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = parts.query
    if any(_secret_name(k) for k, _ in pairs):  # rebuilt only when something goes: the rest stays byte for byte
        query = urlencode([(k, v) for k, v in pairs if not _secret_name(k)])
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def redact_data(value: Any) -> Any:
    """`redact` applied to every string inside JSON-like data (dicts, lists, tuples), keys included."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value
