// The verify page: send the dropped PDF (or the pasted hash) to POST /api/v1/verify and show the
// answer. All text comes from the page's data- attributes (translated on the server).
(function () {
  "use strict";
  var form = document.getElementById("jx-verify-form");
  var out = document.getElementById("jx-verify-result");
  if (!form || !out || !window.fetch || !window.FormData) { return; }  // the form still posts without us
  var drop = document.getElementById("jx-drop");
  var fileInput = document.getElementById("jx-file");
  var hashInput = document.getElementById("jx-sha256");
  var text = out.dataset;
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');

  function el(tag, cls, content) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (content !== undefined) { node.textContent = content; }
    return node;
  }

  function show(kind, title, rows) {
    out.textContent = "";
    var box = el("div", "alert alert-" + kind);
    box.appendChild(el("strong", "", title));
    if (rows && rows.length) {
      var dl = el("dl", "dl-horizontal");
      rows.forEach(function (row) {
        dl.appendChild(el("dt", "", row[0]));
        var dd = el("dd", row[2] || "");
        if (row[3]) {  // a link, to the appraisal's own page (same site)
          var link = el("a", "", row[1]);
          link.href = row[3];
          dd.appendChild(link);
        } else {
          dd.textContent = row[1];
        }
        dl.appendChild(dd);
      });
      box.appendChild(dl);
    }
    out.appendChild(box);
  }

  // The API gives ISO 8601 in the configured zone (2026-12-02T10:42:24+08:00): its wall time is what the
  // pages print (2026-12-02 10:42), as the server's local_time filter does.
  function localTime(iso) {
    var found = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso || "");
    return found ? found[1] + " " + found[2] : (iso || "");
  }

  function answer(response) {
    return response.json().then(function (body) {
      if (response.status === 200 && body.match) {
        // Who and which appraisal only come to someone whose scope includes it; others see a masked name.
        // The employee's name links to the appraisal's own page (same site) for those who may open it.
        var url = typeof body.url === "string" && /^\/[^\/]/.test(body.url) ? body.url : "";
        var rows = [];
        rows.push([text.labelEmployee, body.employee + (body.employee_no ? " (" + body.employee_no + ")" : ""),
                   "", url]);
        rows.push([text.labelCycle, body.cycle || ""]);
        rows.push([text.labelSigned, localTime(body.signed_at)]);
        rows.push([text.labelSha, body.sha256 || "", "jx-hash"]);
        show("success", text.match, rows);
      } else if (response.status === 200) {
        show("warning", text.nomatch, [[text.labelSha, body.sha256 || "", "jx-hash"]]);
      } else {
        show("danger", body.message || text.failed);
      }
    });
  }

  function send(body, headers) {
    show("info", text.checking);
    headers = headers || {};
    if (tokenMeta) { headers["X-CSRFToken"] = tokenMeta.getAttribute("content"); }
    fetch(form.dataset.api, {method: "POST", body: body, headers: headers, credentials: "same-origin"})
      .then(answer)
      .catch(function () { show("danger", text.failed); });
  }

  function sendFile(file) {
    if (file.size > Number(form.dataset.maxBytes)) { show("danger", text.tooLarge); return; }
    var data = new FormData();
    data.append("file", file, file.name);
    send(data);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (fileInput.files && fileInput.files.length) {
      sendFile(fileInput.files[0]);
    } else {
      send(JSON.stringify({sha256: hashInput.value}), {"Content-Type": "application/json"});
    }
  });
  fileInput.addEventListener("change", function () {
    if (fileInput.files && fileInput.files.length) { sendFile(fileInput.files[0]); }
  });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("jx-over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.remove("jx-over"); });
  });
  drop.addEventListener("drop", function (event) {
    var files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) { sendFile(files[0]); }
  });
})();
