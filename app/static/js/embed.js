/*
 * DeltaCrown standings widget loader, for other websites:
 *
 *   <script src="https://HOST/embed.js" data-tournament="SLUG" async></script>
 *
 * Optional attributes: data-theme="light|dark", data-limit="N", data-overlay="1".
 * Inserts an iframe showing /embed/SLUG right after the script tag; the iframe updates itself live
 * and this script keeps its height equal to its content. Height messages are accepted only from
 * that iframe's window and only from the widget's own origin.
 */
(function () {
  "use strict";
  var frames = window.__deltacrownFrames = window.__deltacrownFrames || [];

  function setUp(script) {
    if (script.getAttribute("data-deltacrown-ready")) {
      return;
    }
    script.setAttribute("data-deltacrown-ready", "1");
    var slug = script.getAttribute("data-tournament") || "";
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(slug)) {
      if (window.console) {
        window.console.error("DeltaCrown widget: data-tournament must be a tournament slug, found " + JSON.stringify(slug));
      }
      return;
    }
    var url = new URL("embed/" + slug, script.src);
    ["theme", "limit", "overlay"].forEach(function (name) {
      var value = script.getAttribute("data-" + name);
      if (value) {
        url.searchParams.set(name, value);
      }
    });
    var iframe = document.createElement("iframe");
    iframe.src = url.href;
    iframe.title = "Live standings: " + slug;
    iframe.setAttribute("scrolling", "no");
    iframe.className = "deltacrown-widget";
    iframe.style.width = "100%";
    iframe.style.border = "0";
    iframe.style.display = "block";
    iframe.style.height = "240px";
    if (script.getAttribute("data-overlay") === "1") {
      iframe.setAttribute("allowtransparency", "true");
    }
    script.parentNode.insertBefore(iframe, script.nextSibling);
    frames.push({ iframe: iframe, origin: url.origin });
  }

  if (!window.__deltacrownListening) {
    window.__deltacrownListening = true;
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (!data || data.type !== "deltacrown:resize" || typeof data.height !== "number") {
        return;
      }
      for (var i = 0; i < frames.length; i++) {
        var frame = frames[i];
        if (event.source === frame.iframe.contentWindow && event.origin === frame.origin) {
          var height = Math.max(0, Math.min(Math.ceil(data.height), 20000));
          frame.iframe.style.height = height + "px";
        }
      }
    });
  }

  if (document.currentScript && document.currentScript.getAttribute("data-tournament") !== null) {
    setUp(document.currentScript);
  }
  var scripts = document.querySelectorAll("script[data-tournament]");
  for (var i = 0; i < scripts.length; i++) {
    if (/\/embed\.js(\?|#|$)/.test(scripts[i].src)) {
      setUp(scripts[i]);
    }
  }
})();
