/* The rules editor's formula fields: live check, error underline, did-you-mean, autocomplete
 * and palette, row add/remove, the preview on real data (whose values show under each formula of the
 * indicator form as HR types), and the cookbook's one-click examples. No framework; text goes into the page
 * only through textContent, never as HTML. The server's check API: POST /api/v1/formula/check. */
(function () {
  "use strict";

  var CHECK_URL = "/api/v1/formula/check";
  var CATALOGUE_URL = "/api/v1/formula/catalogue";
  var DEBOUNCE_MS = 350;
  var root = document.querySelector("[data-locale]");
  var english = ((root && root.getAttribute("data-locale")) || document.documentElement.lang || "").indexOf("en") === 0;
  var T = english
    ? { ok: "OK", value: "value", na: "N/A (no data in the period)", at: " (at character ", atEnd: ")",
        mean: "Replace with:", vars: "Variables", funcs: "Functions", rule: "In this formula",
        station: "Station-wide", failed: "The check could not run", preview: "Preview failed",
        computing: "computing…", lowest: "lowest", median: "median", highest: "highest", colon: ": ",
        people: function (n, m) { return n + " people, " + m + " with a value"; },
        failing: function (n) { return n + (n === 1 ? " person's" : " people's") + " formula failed: "; } }
    : { ok: "正确", value: "值", na: "N/A（本期无数据）", at: "（位置：第 ", atEnd: " 个字符）", mean: "点击替换为：",
        vars: "变量", funcs: "函数", rule: "本公式可用", station: "全站指标",
        failed: "无法检查公式", preview: "预览失败",
        computing: "计算中…", lowest: "最低", median: "中位", highest: "最高", colon: "：",
        people: function (n, m) { return "共 " + n + " 人，" + m + " 人有值"; },
        failing: function (n) { return n + " 人的公式出错："; } };
  var PREVIEW_FIELDS = ["value", "target", "score"];
  var FUNCTION_GROUPS = english
    ? { logic: "Logic", math: "Maths", lookup: "Lookup", data: "Tags" }
    : { logic: "逻辑", math: "数学", lookup: "分段取值", data: "工单标签" };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data }; });
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function show(value) {
    if (value === null || value === undefined) { return T.na; }
    if (typeof value === "number") { return String(Math.round(value * 100) / 100); }
    return String(value);
  }

  /* An error's code (UNKNOWN_NAME, 404…) as a small mark after its sentence: for whoever reports it. */
  function codeMark(code) {
    return el("small", "text-muted jx-code", code);
  }

  /* ---------------------------------------------------------------- catalogue and palette */

  var catalogue = null;
  var entries = [];        // {insert, label, detail, search}
  var lastFocused = null;

  function loadCatalogue() {
    return fetch(CATALOGUE_URL, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        catalogue = data;
        entries = [];
        (data.rule_names || []).concat(data.variables || []).forEach(function (v) {
          entries.push({ insert: v.zh || v.code, code: v.code, label: (v.zh || v.code) + "  " + v.code,
                         detail: v.description || "", kind: "var", group: v.category || "",
                         station: v.code.indexOf("station_") === 0, rule: v.category === "rule",
                         search: (v.code + " " + (v.zh || "") + " " + (v.en || "")).toLowerCase() });
        });
        (data.functions || []).forEach(function (f) {
          entries.push({ insert: f.name + "(", code: f.name, label: f.signature, detail: f.description || "",
                         kind: "func", group: f.category || "",
                         search: (f.name + " " + (f.zh || "") + " " + (f.en || "")).toLowerCase() });
        });
        document.querySelectorAll("[data-palette]").forEach(renderPalette);
      });
  }

  function renderPalette(panel) {
    var body = panel.querySelector(".jx-palette-body");
    var search = panel.querySelector(".jx-palette-search");
    function draw() {
      var q = (search && search.value || "").trim().toLowerCase();
      body.textContent = "";
      var groups = {};
      var order = [];
      var allowed = lastFocused ? extraNames(lastFocused) : null;
      entries.forEach(function (e) {
        if (q && e.search.indexOf(q) < 0) { return; }
        if (e.rule && (!allowed || allowed.indexOf(e.code) < 0)) { return; }  // e.g. total in a value formula
        var title = e.kind === "func" ? T.funcs + " · " + (FUNCTION_GROUPS[e.group] || e.group)
          : e.rule ? T.rule : (e.station ? T.station + " · " : T.vars + " · ") + e.group;
        if (!groups[title]) { groups[title] = []; order.push(title); }
        groups[title].push(e);
      });
      order.forEach(function (title) {
        var section = el("div", "jx-palette-group");
        section.appendChild(el("h5", null, title));
        groups[title].forEach(function (e) {
          var item = el("button", "btn btn-xs btn-default jx-palette-item", e.kind === "func" ? e.code : e.insert);
          item.type = "button";
          item.title = e.label + " — " + e.detail;
          item.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
          item.addEventListener("click", function () {
            if (lastFocused && !lastFocused.readOnly) { insertAtCaret(lastFocused, e.insert); }
          });
          section.appendChild(item);
        });
        body.appendChild(section);
      });
    }
    if (search) { search.addEventListener("input", draw); }
    panel._jxDraw = draw;
    draw();
  }

  function insertAtCaret(input, text) {
    var start = input.selectionStart, end = input.selectionEnd;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.selectionStart = input.selectionEnd = start + text.length;
    input.focus();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /* ---------------------------------------------------------------- live check */

  function extraNames(input) {
    try { return JSON.parse(input.getAttribute("data-names") || "[]"); } catch (e) { return []; }
  }

  function renderFeedback(input, result) {
    var box = input.parentNode.querySelector(".jx-formula-feedback");
    if (!box) { return; }
    box.textContent = "";
    box.className = "jx-formula-feedback";
    if (!result) { return; }
    if (result.ok) {
      var ok = el("span", "jx-ok text-success", "✓ " + T.ok);
      box.appendChild(ok);
      // The check runs without data: its value and explanation mean something only for a formula of
      // constants. The indicator form's fields show the preview's values on real data instead.
      var known = result.value !== null && result.value !== undefined;
      if (liveField(input)) {
        box.appendChild(el("span", "jx-live"));
        fillLive(input);
      } else if (known) {
        ok.appendChild(document.createTextNode(" · " + T.value + " " + show(result.value)));
      }
      var plainNumber = /^\s*-?\d+(\.\d+)?\s*$/.test(input.value);
      if (result.explanation && known && !plainNumber) {
        box.appendChild(el("div", "jx-explain text-muted", result.explanation));
      }
      // What saving would warn about (e.g. a weight reading a personal metric), in the same words.
      (result.warnings || []).forEach(function (w) {
        var line = el("div", "jx-warn text-warning", w.message);
        if (w.code) { line.appendChild(codeMark(w.code)); }
        box.appendChild(line);
      });
      input.parentNode.classList.remove("has-error");
      return;
    }
    var error = result.error || {};
    input.parentNode.classList.add("has-error");
    box.classList.add("text-danger");
    var text = input.value;
    if (typeof error.position === "number" && error.position >= 0 && error.position <= text.length) {
      var pos = error.position;
      var match = /^[A-Za-z_\u3400-\u9fff][\w\u3400-\u9fff]*/.exec(text.slice(pos));
      var len = match ? match[0].length : 1;
      var code = el("code", "jx-err-text");
      code.setAttribute("data-position", String(pos));
      code.appendChild(document.createTextNode(text.slice(0, pos)));
      code.appendChild(el("mark", "jx-err-at", text.slice(pos, pos + len) || " "));
      code.appendChild(document.createTextNode(text.slice(pos + len)));
      box.appendChild(code);
    }
    var line = el("div", "jx-err-message");
    line.appendChild(document.createTextNode(error.message || ""));
    if (typeof error.position === "number" && error.position >= 0) {
      line.appendChild(el("span", "jx-err-where", T.at + (error.position + 1) + T.atEnd));
    }
    if (error.code) { line.appendChild(codeMark(error.code)); }
    box.appendChild(line);
    if (error.suggestions && error.suggestions.length && typeof error.position === "number") {
      var hint = el("div", "jx-suggest", T.mean + " ");
      error.suggestions.forEach(function (s) {
        var b = el("button", "btn btn-xs btn-default jx-suggest-fix", s);
        b.type = "button";
        b.addEventListener("click", function () {
          var m = /^[A-Za-z_\u3400-\u9fff][\w\u3400-\u9fff]*/.exec(input.value.slice(error.position));
          var n = m ? m[0].length : 0;
          input.value = input.value.slice(0, error.position) + s + input.value.slice(error.position + n);
          input.dispatchEvent(new Event("input", { bubbles: true }));
        });
        hint.appendChild(b);
      });
      box.appendChild(hint);
    }
  }

  function check(input) {
    var expression = input.value;
    if (!expression.trim()) { renderFeedback(input, null); return; }
    var variables = {};
    extraNames(input).forEach(function (n) { variables[n] = null; });
    var seq = (input._jxSeq || 0) + 1;
    input._jxSeq = seq;
    // The role (weight, score …): the server then checks the formula as saving it there would.
    var body = { expression: expression, variables: variables };
    if (input.getAttribute("data-role")) { body.role = input.getAttribute("data-role"); }
    postJSON(CHECK_URL, body)
      .then(function (res) {
        if (input._jxSeq !== seq) { return; }  // an older answer arriving late
        if (res.status !== 200) {
          renderFeedback(input, { ok: false, error: { code: res.status, message: (res.data && res.data.message) || T.failed } });
          return;
        }
        renderFeedback(input, res.data);
        if (res.data.ok && liveField(input)) { schedulePreview(); }
      })
      .catch(function () { renderFeedback(input, { ok: false, error: { code: "", message: T.failed } }); });
  }

  /* ---------------------------------------------------------------- autocomplete */

  var menu = null;
  var menuItems = [];
  var menuIndex = 0;
  var menuInput = null;

  function tokenBeforeCaret(input) {
    var before = input.value.slice(0, input.selectionStart);
    var m = /[A-Za-z_\u3400-\u9fff][\w\u3400-\u9fff]*$/.exec(before);
    return m ? { text: m[0], start: before.length - m[0].length } : null;
  }

  function closeMenu() {
    if (menu) { menu.remove(); }
    menu = null; menuItems = []; menuInput = null;
  }

  function openMenu(input) {
    var token = tokenBeforeCaret(input);
    if (!token || !entries.length) { closeMenu(); return; }
    var q = token.text.toLowerCase();
    var found = entries.filter(function (e) { return e.search.indexOf(q) >= 0; });
    extraNames(input).forEach(function (n) {
      if (n.toLowerCase().indexOf(q) >= 0 && !found.some(function (e) { return e.code === n; })) {
        found.unshift({ insert: n, code: n, label: n, detail: "", kind: "var" });
      }
    });
    found = found.slice(0, 8);
    if (!found.length || (found.length === 1 && found[0].insert === token.text)) { closeMenu(); return; }
    closeMenu();
    menu = el("ul", "dropdown-menu jx-autocomplete");
    menu.style.display = "block";
    found.forEach(function (e, i) {
      var li = el("li", i === 0 ? "active" : "");
      var a = el("a", null, e.label);
      a.href = "#";
      if (e.detail) { a.appendChild(el("small", "text-muted", "  " + e.detail)); }
      a.addEventListener("mousedown", function (ev) { ev.preventDefault(); accept(i); });
      li.appendChild(a);
      menu.appendChild(li);
    });
    menuItems = found; menuIndex = 0; menuInput = input;
    input.parentNode.style.position = "relative";
    input.parentNode.appendChild(menu);
  }

  function accept(i) {
    var input = menuInput, e = menuItems[i];
    var token = tokenBeforeCaret(input);
    if (!token) { closeMenu(); return; }
    var typedChinese = /[\u3400-\u9fff]/.test(token.text);
    var text = e.kind === "func" ? e.insert : (typedChinese || !e.code ? e.insert : e.code);
    input.selectionStart = token.start;
    closeMenu();
    insertAtCaret(input, text);
  }

  function onKey(ev) {
    if (!menu || menuInput !== ev.target) { return; }
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      menu.children[menuIndex].className = "";
      menuIndex = (menuIndex + (ev.key === "ArrowDown" ? 1 : menuItems.length - 1)) % menuItems.length;
      menu.children[menuIndex].className = "active";
    } else if (ev.key === "Enter" || ev.key === "Tab") {
      ev.preventDefault();
      accept(menuIndex);
    } else if (ev.key === "Escape") {
      closeMenu();
    }
  }

  /* ---------------------------------------------------------------- wiring */

  function bind(input) {
    if (input._jxBound) { return; }
    input._jxBound = true;
    var timer = null;
    input.addEventListener("focus", function () {
      if (lastFocused === input) { return; }
      var before = lastFocused ? lastFocused.getAttribute("data-role") : null;
      lastFocused = input;
      if (before !== input.getAttribute("data-role")) {  // the names this formula may use differ
        document.querySelectorAll("[data-palette]").forEach(function (p) { if (p._jxDraw) { p._jxDraw(); } });
      }
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { check(input); }, DEBOUNCE_MS);
      if (!input.readOnly && document.activeElement === input) { openMenu(input); }
    });
    input.addEventListener("keydown", onKey);
    input.addEventListener("blur", function () { setTimeout(closeMenu, 150); });
    if (input.value.trim()) { check(input); }
  }

  function addRow(tableId) {
    var table = document.getElementById(tableId);
    if (!table) { return; }
    var rows = table.tBodies[0].rows;
    var template = rows[rows.length - 1];
    var copy = template.cloneNode(true);
    copy.classList.remove("danger");
    copy.querySelectorAll("input, textarea").forEach(function (f) { f.value = ""; f._jxBound = false; });
    copy.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
    copy.querySelectorAll(".jx-formula-feedback, .help-block").forEach(function (n) { n.textContent = ""; });
    copy.querySelectorAll("[id]").forEach(function (n) { n.id = n.id + "-" + Date.now(); });
    template.parentNode.appendChild(copy);
    copy.querySelectorAll(".jx-formula-input").forEach(bind);
  }

  /* ---------------------------------------------------------------- preview and live values */

  var previewPanel = null;  // the indicator form's preview panel
  var previewTimer = null;
  var previewSeq = 0;
  var lastPreview = null;   // the last answer, with .subject; {failed: true} when it could not run

  function liveField(input) {
    return previewPanel && input.form && input.form.id === "indicator-form"
      && PREVIEW_FIELDS.indexOf(input.name) >= 0 ? input.name : null;
  }

  function liveInputs() {
    var form = document.getElementById("indicator-form");
    return form ? PREVIEW_FIELDS.map(function (n) { return form.querySelector('[name="' + n + '"]'); })
      .filter(Boolean) : [];
  }

  function spreadText(s) {
    return T.lowest + " " + s.min + " · " + T.median + " " + s.median + " · " + T.highest + " " + s.max;
  }

  /* The field's value on the chosen employee or station, after "✓ 正确". */
  function fillLive(input) {
    var box = input.parentNode.querySelector(".jx-formula-feedback");
    var live = box && box.querySelector(".jx-live");
    if (!live) { return; }
    live.textContent = "";
    live.className = "jx-live";
    var d = lastPreview;
    if (!d) { live.appendChild(el("span", "text-muted", " · " + T.computing)); return; }
    if (d.failed) { return; }
    var field = input.name;
    var s = d.shown && d.shown[field];
    var text = s === null || s === undefined ? T.na : (typeof s === "string" ? s : spreadText(s));
    live.appendChild(document.createTextNode(" · " + d.subject + T.colon));
    live.appendChild(el("strong", "jx-live-value", text));
    if (d.error && d.error.field === field) {
      var warn = el("span", "jx-live-error text-warning",
        " · " + (d.station ? T.failing(d.errors) : "") + d.error.message);
      warn.appendChild(codeMark(d.error.code));
      live.appendChild(warn);
    }
  }

  function schedulePreview() {
    if (!previewPanel) { return; }
    clearTimeout(previewTimer);
    liveInputs().forEach(function (i) {
      var live = i.parentNode.querySelector(".jx-live");
      if (live) { live.classList.add("jx-stale"); }
    });
    previewTimer = setTimeout(function () { preview(previewPanel); }, DEBOUNCE_MS);
  }

  function renderPreview(panel, d) {
    var out = panel.querySelector(".jx-preview-result");
    var err = panel.querySelector(".jx-preview-error");
    var spread = !!d.station;
    out.hidden = false;
    out.querySelector('[data-out="subject"]').textContent = d.subject;
    out.querySelector('[data-out="count"]').textContent = spread ? T.people(d.headcount, d.counts.value) : "";
    out.querySelectorAll("[data-spread]").forEach(function (h) { h.hidden = !spread; });
    out.querySelectorAll("[data-single]").forEach(function (h) { h.hidden = spread; });
    PREVIEW_FIELDS.forEach(function (field) {
      var row = out.querySelector('[data-row="' + field + '"]');
      while (row.cells.length > 1) { row.deleteCell(1); }
      var s = d.shown && d.shown[field];
      var cells = !spread ? [typeof s === "string" ? s : "N/A"]
        : s ? [s.min, s.median, s.max] : ["N/A", "N/A", "N/A"];
      cells.forEach(function (text) {
        var td = el("td", "text-right", text);
        td.setAttribute("data-out", field);
        row.appendChild(td);
      });
    });
    var explain = out.querySelector('[data-out="explain"]');
    explain.textContent = d.explain || "";
    explain.hidden = !d.explain;
    err.hidden = !d.error;
    err.textContent = "";
    if (d.error) {
      err.appendChild(document.createTextNode((spread ? T.failing(d.errors) : "") + d.error.message));
      err.appendChild(codeMark(d.error.code));
    }
  }

  function preview(panel) {
    var form = document.getElementById("indicator-form");
    var out = panel.querySelector(".jx-preview-result");
    var err = panel.querySelector(".jx-preview-error");
    var field = function (name) { var f = form.querySelector('[name="' + name + '"]'); return f ? f.value : ""; };
    var subject = panel.querySelector("#preview-subject");
    var chosen = (subject.value || "").split(":");
    var body = {
      start: panel.querySelector("#preview-start").value, end: panel.querySelector("#preview-end").value,
      code: field("code"), name: field("name"), category: field("category"), kind: field("kind"),
      value: field("value"), unit: field("unit"), target: field("target"), score: field("score")
    };
    body[chosen[0] === "station" ? "station_id" : "employee_id"] = Number(chosen[1]);
    var label = subject.selectedIndex >= 0 ? subject.options[subject.selectedIndex].text : "";
    var seq = ++previewSeq;
    var failed = function (message, code) {
      lastPreview = { failed: true };
      out.hidden = true; err.hidden = false;
      err.textContent = T.preview + T.colon + message;
      if (code) { err.appendChild(codeMark(code)); }
      liveInputs().forEach(fillLive);
    };
    postJSON(panel.getAttribute("data-preview-url"), body).then(function (res) {
      if (seq !== previewSeq) { return; }  // an older answer arriving late
      if (res.status !== 200) { failed((res.data && res.data.message) || "", String(res.status)); return; }
      lastPreview = res.data;
      lastPreview.subject = label;
      renderPreview(panel, lastPreview);
      liveInputs().forEach(fillLive);
    }).catch(function () { if (seq === previewSeq) { failed(""); } });
  }

  /* ---------------------------------------------------------------- cookbook */

  function replaceText(input, text) {
    input.focus();
    input.select();
    // insertText keeps the browser's undo (Ctrl+Z brings the replaced formula back) and fires "input"
    if (!(document.execCommand && document.execCommand("insertText", false, text)) || input.value !== text) {
      input.value = text;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  function insertRecipe(button) {
    var form = document.getElementById("indicator-form");
    var input = form && form.querySelector('textarea[name="' + button.getAttribute("data-field") + '"]');
    if (!input || input.readOnly || input.disabled) { return; }
    var kind = document.getElementById("kind");
    if (input.name === "value" && kind && kind.value === "manual") {
      kind.value = "formula";
      kind.dispatchEvent(new Event("change"));
    }
    var target = button.getAttribute("data-target");
    var targetInput = form.querySelector('textarea[name="target"]');
    if (target && targetInput && !targetInput.value.trim()) { replaceText(targetInput, target); }
    replaceText(input, button.getAttribute("data-formula"));
    input.scrollIntoView({ block: "center" });
  }

  function toggleKind() {
    var kind = document.getElementById("kind");
    var valueField = document.querySelector(".jx-value-field");
    if (!kind || !valueField) { return; }
    var sync = function () { valueField.hidden = kind.value === "manual"; };
    kind.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    previewPanel = document.getElementById("indicator-form") ? document.querySelector(".jx-preview") : null;
    document.querySelectorAll(".jx-formula-input").forEach(bind);
    document.addEventListener("click", function (ev) {
      var recipe = ev.target.closest("[data-recipe]");
      if (recipe) { insertRecipe(recipe); return; }
      var add = ev.target.closest("[data-add-row]");
      if (add) { addRow(add.getAttribute("data-add-row")); return; }
      var remove = ev.target.closest("[data-remove-row]");
      if (remove) {
        var row = remove.closest("tr");
        if (row && row.parentNode.rows.length > 1) { row.remove(); }
        else if (row) { row.querySelectorAll("input, textarea").forEach(function (f) { f.value = ""; }); }
      }
    });
    document.querySelectorAll(".jx-preview").forEach(function (panel) {
      var run = panel.querySelector(".jx-preview-run");
      if (run) { run.addEventListener("click", function () { preview(panel); }); }
      panel.querySelectorAll("select, input").forEach(function (f) {
        f.addEventListener("change", schedulePreview);
      });
    });
    var unit = document.getElementById("unit");
    if (unit) { unit.addEventListener("input", schedulePreview); }
    toggleKind();
    // A button's data-confirm is asked by confirm.js, on every page.
    if (document.querySelector(".jx-formula-input, [data-palette]")) { loadCatalogue(); }
  });
})();
