/* The rules editor's formula fields: live check, error underline, did-you-mean, autocomplete
 * and palette, row add/remove, and the preview on real data. No framework; text goes into the page only
 * through textContent, never as HTML. The server's check API: POST /api/v1/formula/check. */
(function () {
  "use strict";

  var CHECK_URL = "/api/v1/formula/check";
  var CATALOGUE_URL = "/api/v1/formula/catalogue";
  var DEBOUNCE_MS = 350;
  var root = document.querySelector("[data-locale]");
  var english = ((root && root.getAttribute("data-locale")) || document.documentElement.lang || "").indexOf("en") === 0;
  var T = english
    ? { ok: "OK", value: "value", na: "N/A (no data)", at: " (at character ", atEnd: ")", mean: "Replace with:",
        vars: "Variables", funcs: "Functions", rule: "In this formula", station: "Station-wide",
        failed: "The check could not run", preview: "Preview failed" }
    : { ok: "正确", value: "值", na: "N/A（无数据）", at: "（位置：第 ", atEnd: " 个字符）", mean: "点击替换为：",
        vars: "变量", funcs: "函数", rule: "本公式可用", station: "全站指标",
        failed: "无法检查公式", preview: "预览失败" };
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
    if (typeof value === "number") { return String(Math.round(value * 10000) / 10000); }
    return String(value);
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
      box.classList.add("text-success");
      box.appendChild(el("span", "jx-ok", "✓ " + T.ok + " · " + T.value + " " + show(result.value)));
      var plainNumber = /^\s*-?\d+(\.\d+)?\s*$/.test(input.value);
      if (result.explanation && !plainNumber) {
        box.appendChild(el("div", "jx-explain text-muted", result.explanation));
      }
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
    if (error.code) {
      line.appendChild(el("code", "jx-err-code", error.code));
      line.appendChild(document.createTextNode(" "));
    }
    line.appendChild(document.createTextNode(error.message || ""));
    if (typeof error.position === "number" && error.position >= 0) {
      line.appendChild(el("span", "jx-err-where", T.at + (error.position + 1) + T.atEnd));
    }
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
    postJSON(CHECK_URL, { expression: expression, variables: variables })
      .then(function (res) {
        if (input._jxSeq !== seq) { return; }  // an older answer arriving late
        if (res.status !== 200) {
          renderFeedback(input, { ok: false, error: { code: res.status, message: (res.data && res.data.message) || T.failed } });
          return;
        }
        renderFeedback(input, res.data);
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

  function preview(panel) {
    var form = document.getElementById("indicator-form");
    var out = panel.querySelector(".jx-preview-result");
    var err = panel.querySelector(".jx-preview-error");
    var field = function (name) { var f = form.querySelector('[name="' + name + '"]'); return f ? f.value : ""; };
    var body = {
      employee_id: Number(panel.querySelector("#preview-employee").value),
      start: panel.querySelector("#preview-start").value, end: panel.querySelector("#preview-end").value,
      code: field("code"), name: field("name"), category: field("category"), kind: field("kind"),
      value: field("value"), target: field("target"), score: field("score")
    };
    postJSON(panel.getAttribute("data-preview-url"), body).then(function (res) {
      if (res.status !== 200) {
        out.hidden = true; err.hidden = false;
        err.textContent = T.preview + ": " + ((res.data && res.data.message) || res.status);
        return;
      }
      var d = res.data;
      err.hidden = !d.error;
      if (d.error) { err.textContent = d.error.code + "：" + d.error.message; }
      out.hidden = false;
      out.querySelector('[data-out="value"]').textContent = show(d.value);
      out.querySelector('[data-out="target"]').textContent = show(d.target);
      out.querySelector('[data-out="score"]').textContent = show(d.score);
      out.querySelector('[data-out="explain"]').textContent = d.explain || "";
    }).catch(function () { err.hidden = false; err.textContent = T.preview; });
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
    document.querySelectorAll(".jx-formula-input").forEach(bind);
    document.addEventListener("click", function (ev) {
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
    });
    toggleKind();
    document.addEventListener("submit", function (ev) {
      var question = ev.submitter && ev.submitter.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { ev.preventDefault(); }
    });
    if (document.querySelector(".jx-formula-input, [data-palette]")) { loadCatalogue(); }
  });
})();
