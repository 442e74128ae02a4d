// Background jobs' progress bars (templates/jobs/_progress.html): while a job is queued, running or
// retrying, ask GET /api/v1/job/<id> every second (every 5 s once a minute has passed, or when the page
// shows many bars) and update its bar; when it ends show its sentence and download link, then reload the
// page (data-reload) or go to data-done-url. Texts go in with textContent only.
(function () {
  "use strict";
  if (window.jxJobs) { return; }  // loaded twice: the first copy polls
  window.jxJobs = true;

  var UNFINISHED = { queued: true, running: true, retrying: true };
  var BAR = {
    queued: "progress-bar-info progress-bar-striped", running: "progress-bar-striped active",
    retrying: "progress-bar-warning progress-bar-striped active", done: "progress-bar-success",
    failed: "progress-bar-danger"
  };
  var BADGE = { queued: "label-info", running: "label-primary", retrying: "label-warning",
                done: "label-success", failed: "label-danger" };
  var FAST = 1000, SLOW = 5000, FAST_FOR = 60000, MANY = 5;

  function label(box, kind, name) {
    return (name && box.getAttribute("data-label-" + kind + "-" + name)) || name || "";
  }

  function show(box, job) {
    var state = job.state, progress = job.progress || {}, unfinished = UNFINISHED[state] === true;
    var percent = state === "done" ? 100 : progress.percent;
    var known = typeof percent === "number";
    box.setAttribute("data-state", state);

    var badge = box.querySelector(".jx-job-state");
    badge.className = "label " + (BADGE[state] || "label-default") + " jx-job-state";
    badge.textContent = label(box, "state", state);
    box.querySelector(".jx-job-stage").textContent = unfinished ? label(box, "stage", progress.stage) : "";
    box.querySelector(".jx-job-count").textContent =
      unfinished && progress.total ? (progress.done || 0) + " / " + progress.total : "";
    box.querySelector(".jx-job-percent").textContent = known ? percent + "%" : "";

    var bar = box.querySelector(".progress-bar");
    bar.className = "progress-bar " + (BAR[state] || "");
    bar.style.width = (known && state !== "failed" ? percent : (state === "queued" ? 0 : 100)) + "%";
    if (known) { bar.setAttribute("aria-valuenow", String(percent)); } else { bar.removeAttribute("aria-valuenow"); }

    var message = box.querySelector(".jx-job-message");
    message.textContent = job.message || "";
    message.className = "jx-job-message" + (state === "failed" ? " text-danger" : "");

    var link = box.querySelector(".jx-job-result");
    if (job.result_url) { link.setAttribute("href", job.result_url); }
    link.parentNode.hidden = !job.result_url;  // the span: Bootstrap's .btn would show a hidden link
  }

  function ended(box) {
    var refresh = box.querySelector(".jx-job-refresh");
    if (refresh) { refresh.hidden = true; }
    var doneUrl = box.getAttribute("data-done-url");
    // Only a path of this site: the attribute comes from the page, but a stray value must not leave it.
    if (doneUrl && doneUrl.charAt(0) === "/" && doneUrl.charAt(1) !== "/" && doneUrl.charAt(1) !== "\\") {
      window.location.assign(doneUrl);
    } else if (box.getAttribute("data-reload") === "true") {
      window.location.reload();
    }
  }

  function watch(box, base) {
    var url = box.getAttribute("data-job-url"), started = Date.now();
    var refresh = box.querySelector(".jx-job-refresh");
    if (refresh) { refresh.hidden = true; }  // the script keeps the bar current
    function later() {
      window.setTimeout(poll, Date.now() - started > FAST_FOR ? SLOW : base);
    }
    function giveUp() {  // signed out or no longer visible: the link looks again by hand
      if (refresh) { refresh.hidden = false; }
    }
    function poll() {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (response.status >= 400 && response.status < 500) { giveUp(); return null; }
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (job) {
          if (job === null) { return; }
          show(box, job);
          if (UNFINISHED[job.state] === true) { later(); } else { ended(box); }
        })
        .catch(function () { window.setTimeout(poll, SLOW); });
    }
    later();
  }

  function start() {
    var boxes = document.querySelectorAll(".jx-job[data-job-url]"), watched = [];
    for (var i = 0; i < boxes.length; i++) {
      if (UNFINISHED[boxes[i].getAttribute("data-state")] === true) { watched.push(boxes[i]); }
    }
    var base = watched.length > MANY ? SLOW : FAST;
    for (var j = 0; j < watched.length; j++) { watch(watched[j], base); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
