// Cycle page: while a compute runs, poll its progress and reload the page when it is done.
(function () {
  "use strict";
  var box = document.getElementById("jx-progress");
  if (!box || box.getAttribute("data-running") !== "true") { return; }
  var bar = box.querySelector(".progress-bar");
  var count = box.querySelector(".jx-count");
  var stages = { rules: 5, metrics: 25, appraise: 90, write: 98 };
  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (!p.running) { window.location.reload(); return; }
        var pct = stages[p.stage] || 0;
        if (p.stage === "appraise" && p.total) { pct = 25 + Math.round(65 * p.done / p.total); }
        bar.style.width = pct + "%";
        count.textContent = p.total ? p.done + " / " + p.total : "";
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  box.hidden = false;
  poll();
})();
