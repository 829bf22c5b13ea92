"""`--publish frontend`'s pure decisions, without a server: upload order and what may be deleted."""

from __future__ import annotations

import re

from deployer.planning.site import page_keys, previous_generation, stale_keys, upload_order


def test_pages_go_last_whatever_order_they_come_in() -> None:
    keys = ["index.html", "app.1a2b3c4d.js", "docs/about.html", "styles.5e6f7a8b.css"]
    ordered = upload_order(keys, str, [".html"])
    assert ordered == ["app.1a2b3c4d.js", "styles.5e6f7a8b.css", "index.html", "docs/about.html"]


def test_the_previous_pages_assets_stay_and_older_ones_go() -> None:
    before = {"index.html", "app.00000001.js", "app.00000002.js", "styles.00000002.css", "stray.txt"}
    published = {"index.html": '<script src="app.00000002.js"></script><link href="styles.00000002.css">'}
    previous = previous_generation(published, lambda page, html: re.findall(r'(?:src|href)="([^"]+)"', html))
    current = {"index.html", "app.00000003.js", "styles.00000002.css"}
    assert previous == {"app.00000002.js", "styles.00000002.css"}
    assert stale_keys(before, current, previous) == {"app.00000001.js", "stray.txt"}


def test_page_keys() -> None:
    assert page_keys({"a.js", "index.html", "x/y.html"}, (".html",)) == ["index.html", "x/y.html"]
