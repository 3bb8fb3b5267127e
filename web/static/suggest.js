// Suggests help center articles on the support form while the customer types the subject and
// description, and reports which suggestion they opened (for the deflection rate). The form works
// the same without it.
(function () {
  "use strict";

  var form = document.querySelector('form[action="/support"]');
  var box = document.getElementById("kb-suggestions");
  if (!form || !box || !window.fetch || !window.URLSearchParams || !window.DOMParser) {
    return;
  }
  var subject = document.getElementById("subject");
  var description = document.getElementById("description");
  var session = form.querySelector('input[name="kb_session"]');
  var csrf = form.querySelector('input[name="_csrf"]');

  // One random id per visit of the form, kept when the form comes back with an error.
  if (session && !session.value && window.crypto && crypto.getRandomValues) {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    session.value = Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  var timer = 0;
  var asked = "";
  var sequence = 0;

  function query() {
    // The subject and the start of the description say what the problem is.
    return (subject.value + " " + description.value.slice(0, 300)).replace(/\s+/g, " ").replace(/^ /, "");
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  }

  function ask() {
    var q = query();
    if (q === asked) {
      return;
    }
    asked = q;
    if (q.replace(/\s/g, "").length < 3) {
      show([]);
      return;
    }
    var mine = ++sequence;
    fetch("/api/v1/kb/suggest?limit=5&q=" + encodeURIComponent(q.slice(0, 500)), {
      headers: { Accept: "application/json" },
      credentials: "same-origin"
    }).then(function (res) {
      return res.ok ? res.json() : { items: [] };
    }).then(function (data) {
      if (mine === sequence) {
        show(data.items || []);
      }
    }).catch(function () { /* suggestions are a help, never an obstacle */ });
  }

  // snippetNodes builds the snippet from the server's HTML, keeping only text and <mark>.
  function snippetNodes(html, into) {
    var doc = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html");
    doc.body.firstChild.childNodes.forEach(function (n) {
      if (n.nodeType === 3) {
        into.appendChild(document.createTextNode(n.textContent));
      } else if (n.nodeName === "MARK") {
        var m = document.createElement("mark");
        m.textContent = n.textContent;
        into.appendChild(m);
      }
    });
  }

  function show(items) {
    box.textContent = "";
    if (items.length === 0) {
      box.hidden = true;
      return;
    }
    var heading = document.createElement("p");
    heading.className = "kb-suggestions-title";
    heading.id = "kb-suggestions-title";
    heading.textContent = "These articles may answer your question:";
    box.appendChild(heading);
    var list = document.createElement("ul");
    list.setAttribute("aria-labelledby", heading.id);
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = item.title;
      a.setAttribute("data-article", String(item.id));
      if (item.locale) {
        li.lang = item.locale;
      }
      li.appendChild(a);
      if (item.snippet) {
        var p = document.createElement("p");
        p.className = "kb-snippet";
        snippetNodes(item.snippet, p);
        li.appendChild(p);
      }
      list.appendChild(li);
    });
    box.appendChild(list);
    box.hidden = false;
  }

  function opened(event) {
    var link = event.target.closest ? event.target.closest("a[data-article]") : null;
    if (!link || !session || !session.value) {
      return;
    }
    var body = new URLSearchParams();
    body.set("session", session.value);
    body.set("article", link.getAttribute("data-article"));
    body.set("_csrf", csrf ? csrf.value : "");
    if (!(navigator.sendBeacon && navigator.sendBeacon("/kb/opened", body))) {
      fetch("/kb/opened", { method: "POST", body: body, keepalive: true, credentials: "same-origin" }).catch(function () {});
    }
  }

  subject.addEventListener("input", schedule);
  description.addEventListener("input", schedule);
  box.addEventListener("click", opened);
  box.addEventListener("auxclick", opened);
  if (query().length >= 3) {
    schedule();
  }
})();
