/*
 * Site-wide script, loaded by base.html on every page (no inline script: the CSP forbids it).
 *
 * CSRF for htmx: pages rendered for a logged-in user carry
 *   <meta name="csrf-token" content="...">
 * (base.html renders it only then, so anonymous pages never touch the session or set a cookie).
 * Every htmx request (hx-post, hx-put, hx-patch, hx-delete, and gets too) gets that token in the
 * `X-CSRFToken` header, which Flask-WTF's CSRFProtect accepts. So a staff or inbox template only
 * writes e.g. `<button hx-post="{{ url_for(...) }}">` -- no hidden field, no script of its own.
 * Plain <form method="post"> (works without JS) still needs
 *   <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">.
 * A fetch() in another JS file can read the same meta: `DeltaCrown.csrfToken()`.
 *
 * Copy buttons: `<button type="button" data-copy-target="ID">Copy</button>` copies the value of the
 * element with that id (a readonly textarea/input, which works without JS as well).
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  window.DeltaCrown = window.DeltaCrown || {};
  window.DeltaCrown.csrfToken = csrfToken;

  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
    // Live blocks (app/live.py) carry the ETag of what they show in data-etag. Sending it
    // ourselves makes the browser skip its HTTP cache, so an unchanged poll comes back as a bare
    // 304, on which htmx (configured in base.html) swaps nothing.
    var etag = event.detail.elt && event.detail.elt.getAttribute && event.detail.elt.getAttribute("data-etag");
    if (etag && event.detail.verb === "get") {
      event.detail.headers["If-None-Match"] = etag;
    }
  });

  function copyFrom(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) {
      return;
    }
    var text = "value" in target ? target.value : target.textContent;
    var done = function () {
      var label = button.getAttribute("data-copied-label") || "Copied";
      var original = button.textContent;
      button.textContent = label;
      window.setTimeout(function () { button.textContent = original; }, 1500);
    };
    // A text box selects itself; any other element (a <code> secret) is selected as a range.
    var selectTarget = function () {
      if (typeof target.select === "function") {
        target.select();
      } else {
        var range = document.createRange();
        range.selectNodeContents(target);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        selectTarget();
        document.execCommand("copy");
        done();
      });
    } else {
      selectTarget();
      document.execCommand("copy");
      done();
    }
  }

  // Copy buttons are useless without JS, so they ship `hidden` and are revealed here.
  function revealCopyButtons(root) {
    var buttons = (root || document).querySelectorAll("[data-copy-target][hidden]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { revealCopyButtons(); });
  } else {
    revealCopyButtons();
  }
  document.addEventListener("htmx:afterSwap", function (event) { revealCopyButtons(event.target); });

  // A table wider than the screen scrolls inside its .table-wrap. Keyboard users must be able to
  // reach and scroll it (WCAG 2.1.1), so a wrapper that scrolls becomes a focusable region named
  // after its table's caption, and stops being one when the screen is wide enough again.
  function markScrollers() {
    var wraps = document.querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        if (!wrap.hasAttribute("tabindex")) {
          var caption = wrap.querySelector("caption");
          wrap.setAttribute("tabindex", "0");
          wrap.setAttribute("role", "region");
          var table = wrap.querySelector("table");
          var labelledBy = table && table.getAttribute("aria-labelledby");
          if (labelledBy) {
            wrap.setAttribute("aria-labelledby", labelledBy);
          } else {
            wrap.setAttribute("aria-label", (caption && caption.textContent.trim().split("\n")[0]) || "Table");
          }
          wrap.setAttribute("data-scrolls", "");
        }
      } else if (wrap.hasAttribute("data-scrolls")) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
        wrap.removeAttribute("aria-labelledby");
        wrap.removeAttribute("data-scrolls");
      }
    }
  }
  // On a phone a `table--stack` table shows each row as a card (app.css); every cell is then
  // introduced by its column's name, taken from the table head.
  function labelStackedCells() {
    var tables = document.querySelectorAll("table.table--stack");
    for (var t = 0; t < tables.length; t++) {
      var heads = tables[t].querySelectorAll("thead th");
      var names = [];
      for (var h = 0; h < heads.length; h++) {
        var span = parseInt(heads[h].getAttribute("colspan") || "1", 10);
        for (var k = 0; k < span; k++) { names.push(heads[h].textContent.replace(/\s+/g, " ").trim()); }
      }
      var rows = tables[t].querySelectorAll("tbody tr");
      for (var r = 0; r < rows.length; r++) {
        var column = 0;
        for (var c = 0; c < rows[r].children.length; c++) {
          var cell = rows[r].children[c];
          if (cell.tagName === "TD" && !cell.hasAttribute("data-label") && names[column] &&
              !cell.hasAttribute("colspan")) {
            cell.setAttribute("data-label", names[column]);
          }
          column += parseInt(cell.getAttribute("colspan") || "1", 10);
        }
      }
    }
  }

  // A slug box with data-slug-from="ID" follows that name box while staff type the name, until
  // they type in the slug box themselves (the server makes the same slug when it is left empty).
  function slugOf(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80).replace(/-+$/, "");
  }
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.hasAttribute && target.hasAttribute("data-slug-from")) {
      if (target.value) {
        target.setAttribute("data-slug-edited", "");
      } else {
        target.removeAttribute("data-slug-edited");  // emptied: follow the name again
      }
      return;
    }
    if (!target.id) { return; }
    var slugs = document.querySelectorAll('[data-slug-from="' + target.id + '"]');
    for (var i = 0; i < slugs.length; i++) {
      if (!slugs[i].hasAttribute("data-slug-edited")) { slugs[i].value = slugOf(target.value); }
    }
  });

  var pending = false;
  function markSoon() {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(function () { pending = false; labelStackedCells(); markScrollers(); });
    }
  }
  function arrangeTables() { labelStackedCells(); markScrollers(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", arrangeTables);
  } else {
    arrangeTables();
  }
  document.addEventListener("htmx:afterSettle", markSoon);
  window.addEventListener("resize", markSoon);

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (button) {
      event.preventDefault();
      copyFrom(button);
    }
  });
})();
