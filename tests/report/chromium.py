"""Headless Chromium through Selenium, using Debian's chromium and chromedriver.

The driver path is given explicitly so Selenium Manager never downloads anything; the flags keep
Chromium from contacting anything (background networking, component updates, sync, QUIC), and each
session gets a fresh profile. Helpers to look at a page as a person would: at a given viewport
width, printed to PDF, and the layout facts the tests assert on (words split over lines, content
outside the viewport).
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AVAILABLE = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1280,1600",
]

# US Letter with the print stylesheet's 0.4 in margins: the width a page lays out at, in CSS pixels.
LETTER = {"paperWidth": 8.5, "paperHeight": 11.0}
LETTER_CONTENT_PX = round((8.5 - 2 * 0.4) * 96)


def start():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    profile = tempfile.mkdtemp(prefix="ipowner-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver._ipowner_profile = profile  # removed by stop()
    return driver


def stop(driver) -> None:  # type: ignore[no-untyped-def]
    profile = getattr(driver, "_ipowner_profile", None)
    driver.quit()
    if profile:
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["message"] for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]


def viewport(driver, width: int, height: int = 900, *, media: str = "") -> None:  # type: ignore[no-untyped-def]
    """Lay pages out at exactly ``width`` CSS pixels (a phone when narrow), for screen or print media."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})


def print_pdf(driver) -> bytes:  # type: ignore[no-untyped-def]
    """The loaded page printed as Chrome prints it (DevTools ``Page.printToPDF``), on US Letter."""
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    out = driver.execute_cdp_cmd("Page.printToPDF", {**LETTER, "printBackground": True})
    return base64.b64decode(out["data"])


# Every visible table cell's words, measured where they are drawn: a word split over two lines, or
# wider than its cell's content box, is a cell narrower than its longest word. A word is a run of
# non-space characters within one text node; a long hostname is written with <wbr> after its dots,
# so there each DNS label (with its dot) is a word and may start a line.
NARROW_CELLS_JS = """
var root = arguments[0] || document;
var bad = [];
root.querySelectorAll('td, th').forEach(function (cell) {
  if (!cell.checkVisibility()) { return; }
  var cs = getComputedStyle(cell);
  if (cs.wordBreak === 'break-all' || cs.wordBreak === 'break-word' || cs.overflowWrap === 'anywhere'
      || cs.overflowWrap === 'break-word') {
    bad.push([cell.className, cell.textContent.slice(0, 40), 'breaks words: ' + cs.wordBreak + '/' + cs.overflowWrap]);
  }
  var box = cell.getBoundingClientRect();
  var inner = box.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)
    - parseFloat(cs.borderLeftWidth) - parseFloat(cs.borderRightWidth);
  var walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  var node;
  while ((node = walker.nextNode())) {
    var re = /\\S+/g, m;
    while ((m = re.exec(node.data))) {
      var r = document.createRange();
      r.setStart(node, m.index);
      r.setEnd(node, m.index + m[0].length);
      var rects = Array.prototype.filter.call(r.getClientRects(), function (x) { return x.width > 0; });
      if (!rects.length) { continue; }
      if (rects.length > 1) { bad.push([cell.className, m[0], 'split over ' + rects.length + ' lines']); }
      else if (rects[0].width > inner + 1) { bad.push([cell.className, m[0], 'wider than its cell']); }
    }
  }
});
return bad;
"""

# Elements that reach past the viewport's right edge without being inside a scroll container (or an
# SVG, whose viewport clips its own content): what would make a phone scroll the whole page sideways.
OUTSIDE_VIEWPORT_JS = """
var w = document.documentElement.clientWidth, out = [];
function contained(e) {
  for (var a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    if (a instanceof SVGElement) { return true; }
    var o = getComputedStyle(a).overflowX;
    if (o === 'auto' || o === 'scroll' || o === 'hidden') { return true; }
  }
  return false;
}
document.querySelectorAll('body *').forEach(function (e) {
  var r = e.getBoundingClientRect();
  if (r.width > 0 && r.right > w + 1 && !contained(e)) {
    out.push(e.tagName + '.' + (e.getAttribute('class') || '') + ' ' + Math.round(r.right));
  }
});
return out;
"""
