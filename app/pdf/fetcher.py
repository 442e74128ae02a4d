"""The only way WeasyPrint may load anything while rendering an appraisal.

Names, comments and explanations are user text. Autoescaping keeps them from becoming markup; this
fetcher is the second wall: even markup that did slip through could not make the renderer read a
local file or reach the network. It serves

- ``jixiao-asset:NAME``: a file under ``app/static/pdf/`` (no ``..``, no symlink out, known types),
- ``data:`` URLs of small images (PNG, JPEG, SVG; at most 64 KB decoded),

and refuses everything else (``file:``, ``http(s):``, ``ftp:``, other ``data:``…) by raising. It is
built with ``fail_on_errors=True``, so a refusal stops the rendering instead of leaving a hole in a
document somebody is going to sign.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from urllib.parse import unquote_to_bytes

from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSET_SCHEME = "jixiao-asset"
ASSET_DIR = Path(__file__).resolve().parent.parent / "static" / "pdf"
DATA_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml"})
MAX_DATA_BYTES = 64 * 1024
ASSET_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
# A relative path of plain segments: no "..", no "%", no backslash, no leading "/".
_ASSET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


class FetchRefused(ValueError):
    """The renderer asked for a URL outside the application's own assets."""


class AssetFetcher(URLFetcher):
    """Serve ``jixiao-asset:`` files and small ``data:`` images; refuse the rest."""

    def __init__(self, asset_dir: Path = ASSET_DIR):
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)
        self.asset_dir = Path(asset_dir).resolve()

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme, colon, rest = url.partition(":")
        scheme = scheme.strip().lower()
        if colon and scheme == ASSET_SCHEME:
            return self._asset(url, rest)
        if colon and scheme == "data":
            return self._data(url, rest)
        raise FetchRefused(f"refused {_short(url)}: only {ASSET_SCHEME}: assets and small "
                           "data: images may be loaded")

    def _asset(self, url: str, name: str) -> URLFetcherResponse:
        if not _ASSET_NAME.fullmatch(name) or ".." in name.split("/"):
            raise FetchRefused(f"refused {_short(url)}: not a plain asset name")
        path = (self.asset_dir / name).resolve()
        content_type = ASSET_TYPES.get(path.suffix.lower())
        if not path.is_relative_to(self.asset_dir) or not path.is_file() or not content_type:
            raise FetchRefused(f"refused {_short(url)}: no such asset")
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    def _data(self, url: str, rest: str) -> URLFetcherResponse:
        header, comma, payload = rest.partition(",")
        params = [p.strip().lower() for p in header.split(";")]
        media_type, is_base64 = params[0], "base64" in params[1:]
        if not comma or media_type not in DATA_IMAGE_TYPES:
            raise FetchRefused(f"refused {_short(url)}: data: URLs only for PNG, JPEG, SVG")
        # Bound the work before decoding: base64 takes 4 characters per 3 bytes, %XX three per byte.
        if len(payload) > (MAX_DATA_BYTES * 4 // 3 + 4 if is_base64 else MAX_DATA_BYTES * 3):
            raise FetchRefused(f"refused {_short(url)}: data: image over {MAX_DATA_BYTES} bytes")
        body = unquote_to_bytes(payload)
        if is_base64:
            try:
                body = base64.b64decode(b"".join(body.split()), validate=True)
            except binascii.Error as error:
                raise FetchRefused(f"refused {_short(url)}: bad base64") from error
        if len(body) > MAX_DATA_BYTES:
            raise FetchRefused(f"refused {_short(url)}: data: image over {MAX_DATA_BYTES} bytes")
        return URLFetcherResponse(url, body, {"Content-Type": media_type})


class RefuseAll(URLFetcher):
    """Fetcher for the PDF-writing step: layout has loaded everything the page needs, so whatever
    is asked for now is an attachment (``<a rel=attachment>``, ``<link rel=attachment>``)."""

    def __init__(self):
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        raise FetchRefused(f"refused {_short(url)}: attachments are not embedded")


def _short(url: str) -> str:
    return repr(url if len(url) <= 80 else url[:77] + "...")
