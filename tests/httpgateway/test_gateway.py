"""The http gateway through a real wsgiref server, with a real name server and Pyro daemon behind it."""
from __future__ import annotations

import json
import socket
import uuid
from urllib.parse import quote

import pytest

API = "/pyro/"


def _json(body: bytes):
    return json.loads(body.decode("utf-8"))


def _assert_cors(headers) -> None:
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in headers["Access-Control-Allow-Methods"] and "POST" in headers["Access-Control-Allow-Methods"]


# ---------------------------------------------------------------------------------------------- calls

def test_get_call_returns_json_result(gateway):
    status, headers, body = gateway.get(API + "test.echoserver/echo?message=hello%20world")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert _json(body) == "hello world"
    assert uuid.UUID(headers["X-Pyro-Correlation-Id"])
    _assert_cors(headers)


def test_repeated_parameter_becomes_list(gateway):
    status, _, body = gateway.get(API + "test.echoserver/echo?message=1&message=2&message=3")
    assert status == 200
    assert _json(body) == ["1", "2", "3"]


def test_blank_parameter_value_is_kept(gateway):
    status, _, body = gateway.get(API + "http.thing/upper?text=")
    assert status == 200 and _json(body) == ""


def test_no_parameters_uses_defaults(gateway):
    status, _, body = gateway.get(API + "http.thing/upper")
    assert status == 200 and _json(body) == "DEFAULT"


