// rootguard dashboard: filters in place. Without this script the filter
// forms still work (they are plain GET forms the server applies); with
// it, a change filters at once and the URL follows. Nothing else.
"use strict";
(function () {
  function bind(form, apply) {
    if (!form) return;
    form.addEventListener("change", function () { apply(); });
    form.addEventListener("input", function () { apply(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  }
  function setURL(form) {
    var q = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v !== "") q.set(k, v); });
    var s = q.toString();
    history.replaceState(null, "", form.getAttribute("action") + (s ? "?" + s : ""));
  }
  function count(n) {
    var el = document.getElementById("shown");
    if (!el) return;
    el.dataset.shown = n;
    el.textContent = el.dataset.fmt.replace("%d", n).replace("%d", el.dataset.total);
  }

  // Organization tree: the same rules as matches() in views.go.
  var tree = document.getElementById("filters");
  bind(tree, function () {
    var c = tree.elements.control.value, ou = tree.elements.ou.value,
        st = tree.elements.state.value, m = tree.elements.mode.value, n = 0;
    document.querySelectorAll("#ous section.ou").forEach(function (sec) {
      var shown = 0;
      sec.querySelectorAll("li[data-ou]").forEach(function (li) {
        var failed = li.dataset.failed ? li.dataset.failed.split(" ") : [];
        var ok = (c === "" || (c === "any" ? failed.length > 0 : failed.indexOf(c) >= 0)) &&
          (ou === "" || li.dataset.ou === ou || li.dataset.ou.indexOf(ou + "/") === 0) &&
          (st === "" || li.dataset.state === st) && (m === "" || li.dataset.mode === m);
        li.hidden = !ok;
        if (ok) shown++;
      });
      sec.hidden = shown === 0;
      n += shown;
    });
    count(n);
    setURL(tree);
  });

  // Root activity.
  var act = document.getElementById("act-filters");
  bind(act, function () {
    var a = act.elements.account.value.trim(), un = act.elements.unapproved.checked, n = 0;
    document.querySelectorAll("#incidents li.incident").forEach(function (li) {
      var ok = (a === "" || li.dataset.account === a) && (!un || li.dataset.approved !== "true");
      li.hidden = !ok;
      if (ok) n++;
    });
    count(n);
    setURL(act);
  });
})();
