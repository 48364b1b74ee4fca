/* Small progressive enhancements; every page works without them except the data picker. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (!el.matches || !el.matches("[data-autosubmit]")) return;
    var refresh = el.form && el.form.querySelector("#refresh");
    if (refresh) refresh.click();
    else if (el.form) el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var button = ev.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) ev.preventDefault();
  });

  document.addEventListener("click", function (ev) {
    var copy = ev.target.closest("[data-copy]");
    if (copy) {
      var input = document.getElementById(copy.getAttribute("data-copy"));
      input.select();
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).catch(function () {});
      else document.execCommand("copy");
      return;
    }
    var move = ev.target.closest("[data-move]");
    if (move) {
      var item = move.closest("li.step");
      var up = move.getAttribute("data-move") === "up";
      var other = up ? item.previousElementSibling : item.nextElementSibling;
      if (!other) return;
      ev.preventDefault();
      if (up) item.parentNode.insertBefore(item, other);
      else item.parentNode.insertBefore(other, item);
      var steps = item.parentNode.querySelectorAll("li.step");
      steps.forEach(function (li, i) {
        li.querySelector("[data-move=up]").disabled = i === 0;
        li.querySelector("[data-move=down]").disabled = i === steps.length - 1;
      });
      move.focus();
      return;
    }
    var opener = ev.target.closest(".picker-open");
    if (opener) openPicker(opener);
  });

  var selections = {};
  document.addEventListener("focusout", function (ev) {
    var el = ev.target;
    if (el.hasAttribute && el.hasAttribute("data-templatable")) {
      selections[el.id] = [el.selectionStart, el.selectionEnd];
    }
  });

  function insertAt(target, text) {
    var saved = selections[target.id];
    var start = saved ? saved[0] : target.value.length;
    var end = saved ? saved[1] : target.value.length;
    target.value = target.value.slice(0, start) + text + target.value.slice(end);
    var caret = start + text.length;
    target.focus();
    target.setSelectionRange(caret, caret);
    selections[target.id] = [caret, caret];
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function openPicker(opener) {
    var dialog = document.getElementById("picker");
    var dataNode = document.getElementById("picker-data");
    if (!dialog || !dataNode) return;
    var data = JSON.parse(dataNode.textContent);
    var entries = data[opener.getAttribute("data-picker-source")] || data._event || [];
    var target = document.getElementById(opener.getAttribute("data-picker-target"));
    var list = document.getElementById("picker-list");
    var filter = document.getElementById("picker-filter");
    function draw() {
      var needle = filter.value.toLowerCase();
      list.innerHTML = "";
      entries.forEach(function (entry) {
        if (needle && entry.expr.toLowerCase().indexOf(needle) < 0) return;
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.className = "picker-item";
        b.setAttribute("data-expr", entry.expr);
        var code = document.createElement("code");
        code.textContent = entry.expr;
        var ex = document.createElement("span");
        ex.className = "muted";
        ex.textContent = entry.example ? " " + entry.example : "";
        b.appendChild(code);
        b.appendChild(ex);
        b.addEventListener("click", function () {
          dialog.close();
          insertAt(target, "{{ " + entry.expr + " }}");
        });
        li.appendChild(b);
        list.appendChild(li);
      });
      if (!list.children.length) {
        var none = document.createElement("li");
        none.textContent = "—";
        list.appendChild(none);
      }
    }
    filter.value = "";
    filter.oninput = draw;
    draw();
    dialog.showModal();
    filter.focus();
  }
})();

/* Runs that update themselves (hub/web/run_live.py): poll the live state of the runs on the page
   every few seconds while any is not over and the tab is visible. The runs list changes in place;
   a run page reloads when something new happened (a step moved on), so it shows the outputs. */
(function () {
  "use strict";
  var source = document.querySelector("[data-live-url]");
  if (!source) return;
  var url = source.getAttribute("data-live-url");
  var DELAY_MS = 3000;

  function pending() {
    return Array.prototype.map.call(document.querySelectorAll("[data-live-run][data-live-pending]"), function (el) {
      return el.getAttribute("data-live-run");
    });
  }

  function show(el, state) {
    var badge = el.querySelector(".status");
    if (badge) {
      badge.className = "status status-" + state.status;
      badge.textContent = state.label;
    }
    var note = el.querySelector(".live-note");
    if (note) note.textContent = state.note;
    if (state.final) el.removeAttribute("data-live-pending");
  }

  function apply(states) {
    states.forEach(function (state) {
      document.querySelectorAll("[data-live-run='" + state.id + "']").forEach(function (el) {
        var before = el.getAttribute("data-live-fingerprint");
        if (before !== null && before !== state.fingerprint) {
          window.location.reload();
          return;
        }
        show(el, state);
      });
    });
  }

  function poll() {
    var ids = pending();
    if (!ids.length) return;
    if (document.hidden) return void window.setTimeout(poll, DELAY_MS);
    fetch(url + "?ids=" + ids.join(","), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : { runs: [] }; })
      .then(function (data) { apply(data.runs || []); })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, DELAY_MS); });
  }

  window.setTimeout(poll, DELAY_MS);
})();
