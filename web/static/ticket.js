// The ticket page's presence: a heartbeat every 20 seconds says this agent has the ticket open
// and whether they are writing in the reply editor; the page asks every 10 seconds who else is
// here and shows "Ana is replying to this ticket". Without this script the page works the same,
// only without the live warning.
// The suggestions come in a request of their own, so that the page does not wait for the
// search; without this script a link asks for the page with them.
(function () {
  "use strict";
  var panel = document.getElementById("ticket-suggestions");
  if (!panel || !window.fetch) {
    return;
  }
  fetch(panel.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
    .then(function (res) { return res.ok ? res.text() : null; })
    .then(function (html) {
      // The fragment is rendered and escaped by the server's templates.
      if (html !== null) {
        panel.innerHTML = html;
      }
    })
    .catch(function () { /* the link stays */ });
})();

(function () {
  "use strict";

  var box = document.getElementById("ticket-presence");
  if (!box || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var url = "/desk/tickets/" + encodeURIComponent(box.getAttribute("data-ticket")) + "/presence";
  var csrf = box.getAttribute("data-csrf");
  var editor = document.getElementById("reply-body");
  var typed = false; // a keystroke since the last heartbeat
  var lastBeat = 0;
  var shown = null; // the fragment last put in the box, so that an unchanged one is not re-announced

  function beat() {
    var body = new URLSearchParams();
    body.set("typing", typed ? "1" : "0");
    typed = false;
    lastBeat = Date.now();
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf },
      body: body
    }).catch(function () { /* offline: the next beat tries again */ });
  }

  function poll() {
    if (document.hidden) {
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        // The fragment is rendered and escaped by the server's templates.
        if (html !== null && html !== shown) {
          shown = html;
          box.innerHTML = html;
        }
      })
      .catch(function () {});
  }

  if (editor) {
    editor.addEventListener("input", function () {
      var first = !typed;
      typed = true;
      // Tell the others at once when typing starts, then at most every 5 seconds.
      if (first && Date.now() - lastBeat > 5000) {
        beat();
      }
    });
  }
  setInterval(beat, 20000);
  setInterval(poll, 10000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      poll();
    }
  });
})();
