// Ask before an action that cannot be taken back. A form, or the button that submits it, with
// data-confirm="…" shows that text in the browser's own confirm dialog once the form is valid and about
// to be sent; Cancel sends nothing. A link or a plain button with data-confirm asks before it is
// followed. The text is read from the attribute and shown as text, never as HTML.
(function () {
  "use strict";
  if (window.jxConfirm) { return; }  // loaded twice: the first copy asks
  window.jxConfirm = true;

  function refuse(event) {
    event.preventDefault();
    event.stopPropagation();  // a page script that sends the form itself does not see it either
  }

  // Capturing on the document: asked before any handler on the form itself runs.
  document.addEventListener("submit", function (event) {
    var form = event.target, button = event.submitter;
    var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { refuse(event); }
  }, true);

  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("a[data-confirm], button[data-confirm]") : null;
    if (!el || (el.tagName === "BUTTON" && el.type === "submit" && el.form)) { return; }  // asked on submit
    if (!window.confirm(el.getAttribute("data-confirm"))) { refuse(event); }
  }, true);
})();
