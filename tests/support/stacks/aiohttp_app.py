"""The login-token endpoint on aiohttp: ``python -m tests.support.stacks.aiohttp_app FD`` serves it on the
listening socket FD, configured as tests.support.stacks.login_token says.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web

from tests.support.stacks.login_token import (
    ENDPOINT,
    FIELDS,
    HEADERS,
    PNG_TYPE,
    QRCODE_ROUTE,
    XML_TYPE,
    Answer,
    LoginTokens,
    error,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICE = web.AppKey("service", LoginTokens)


def xml(answer: Answer, headers: dict[str, str] | None = None) -> web.Response:
    """The answer as an XML response."""
    headers = {**HEADERS, **(headers or {}), "Content-Type": XML_TYPE}
    return web.Response(body=answer.body, status=answer.status, headers=headers)


@web.middleware
async def xml_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own refusals (404, 405 with its Allow, 413) as XML documents."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {name: value for name, value in exc.headers.items() if name.lower() == "allow"}
        return xml(error(exc.status), kept)


async def login_token(request: web.Request) -> web.Response:
    """POST /v1/user/login_token: the body's form only (request.post(); never the query string)."""
    try:
        form = await request.post()
    except (ValueError, LookupError):  # not UTF-8 (or its charset unknown), a broken multipart body
        raise web.HTTPBadRequest() from None
    values = {name: form.getall(name, []) for name in FIELDS}
    fields: dict[str, list[str]] = {}
    for name, given in values.items():
        # A multipart part that is a file or not text arrives as a FileField or bytes.
        if not all(isinstance(value, str) for value in given):
            return xml(error(400, "the form fields must be text"))
        fields[name] = [str(value) for value in given]
    service = request.app[SERVICE]
    return xml(service.login_token(**fields))


async def qrcode(request: web.Request) -> web.Response:
    """The PNG of an issued grant's QR code."""
    png = request.app[SERVICE].qrcode_png(request.match_info["name"])
    if png is None:
        raise web.HTTPNotFound()
    return web.Response(body=png, content_type=PNG_TYPE)


def create_app() -> web.Application:
    """The application, configured from the environment."""
    app = web.Application(middlewares=[xml_errors])
    app[SERVICE] = LoginTokens.from_environment()
    app.router.add_post(ENDPOINT, login_token)
    app.router.add_get(QRCODE_ROUTE, qrcode)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), sock=socket.socket(fileno=int(sys.argv[1])), print=None, access_log=None)