def test_post_form_parameters(gateway):
    status, _, body = gateway.request("POST", API + "http.thing/add", body="a=foo&b=bar",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and _json(body) == "foobar"


def test_post_form_and_query_are_merged(gateway):
    status, _, body = gateway.request("POST", API + "http.thing/add?a=x", body="b=y",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and _json(body) == "xy"


def test_post_json_object_keeps_types(gateway):
    status, _, body = gateway.request("POST", API + "http.thing/add", body=json.dumps({"a": 40, "b": 2}),
                                      headers={"Content-Type": "application/json"})
    assert status == 200 and _json(body) == 42


def test_unicode_parameters_and_results(gateway):
    status, _, body = gateway.get(API + "test.echoserver/echo?message=" + quote("€ ünïcødé ✓"))
    assert status == 200 and _json(body) == "€ ünïcødé ✓"


def test_remote_exception_is_500_with_json_exception(gateway):
    status, headers, body = gateway.get(API + "test.echoserver/error")
    assert status == 500
    assert headers["Content-Type"].startswith("application/json")
    data = _json(body)
    assert data["__class__"] == "builtins.ValueError"
    assert data["__exception__"] is True
    assert data["args"] == ["this is the generated error from echoserver echo() method"]
    assert any("ValueError" in line for line in data["attributes"]["_pyroTraceback"])
    _assert_cors(headers)
    assert uuid.UUID(headers["X-Pyro-Correlation-Id"])


def test_remote_keyerror_is_500(gateway):
    status, _, body = gateway.get(API + "http.thing/fail")
    assert status == 500
    assert _json(body)["__class__"] == "builtins.KeyError"


def test_wrong_arguments_give_500_typeerror(gateway):
    status, _, body = gateway.get(API + "http.thing/add?a=1&zzz=2")
    assert status == 500
    assert _json(body)["__class__"] == "builtins.TypeError"


@pytest.mark.parametrize("method", ["nonexisting", "_private", "__init__", "_pyroRelease", "__class__",
                                    "_Thing__private"])
def test_unknown_or_private_method_is_500_attributeerror(gateway, method):
    status, _, body = gateway.get(API + "http.thing/" + method)
    assert status == 500
    data = _json(body)
    assert data["__class__"] == "builtins.AttributeError"
    assert method in data["args"][0]


def test_metadata(gateway):
    status, _, body = gateway.get(API + "http.thing/$meta")
    assert status == 200
    meta = _json(body)
    assert {"add", "upper", "fire", "fail", "gen", "correlation"} <= set(meta["methods"])
    assert "_private" not in meta["methods"]
    assert meta["attributes"] == ["value"]
    assert meta["oneway"] == ["fire"]


def test_attribute_read(gateway):
    status, _, body = gateway.get(API + "http.thing/value")
    assert status == 200 and _json(body) == 42
    status, _, body = gateway.get(API + "test.echoserver/verbose")
    assert status == 200 and _json(body) is False


def test_generator_result_is_collected_into_a_list(gateway):
    status, _, body = gateway.get(API + "http.thing/gen")
    assert status == 200 and _json(body) == [0, 1, 2]
    status, _, body = gateway.get(API + "test.echoserver/generator")
    assert status == 200 and _json(body) == ["one", "two", "three"]


def test_special_floats(gateway):
    assert _json(gateway.get(API + "test.echoserver/nan")[2]) != _json(gateway.get(API + "test.echoserver/nan")[2])
    assert _json(gateway.get(API + "test.echoserver/inf")[2]) == float("inf")


def test_name_server_calls_return_pyro_json(gateway, backend):
    status, _, body = gateway.get(API + "Pyro.NameServer/lookup?name=http.thing")
    assert status == 200
    data = _json(body)
    assert data["__class__"] == "Pyro5.core.URI"
    assert data["state"][1] == "http.thing"
    status, _, body = gateway.get(API + "Pyro.NameServer/list?prefix=test.")
    assert status == 200
    assert list(_json(body)) == ["test.echoserver"]


# ---------------------------------------------------------------------------------------------- names

def test_not_exposed_name_is_403(gateway):
    status, headers, body = gateway.get(API + "secret.thing/add?a=1&b=2")
    assert status == 403
    assert b"denied" in body
    _assert_cors(headers)


def test_exposed_regex_is_anchored_at_start(gateway):
    gateway.server.get_app().ns_regex = r"test\."
    assert gateway.get(API + "test.echoserver/echo?message=x")[0] == 200
    assert gateway.get(API + "http.thing/value")[0] == 403
    assert gateway.get(API + "Pyro.NameServer/list")[0] == 403


def test_unknown_name_is_404_with_naming_error(gateway):
    status, headers, body = gateway.get(API + "http.doesnotexist/method")
    assert status == 404
    data = _json(body)
    assert data["__class__"] == "Pyro5.errors.NamingError"
    assert "http.doesnotexist" in data["args"][0]


def test_object_name_with_slash_uses_last_part_as_method(gateway):
    status, _, body = gateway.get(API + "test.echoserver/echo/x")
    assert status == 404
    assert "test.echoserver/echo" in _json(body)["args"][0]


@pytest.mark.parametrize("path", ["/pyro/test.echoserver", "/pyro/test.echoserver/", "/pyro//echo", "/other",
                                  "/pyro/../etc/passwd"])
def test_bad_paths_are_404(gateway, path):
    status, headers, _ = gateway.get(path)
    assert status in (403, 404)
    _assert_cors(headers)


def test_registered_but_unreachable_object_is_500_communication_error(gateway):
    status, _, body = gateway.get(API + "http.gone/method")
    assert status == 500
    assert _json(body)["__class__"].startswith("Pyro5.errors.")


# ---------------------------------------------------------------------------------------------- headers

def test_oneway_option_returns_empty_200_and_the_call_happens(gateway, backend):
    backend.thing.fired.clear()
    status, headers, body = gateway.get(API + "http.thing/fire_normal?token=ow1", headers={"X-Pyro-Options": "oneway"})
    assert status == 200 and body == b""
    assert uuid.UUID(headers["X-Pyro-Correlation-Id"])
    assert backend.thing.fired.wait(10)
    assert backend.thing.fired_token == "ow1"


def test_declared_oneway_method_returns_empty_200(gateway, backend):
    backend.thing.fired.clear()
    status, _, body = gateway.get(API + "http.thing/fire?token=ow2")
    assert status == 200 and body == b""
    assert backend.thing.fired.wait(10)
    assert backend.thing.fired_token == "ow2"


def test_oneway_option_among_other_options(gateway, backend):
    backend.thing.fired.clear()
    status, _, body = gateway.get(API + "http.thing/fire_normal?token=ow3",
                                  headers={"X-Pyro-Options": "foo, ONEWAY ,bar"})
    assert status == 200 and body == b""
    assert backend.thing.fired.wait(10)


def test_correlation_id_from_request_is_used_and_returned(gateway):
    corr = "11112222-1111-2222-3333-222244449999"
    status, headers, body = gateway.get(API + "http.thing/correlation", headers={"X-Pyro-Correlation-Id": corr})
    assert status == 200
    assert headers["X-Pyro-Correlation-Id"] == corr
    assert _json(body) == corr


def test_generated_correlation_id_reaches_the_server(gateway):
    status, headers, body = gateway.get(API + "http.thing/correlation")
    assert status == 200
    assert _json(body) == headers["X-Pyro-Correlation-Id"]
    other = gateway.get(API + "http.thing/correlation")[1]["X-Pyro-Correlation-Id"]
    assert other != headers["X-Pyro-Correlation-Id"]


def test_invalid_correlation_id_is_400(gateway):
    status, _, body = gateway.get(API + "http.thing/correlation", headers={"X-Pyro-Correlation-Id": "garbage"})
    assert status == 400
    assert b"uuid" in body


def test_options_preflight(gateway):
    status, headers, body = gateway.request("OPTIONS", API + "http.thing/add",
                                            headers={"Origin": "http://example.org",
                                                     "Access-Control-Request-Method": "GET",
                                                     "Access-Control-Request-Headers": "x-pyro-gateway-key"})
    assert status == 200
    _assert_cors(headers)
    allowed = headers["Access-Control-Allow-Headers"].lower()
    for h in ("content-type", "x-pyro-options", "x-pyro-gateway-key", "x-pyro-correlation-id"):
        assert h in allowed
    assert "x-pyro-correlation-id" in headers["Access-Control-Expose-Headers"].lower()


def test_cors_origin_setting(gateway):
    gateway.server.get_app().cors = "http://my.site.example"
    status, headers, _ = gateway.get(API + "http.thing/value")
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "http://my.site.example"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_http_methods_are_405(gateway, method):
    status, headers, _ = gateway.request(method, API + "http.thing/value")
    assert status == 405
    assert "GET" in headers["Allow"]


# ---------------------------------------------------------------------------------------------- gateway key

@pytest.fixture
def keyed(gateway):
    gateway.server.get_app().gateway_key = "s3cret-κey"
    return gateway


def test_gateway_key_missing_or_wrong_is_403(keyed):
    assert keyed.get(API + "http.thing/value")[0] == 403
    status, _, body = keyed.get(API + "http.thing/value", headers={"X-Pyro-Gateway-Key": "wrong"})
    assert status == 403 and b"gateway" in body
    assert keyed.get(API + "http.thing/value?$key=wrong")[0] == 403
    assert keyed.get(API + "http.thing/value?$key=")[0] == 403


def test_gateway_key_in_header(keyed):
    status, _, body = keyed.get(API + "http.thing/value",
                                headers={"X-Pyro-Gateway-Key": "s3cret-κey".encode("utf-8").decode("latin-1")})
    assert status == 200 and _json(body) == 42


def test_gateway_key_as_parameter_is_not_passed_to_the_method(keyed):
    status, _, body = keyed.get(API + "test.echoserver/echo?message=hi&%24key=" + quote("s3cret-κey"))
    assert status == 200 and _json(body) == "hi"


def test_gateway_key_in_post_form(keyed):
    status, _, body = keyed.request("POST", API + "http.thing/add", body="a=1&b=2&%24key=" + quote("s3cret-κey"),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and _json(body) == "12"


def test_gateway_key_protects_the_page_too(keyed):
    assert keyed.get("/")[0] == 403
    status, _, body = keyed.get("/?%24key=" + quote("s3cret-κey"))
    assert status == 200 and b"http.thing" in body


def test_gateway_key_compared_in_constant_time(monkeypatch, keyed):
    import hmac

    from Pyro5.utils import httpgateway
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(httpgateway.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    keyed.get(API + "http.thing/value", headers={"X-Pyro-Gateway-Key": "nope"})
    assert calls


# ---------------------------------------------------------------------------------------------- bad input

def test_invalid_json_body_is_400(gateway):
    status, _, body = gateway.request("POST", API + "http.thing/add", body="{not json",
                                      headers={"Content-Type": "application/json"})
    assert status == 400 and b"JSON" in body
    status, _, _ = gateway.request("POST", API + "http.thing/add", body="[1,2]",
                                   headers={"Content-Type": "application/json"})
    assert status == 400


def test_unsupported_body_type_is_415(gateway):
    status, _, _ = gateway.request("POST", API + "http.thing/add", body=b"\x00\x01",
                                   headers={"Content-Type": "application/octet-stream"})
    assert status == 415


def test_oversized_body_is_413_without_reading_it(gateway):
    conn = socket.create_connection((gateway.host, gateway.port), timeout=10)
    with conn:
        conn.sendall(b"POST /pyro/http.thing/add HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 999999999999\r\n\r\na=1")
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.0 413")


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_bad_content_length_is_400(gateway, length):
    conn = socket.create_connection((gateway.host, gateway.port), timeout=10)
    with conn:
        conn.sendall(b"POST /pyro/http.thing/add HTTP/1.0\r\nContent-Length: " + length.encode() + b"\r\n\r\n")
        data = conn.makefile("rb").read()
    assert data.startswith(b"HTTP/1.0 400")


def test_invalid_utf8_in_query_is_400(gateway):
    status, _, _ = gateway.get(API + "test.echoserver/echo?message=%ff%fe")
    assert status == 400


def test_invalid_utf8_in_path_is_handled(gateway):
    status, _, _ = gateway.get("/pyro/http.%ff/echo")
    assert status in (400, 404)


def test_garbage_on_the_socket_does_not_stop_the_gateway(gateway):
    for garbage in (b"\x00\x01\x02garbage\r\n\r\n", b"GET\r\n\r\n", b"G" * 70000 + b"\r\n\r\n"):
        conn = socket.create_connection((gateway.host, gateway.port), timeout=10)
        with conn:
            conn.sendall(garbage)
            try:
                conn.recv(1024)
            except OSError:
                pass
    assert gateway.get(API + "test.echoserver/echo?message=still%20alive")[2] == b'"still alive"'


def test_name_server_down_gives_500_and_gateway_recovers(gateway, backend):
    app = gateway.server.get_app()
    from Pyro5 import socketutil
    with socket.socket() as s:
        port = socketutil.bind_unused_port(s, "127.0.0.1")
        app.ns_port = port   # nothing listens here
        status, _, body = gateway.get(API + "http.thing/value")
    assert status == 500
    assert _json(body)["__class__"].startswith("Pyro5.errors.")
    app.ns_port = backend.ns_uri.port
    assert gateway.get(API + "http.thing/value")[0] == 200


def test_call_timeout(gateway):
    gateway.server.get_app().comm_timeout = 0.3
    status, _, body = gateway.get(API + "http.thing/sleep?seconds=3")
    assert status == 500
    assert _json(body)["__class__"] == "Pyro5.errors.TimeoutError"


def test_many_concurrent_requests(gateway):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: gateway.get(API + "test.echoserver/echo?message=%d" % i), range(40)))
    assert [(r[0], _json(r[2])) for r in results] == [(200, str(i)) for i in range(40)]


# ---------------------------------------------------------------------------------------------- web page

@pytest.mark.parametrize("path", ["/", "/pyro/", "/pyro"])
def test_web_page_lists_exposed_objects(gateway, path):
    status, headers, body = gateway.get(path)
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = body.decode("utf-8")
    assert "http.thing" in page and "test.echoserver" in page and "Pyro.NameServer" in page
    assert "secret.thing" not in page
    assert 'data-method="echo"' in page and 'data-method="$meta"' in page
    assert 'data-api-base="/pyro/"' in page
    assert "<b>weird</b>" not in page and "&lt;b&gt;weird&lt;/b&gt;" in page
    assert "https://" not in page and "http://pyro5" not in page   # no external resources


def test_web_page_when_name_server_is_down(gateway):
    from Pyro5 import socketutil
    with socket.socket() as s:
        gateway.server.get_app().ns_port = socketutil.bind_unused_port(s, "127.0.0.1")
        status, _, body = gateway.get("/")
    assert status == 200
    assert b"cannot" in body


def test_web_page_example_urls_work(gateway):
    """Every example on the page, called the way the page's javascript calls it, gives a JSON response."""
    import html
    import re
    from urllib.parse import urlencode
    page = gateway.get("/")[2].decode("utf-8")
    examples = re.findall(r'<a href="#" class="pyro-call" data-name="([^"]*)" data-method="([^"]*)" '
                          r'data-result="example-\d+" data-autorun="1"(?: data-params="([^"]*)")?>', page)
    assert len(examples) >= 8
    statuses = {}
    for name, method, params in examples:
        name, method = html.unescape(name), html.unescape(method)
        url = API + quote(name, safe="") + "/" + quote(method, safe="")
        if params:
            url += "?" + urlencode(json.loads(html.unescape(params)))
        status, _, body = gateway.get(url)
        json.loads(body)
        statuses[(name, method)] = status
    assert statuses[("test.echoserver", "echo")] == 200
    assert statuses[("test.echoserver", "error")] == 500
    assert statuses[("Pyro.NameServer", "list")] == 200


# ---------------------------------------------------------------------------------------------- WSGI compliance

def test_pyro_app_is_a_compliant_wsgi_app(gateway):
    """pyro_app under wsgiref.validate (raises inside the server on any WSGI violation -> not a 2xx/4xx answer)."""
    import threading
    from wsgiref.validate import validator

    from Pyro5.utils import httpgateway
    srv = httpgateway.make_server("127.0.0.1", 0, app=validator(httpgateway.pyro_app), quiet=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    try:
        checked = type(gateway)("127.0.0.1", srv.server_address[1], srv)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert checked.get(API + "test.echoserver/echo?message=x")[0] == 200
        assert checked.get(API + "test.echoserver/error")[0] == 500
        assert checked.get(API + "secret.thing/value")[0] == 403
        assert checked.get(API + "http.nothing/value")[0] == 404
        assert checked.get("/")[0] == 200
        assert checked.request("OPTIONS", API + "http.thing/value")[0] == 200
        assert checked.request("PUT", API + "http.thing/value")[0] == 405
        assert checked.request("POST", API + "http.thing/add", body="a=1&b=2", headers=form)[0] == 200
        assert checked.get(API + "http.thing/fire?token=v")[0] == 200
        httpgateway.pyro_app.gateway_key = "k"
        assert checked.request("POST", API + "http.thing/add", body="a=1&b=2&%24key=k", headers=form)[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(10)
