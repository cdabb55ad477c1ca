"""The login-token endpoint on FastAPI, served by uvicorn over h11:
``python -m tests.support.stacks.fastapi_app FD`` serves it on the listening socket FD
(``uvicorn tests.support.stacks.fastapi_app:app --http h11`` on a port), configured as
tests.support.stacks.login_token says.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Mapping
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from tests.support.stacks.login_token import (
    ENDPOINT,
    HEADERS,
    PNG_TYPE,
    QRCODE_ROUTE,
    XML_TYPE,
    Answer,
    LoginTokens,
    error,
)

service = LoginTokens.from_environment()
app = FastAPI(openapi_url=None)

# Each field as every value the form gave it: a repeated field with different values is refused.
FormField = Annotated[list[str] | None, Form()]


def xml(answer: Answer, headers: Mapping[str, str] | None = None) -> Response:
    """The answer as an XML response."""
    return Response(answer.body, answer.status, {**HEADERS, **(headers or {})}, media_type=XML_TYPE)


@app.exception_handler(HTTPException)
async def http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own refusals (404, 405 with its Allow, a body it cannot parse) as XML documents."""
    return xml(error(exc.status_code), exc.headers)


@app.exception_handler(RequestValidationError)
async def invalid_form(request: Request, exc: RequestValidationError) -> Response:
    """A field FastAPI cannot read as text (a file upload in a multipart form): a 400, nothing echoed."""
    return xml(error(400, "the form fields must be text"))


@app.post(ENDPOINT)
async def login_token(
    api_key: FormField = None, user_id: FormField = None, token_expire: FormField = None
) -> Response:
    """POST /v1/user/login_token."""
    return xml(
        service.login_token(api_key=api_key or [], user_id=user_id or [], token_expire=token_expire or [])
    )


@app.get(QRCODE_ROUTE)
async def qrcode(name: str) -> Response:
    """The PNG of an issued grant's QR code."""
    png = service.qrcode_png(name)
    if png is None:
        raise HTTPException(404)
    return Response(png, media_type=PNG_TYPE)


if __name__ == "__main__":
    # Not `uvicorn --fd FD`: uvicorn reopens that socket as AF_UNIX, so asyncio never sets TCP_NODELAY on
    # its connections and every answer waits ~40 ms for a delayed ACK. A socket object made from the
    # descriptor knows it is TCP; httptools is not installed, and h11 is named anyway. No proxy stands in
    # front, so no client's X-Forwarded-Proto/-For is trusted (uvicorn trusts loopback peers by default).
    config = uvicorn.Config(app, http="h11", proxy_headers=False, access_log=False, log_level="warning")
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=int(sys.argv[1]))])
