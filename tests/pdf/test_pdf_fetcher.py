"""The URL fetcher serves the bundled assets and small data: images, and refuses the rest."""

import base64
import os

import pytest
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError

from app.pdf.fetcher import MAX_DATA_BYTES, AssetFetcher, FetchRefused, RefuseAll

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
BIG = base64.b64encode(b"\x89PNG" + b"\0" * MAX_DATA_BYTES).decode()


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "http://127.0.0.1/x.css",
    "https://example.com/x.css",
    "ftp://example.com/x",
    "//example.com/x.css",
    "/etc/passwd",
    "appraisal.css",
    "jixiao-asset:../../etc/passwd",
    "jixiao-asset:../pdf/appraisal.css",
    "jixiao-asset:/etc/passwd",
    "jixiao-asset://etc/passwd",
    "jixiao-asset:%2e%2e/%2e%2e/etc/passwd",
    "jixiao-asset:..\\..\\etc\\passwd",
    "jixiao-asset:missing.css",
    "jixiao-asset:",
    "data:text/html,<script>x</script>",
    "data:text/css,body{}",
    "data:application/pdf;base64,JVBERi0=",
    f"data:image/png;base64,{BIG}",
    "data:image/svg+xml," + "%20" * (MAX_DATA_BYTES + 1),
    "data:image/png;base64,@@not base64@@",
])
def test_refused(url):
    with pytest.raises(FetchRefused):
        AssetFetcher().fetch(url)


def test_serves_bundled_stylesheet():
    response = AssetFetcher().fetch("jixiao-asset:appraisal.css")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


def test_serves_small_data_images():
    url = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()
    response = AssetFetcher().fetch(url)
    assert response.content_type == "image/png" and response.read() == PNG_1PX
    svg = AssetFetcher().fetch("data:image/svg+xml,%3Csvg%20xmlns%3D%22http://www.w3.org/2000/svg%22/%3E")
    assert svg.read().startswith(b"<svg")


def test_symlink_out_of_the_asset_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    assets = tmp_path / "assets"
    assets.mkdir()
    os.symlink(secret, assets / "link.css")
    (assets / "ok.css").write_text("p {}")
    fetcher = AssetFetcher(assets)
    assert fetcher.fetch("jixiao-asset:ok.css").read() == b"p {}"
    with pytest.raises(FetchRefused):
        fetcher.fetch("jixiao-asset:link.css")


def test_refuse_all_refuses_even_assets():
    with pytest.raises(FetchRefused):
        RefuseAll().fetch("jixiao-asset:appraisal.css")


@pytest.mark.parametrize("markup", [
    '<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">',
    '<img src="http://127.0.0.1:{port}/x.png">',
    '<p style="background: url(http://127.0.0.1:{port}/bg.png)">x</p>',
])
def test_weasyprint_with_the_fetcher_stops_instead_of_fetching(markup, listener):
    """The second wall: even markup that escaped autoescaping cannot reach the network."""
    port, seen = listener
    with pytest.raises(FatalURLFetchingError):
        HTML(string=markup.format(port=port), url_fetcher=AssetFetcher()).write_pdf()
    assert seen == []


def test_image_inside_inline_svg_is_not_fetched(listener):
    """WeasyPrint swallows errors while drawing an SVG, so this one does not stop the render,
    but the image is still refused."""
    port, seen = listener
    HTML(string=f'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://127.0.0.1:{port}/i.png" '
                'width="9" height="9"/></svg>', url_fetcher=AssetFetcher()).write_pdf()
    assert seen == []


def test_weasyprint_with_the_fetcher_reads_no_local_file():
    with pytest.raises(FatalURLFetchingError):
        HTML(string='<link rel="stylesheet" href="file:///etc/passwd">',
             url_fetcher=AssetFetcher()).write_pdf()
