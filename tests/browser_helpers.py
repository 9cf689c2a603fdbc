"""Headless Chromium for the tests of the HTML reports: screenshots, layout probes and printing.

Debian's chromium (.ci/run installs it). Without it the tests skip, or fail when
MTK_REQUIRE_CHROMIUM is set (CI sets it, so a missing browser never passes quietly).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path
from typing import Any

import pytest


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("MTK_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
    pytest.skip("headless Chromium is not installed (apt-get install chromium)")


def _run(page: Path, *options: str) -> str:
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={page.parent / 'chromium-profile'}", *options, page.as_uri()],
        check=True, capture_output=True, text=True, timeout=180)
    return result.stdout


def screenshot(html: Path, png: Path, width: int = 1400, height: int = 6000) -> None:
    _run(html, f"--window-size={width},{height}", f"--screenshot={png}")


# Runs in a copy of the page (the reports themselves hold no script): unfolds every folded table,
# then measures what sticks out of the viewport and every SID in an expected/actual cell that the
# layout broke across lines (its text spans more than one line box).
_PROBE = r"""
<script>
(function () {
  document.querySelectorAll('input.fold').forEach(function (box) { box.checked = true; });
  var width = document.documentElement.clientWidth, wide = [], broken = [], sids = 0;
  document.querySelectorAll('body *').forEach(function (el) {
    var box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5) {
      wide.push(el.tagName + ' right=' + Math.round(box.right) + ' ' + (el.textContent || '').slice(0, 60));
    }
  });
  var pattern = /S-1-(?:\d+|\*)(?:-(?:\d+|\*))+/g;
  document.querySelectorAll('td.v').forEach(function (cell) {
    var walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT), node, match;
    while ((node = walker.nextNode())) {
      pattern.lastIndex = 0;
      while ((match = pattern.exec(node.data))) {
        var range = document.createRange(), tops = {};
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        Array.prototype.forEach.call(range.getClientRects(), function (r) { if (r.width) tops[Math.round(r.top)] = 1; });
        sids += 1;
        if (Object.keys(tops).length > 1) broken.push(match[0]);
      }
    }
  });
  var out = document.createElement('pre');
  out.id = 'mtk-probe';
  out.textContent = JSON.stringify({viewport: width, scroll_width: document.documentElement.scrollWidth,
                                    wide: wide, broken_sids: broken, sids: sids});
  document.body.appendChild(out);
})();
</script>
"""


def layout(html: Path, width: int = 1400) -> dict[str, Any]:
    """What overflows a viewport `width` px wide and which SIDs broke, for the page at `html`."""
    probe = html.with_name(html.stem + ".probe.html")
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = _run(probe, f"--window-size={width},1000", "--dump-dom")
    found = re.search(r'<pre id="mtk-probe">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the layout probe did not run"
    return json.loads(unescape(found.group(1)))


def print_pdf(html: Path, pdf: Path) -> list[str]:
    """Print the page as Chromium prints it (print stylesheet) and return each page's text."""
    from pypdf import PdfReader

    _run(html, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    return [page.extract_text() or "" for page in PdfReader(pdf).pages]


def pdf_is_landscape(pdf: Path) -> bool:
    from pypdf import PdfReader

    box = PdfReader(pdf).pages[0].mediabox
    return float(box.width) > float(box.height)
