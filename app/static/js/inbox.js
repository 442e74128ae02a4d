// Inbox: "select all" for the bulk approval form.
(function () {
  "use strict";
  var all = document.getElementById("jx-select-all");
  if (!all) { return; }
  all.addEventListener("change", function () {
    var boxes = document.querySelectorAll("input.jx-pick");
    for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
  });
})();
