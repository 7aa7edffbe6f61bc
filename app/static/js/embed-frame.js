/*
 * Runs inside the widget iframe (/embed/<slug>): tells the embedding page how tall the widget is,
 * whenever that changes (live updates included), so /embed.js can size the iframe. The message
 * carries only a height, so it may go to any parent origin; the parent checks where it came from.
 */
(function () {
  "use strict";
  if (window.parent === window) {
    return;
  }
  var last = 0;
  function report() {
    var frame = document.getElementById("widget-frame") || document.body;
    var height = Math.ceil(frame.getBoundingClientRect().height);
    if (height && height !== last) {
      last = height;
      window.parent.postMessage({ type: "deltacrown:resize", height: height }, "*");
    }
  }
  function start() {
    report();
    if (window.ResizeObserver) {
      new ResizeObserver(report).observe(document.getElementById("widget-frame") || document.body);
    }
    document.addEventListener("htmx:afterSettle", report);
    window.addEventListener("resize", report);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
