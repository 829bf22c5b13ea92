"""`<prefix>/docs`: Swagger UI served by the service itself, so it works under the site's CSP.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script; the
distribution's policy (`script-src 'self'`, no inline) blocks both. Here the assets come from
the fastapi-offline package (a copy of swagger-ui-dist) and the start-up code is a file of its
own. The page also sends that policy itself, so it behaves the same reached directly.
"""

from __future__ import annotations

import html
from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_INIT_JS = b"""\
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
}());
"""


def page(title: str, docs: str, openapi: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} - API docs</title>
<link rel="stylesheet" href="{docs}/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{html.escape(openapi)}"></div>
<script src="{docs}/static/swagger-ui-bundle.js"></script>
<script src="{docs}/init.js"></script>
</body>
</html>
"""


def add_docs(app: FastAPI, prefix: str, title: str) -> None:
    """Swagger UI at `<prefix>/docs`, its assets under `<prefix>/docs/static`; OpenAPI is `<prefix>/openapi.json`."""
    docs = f"{prefix}/docs"
    body = page(title, docs, f"{prefix}/openapi.json")
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
    app.mount(f"{docs}/static", StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-static")

    @app.get(docs, include_in_schema=False)
    async def swagger_ui() -> Response:
        return HTMLResponse(body, headers=headers)

    @app.get(f"{docs}/init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(_INIT_JS, media_type="text/javascript", headers=headers)
