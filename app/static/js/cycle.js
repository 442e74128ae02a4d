// Cycle page: while a compute runs, poll its progress (stage, done / total) and, when it ends, open
// the page again marked "computed" (or showing the error the compute left).
(function () {
  "use strict";
  var box = document.getElementById("jx-progress");
  if (!box || box.getAttribute("data-running") !== "true") { return; }
  var bar = box.querySelector(".progress-bar");
  var stage = box.querySelector(".jx-stage");
  var count = box.querySelector(".jx-count");
  var widths = { rules: 5, metrics: 25, appraise: 90, write: 98 };
  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (!p.running) { window.location.replace(box.getAttribute("data-done-url")); return; }
        var pct = widths[p.stage] || 0;
        if (p.stage === "appraise" && p.total) { pct = 25 + Math.round(65 * p.done / p.total); }
        bar.style.width = pct + "%";
        box.setAttribute("data-stage", p.stage || "");
        stage.textContent = box.getAttribute("data-stage-" + p.stage) || stage.textContent;
        count.textContent = p.total > 1 ? p.done + " / " + p.total : "";
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  box.hidden = false;
  poll();
})();
