"""The login-token endpoint on Flask, served by gunicorn: ``gunicorn tests.support.stacks.flask_app:app``,
configured as tests.support.stacks.login_token says.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from tests.support.stacks.login_token import ENDPOINT, HEADERS, PNG_TYPE, XML_TYPE, Answer, LoginTokens, error

service = LoginTokens.from_environment()
app = Flask(__name__)


def xml(answer: Answer) -> Response:
    """The answer as an XML response."""
    return Response(answer.body, answer.status, HEADERS, content_type=XML_TYPE)


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> BaseResponse:
    """Werkzeug's own refusals (404, 405 with its Allow, 413) as XML documents, their headers kept."""
    response = exc.get_response()
    answer = error(response.status_code)
    response.set_data(answer.body)
    response.content_type = XML_TYPE
    response.headers.update(HEADERS)
    return response


@app.post(ENDPOINT)
def login_token() -> Response:
    """POST /v1/user/login_token: the body's form only (request.form; never the query string)."""
    form = request.form
    return xml(
        service.login_token(
            api_key=form.getlist("api_key"),
            user_id=form.getlist("user_id"),
            token_expire=form.getlist("token_expire"),
        )
    )


@app.get("/qr/<name>.png")
def qrcode(name: str) -> Response:
    """The PNG of an issued grant's QR code."""
    png = service.qrcode_png(name)
    if png is None:
        abort(404)
    return Response(png, content_type=PNG_TYPE)
