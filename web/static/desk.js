// Desk queue: a "select all" box, no reload of the rows while tickets are selected for a bulk
// change (htmx would replace the boxes and lose the selection), and a full reload when the
// session has ended (the rows request then lands on the sign-in page, which must not be put
// inside the table).
(function () {
  "use strict";
  function selected() { return document.querySelectorAll("#queue-rows .queue-select:checked").length; }
  function wireSelectAll() {
    var all = document.getElementById("queue-select-all");
    if (!all || all.dataset.wired) { return; }
    all.dataset.wired = "1";
    all.hidden = false;
    all.addEventListener("change", function () {
      document.querySelectorAll("#queue-rows .queue-select").forEach(function (box) { box.checked = all.checked; });
    });
  }
  wireSelectAll();
  document.body.addEventListener("htmx:load", wireSelectAll);
  document.body.addEventListener("htmx:beforeRequest", function (e) {
    if (e.target && e.target.id === "queue-rows" && selected() > 0) { e.preventDefault(); }
  });
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var url = e.detail.xhr && e.detail.xhr.responseURL;
    if (url && new URL(url).pathname === "/login") {
      e.detail.shouldSwap = false;
      window.location.reload();
    }
  });
})();
