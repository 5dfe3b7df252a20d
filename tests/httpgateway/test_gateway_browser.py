"""The gateway's web page in headless Chromium: its example calls run (javascript fetch) and show their results."""
from __future__ import annotations

import html
import os
import re
import subprocess

import pytest

CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason="headless Chromium (/usr/bin/chromium) is not installed: "
                                        "apt-get install -y chromium chromium-driver")]


def _dump_dom(url: str, profile_dir: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + profile_dir, "--virtual-time-budget=8000", "--dump-dom", url]
    proc = subprocess.run(cmd, capture_output=True, timeout=90, env={**os.environ, "HOME": profile_dir})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout.decode("utf-8")


def _results(dom: str) -> dict[str, tuple[str, str]]:
    """example link text -> (status attribute, result text) from the dumped DOM."""
    found = {}
    for m in re.finditer(r'<a href="#" class="pyro-call"[^>]*data-result="(example-\d+)"[^>]*>(.*?)</a>', dom, re.S):
        ident, text = m.group(1), html.unescape(m.group(2))
        pre = re.search(r'<pre class="example-result[^"]*" id="%s"(?: data-status="(\d+)")?>(.*?)</pre>' % ident,
                        dom, re.S)
        assert pre, "no result element for " + ident
        found[text] = (pre.group(1) or "", html.unescape(pre.group(2)))
    return found


def test_page_examples_run_in_the_browser(gateway, tmp_path):
    dom = _dump_dom("http://%s:%d/" % (gateway.host, gateway.port), str(tmp_path))
    assert 'data-examples-done="1"' in dom, "the page's example calls did not finish"
    results = _results(dom)
    echo = results["test.echoserver/echo?message=Hi there, browser script!"]
    assert echo == ("200", '200: "Hi there, browser script!"')
    status, text = results["test.echoserver/error"]
    assert status == "500" and "SERVER ERROR 500" in text and "builtins.ValueError" in text
    status, text = results["test.echoserver/generator"]
    assert status == "200" and '"one"' in text and '"three"' in text
    assert results["test.echoserver/verbose"] == ("200", "200: false")
    status, text = results["Pyro.NameServer/list"]
    assert status == "200" and '"http.thing"' in text
    status, text = results["Pyro.NameServer/lookup?name=Pyro.NameServer"]
    assert status == "200" and "Pyro5.core.URI" in text
    status, text = results["http.thing/$meta"]
    assert status == "200" and '"add"' in text and '"value"' in text
    for name, (status, text) in results.items():
        assert status, "example %s did not run: %r" % (name, text)


def test_page_with_gateway_key_passes_the_key_on(gateway, tmp_path):
    gateway.server.get_app().gateway_key = "browser-key"
    dom = _dump_dom("http://%s:%d/pyro/?$key=browser-key" % (gateway.host, gateway.port), str(tmp_path))
    assert 'data-examples-done="1"' in dom
    results = _results(dom)
    assert results["test.echoserver/echo?message=Hi there, browser script!"][0] == "200"
