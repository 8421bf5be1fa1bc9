// Refreshes the page in place and shows bar tooltips; without JavaScript
// the page reloads itself (<noscript> refresh) and bars keep their titles.
(function () {
  "use strict";
  var main = document.getElementById("page");
  var tip = document.getElementById("tip");
  if (!main) { return; }
  var every = (parseInt(main.getAttribute("data-refresh"), 10) || 30) * 1000;
  var path = location.pathname + "?partial=1";

  function refresh() {
    fetch(path, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    }).then(function (html) {
      var open = {};
      main.querySelectorAll("details").forEach(function (d, i) { open[i] = d.open; });
      main.innerHTML = html;
      main.querySelectorAll("details").forEach(function (d, i) { if (i in open) { d.open = open[i]; } });
      main.removeAttribute("data-stale");
    }).catch(function () {
      main.setAttribute("data-stale", "1");
      var u = document.getElementById("updated");
      if (u && u.textContent.indexOf("(offline)") < 0) { u.textContent += " (offline)"; }
    }).then(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);

  function dayText(svg, x) {
    var n = parseInt(main.getAttribute("data-n"), 10) || 90;
    var r = svg.getBoundingClientRect();
    var i = Math.min(n - 1, Math.max(0, Math.floor((x - r.left) / r.width * n)));
    var rects = svg.querySelectorAll("rect");
    for (var k = rects.length - 1; k >= 0; k--) {
      if (rects[k].classList.contains("gap")) { continue; }
      var rx = parseFloat(rects[k].getAttribute("x") || "0");
      var rw = parseFloat(rects[k].getAttribute("width") || "1");
      if (i >= rx && i < rx + rw) {
        var t = rects[k].querySelector("title");
        if (t) { return t.textContent; }
        break;
      }
    }
    // The first day comes with each refresh (in the part swapped in), so
    // that a page left open across midnight dates its bars anew.
    var first = main.querySelector("[data-first]");
    var d = new Date((first ? first.getAttribute("data-first") : "") + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + i);
    return d.toISOString().slice(0, 10) + " 100.000%";
  }
  function show(e) {
    var svg = e.target.closest && e.target.closest("svg.bars");
    if (!svg) { tip.hidden = true; return; }
    var x = e.touches ? e.touches[0].clientX : e.clientX;
    var y = e.touches ? e.touches[0].clientY : e.clientY;
    tip.textContent = dayText(svg, x);
    tip.hidden = false;
    var w = tip.offsetWidth;
    tip.style.left = Math.max(4, Math.min(window.scrollX + x - w / 2, window.scrollX + document.documentElement.clientWidth - w - 4)) + "px";
    tip.style.top = (window.scrollY + y + 16) + "px";
  }
  document.addEventListener("mousemove", show);
  document.addEventListener("click", show);
  document.addEventListener("touchstart", show, { passive: true });
})();
