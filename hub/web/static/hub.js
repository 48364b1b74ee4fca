/* Small progressive enhancements; every page works without them except the data picker. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("[data-refresh]") && el.form) {
      swap(el.form, "refresh", el.id);
    }
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var button = ev.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      return;
    }
    if (form.id === "editor" && (!button || button.hasAttribute("data-swap") || button.id === "refresh")) {
      ev.preventDefault();
      swap(form, button ? button.value : "refresh", button ? button.id : null);
    }
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
    var title = ev.target.closest("[data-open]");
    if (title && title.form && title.form.id === "editor") {
      ev.preventDefault();
      openCard(title);
      return;
    }
    var opener = ev.target.closest(".picker-open");
    if (opener) openPicker(opener);
  });

  /* The editor: a button or a changed list posts the form and swaps in the server-rendered form that
     comes back (no page load); focus goes where the server says (X-Hub-Focus), else stays put. */
  var swapping = false;
  var again = false;
  function swap(form, op, keepId) {
    if (swapping) {  /* a list changed while the form was away: redraw once more when it is back */
      if (op === "refresh") again = true;
      return;
    }
    swapping = true;
    var active = document.activeElement;
    var activeId = active && active.name ? active.id : null;
    var sentValue = activeId ? active.value : null;
    var data = new FormData(form);
    data.set("op", op);
    fetch(form.getAttribute("action") || window.location.pathname, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Hub-Fragment": "1" }
    }).then(function (answer) {
      var focus = answer.headers.get("X-Hub-Focus");
      return answer.text().then(function (html) {
        if (!answer.ok && answer.status !== 422) throw new Error(String(answer.status));
        var typed = activeId ? document.getElementById(activeId) : null;
        var typedValue = typed ? typed.value : null;
        document.getElementById("editor-root").innerHTML = html;
        if (typed && typedValue !== sentValue) {  /* what was typed meanwhile is kept */
          var same = document.getElementById(activeId);
          if (same) {
            same.value = typedValue;
            if (same.matches("[data-refresh]")) again = true;
          }
        }
        var target = document.getElementById(focus || keepId || activeId || "") || document.getElementById("steps-h");
        if (target && target.disabled) target = target.closest("li.step").querySelector("[data-open]");
        if (target) {
          if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
            target.setAttribute("tabindex", "-1");
          }
          target.focus();
        }
        var status = document.getElementById("editor-status");
        if (status) status.textContent = status.getAttribute("data-done");
        watchListening();
        watchStepRuns();
      });
    }).catch(function () {
      var fallback = document.createElement("input");
      fallback.type = "hidden";
      fallback.name = "op";
      fallback.value = op;
      form.appendChild(fallback);
      form.submit();
    }).then(function () {
      swapping = false;
      if (again) {
        again = false;
        var current = document.getElementById("editor");
        if (current) swap(current, "refresh", null);
      }
    });
  }

  /* "Listen for a test event": ask the hub every second until the event arrives, then redraw the
     form, which now offers the event in the picker and the previews. */
  var listenTimer = null;
  function watchListening() {
    var state = document.getElementById("listen-state");
    if (listenTimer || !state) return;
    listenTimer = window.setInterval(function () {
      var current = document.getElementById("listen-state");
      if (!current) { window.clearInterval(listenTimer); listenTimer = null; return; }
      fetch(current.getAttribute("data-listen-url"), { credentials: "same-origin" })
        .then(function (answer) { return answer.json(); })
        .then(function (found) {
          if (found.event === null && found.listening) return;
          window.clearInterval(listenTimer);
          listenTimer = null;
          var form = document.getElementById("editor");
          if (form) swap(form, "refresh", "sample-state");
        }).catch(function () {});
    }, 1000);
  }
  watchListening();

  /* "Run this step for real": while the step goes on (a retry is due later), ask every second for a
     minute, then show its output or error in place. */
  function watchStepRuns() {
    document.querySelectorAll("[data-step-run-url]").forEach(function (box) {
      var asked = 0;
      var timer = window.setInterval(function () {
        asked += 1;
        if (!document.body.contains(box)) { window.clearInterval(timer); return; }
        fetch(box.getAttribute("data-step-run-url"), { credentials: "same-origin" })
          .then(function (answer) { return answer.json(); })
          .then(function (found) {
            if (!found.ended && asked < 60) return;
            window.clearInterval(timer);
            box.removeAttribute("data-step-run-url");
            box.classList.toggle("bad", !found.ok);
            box.querySelector("p").textContent = found.summary;
            var detail = box.querySelector("pre");
            detail.textContent = found.detail;
            detail.hidden = !found.detail;
          }).catch(function () { window.clearInterval(timer); });
      }, 1000);
    });
  }
  watchStepRuns();

  /* A live preview under each templated field: what it renders to against the sample. */
  var previewTimers = {};
  function previewContext(field) {
    var node = document.getElementById("preview-data");
    if (!node) return null;
    var data = JSON.parse(node.textContent);
    var context = data._base;
    var step = field.closest("li.step");
    var extra = [];
    while (step) {
      var uid = step.id.replace(/^step-/, "");
      if (data[uid]) extra.push(data[uid]);
      step = step.parentNode.closest("li.step");
    }
    var merged = {};
    Object.keys(context).forEach(function (k) { merged[k] = context[k]; });
    extra.forEach(function (more) { Object.keys(more).forEach(function (k) { merged[k] = more[k]; }); });
    return merged;
  }
  function preview(field) {
    var form = document.getElementById("editor");
    var url = form && form.getAttribute("data-preview-url");
    var slot = document.getElementById(field.id + "-preview");
    if (!url || field.value.indexOf("{{") < 0 && field.value.indexOf("{%") < 0) {
      if (slot) slot.remove();
      return;
    }
    var context = previewContext(field);
    if (!context) return;
    var token = form.querySelector("input[name=csrf_token]").value;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ template: field.value, context: context })
    }).then(function (answer) { return answer.json(); }).then(function (result) {
      slot = document.getElementById(field.id + "-preview");
      if (!slot) {
        slot = document.createElement("p");
        slot.id = field.id + "-preview";
        slot.setAttribute("aria-live", "polite");
        var anchor = field.nextElementSibling && field.nextElementSibling.classList.contains("picker-open") ? field.nextElementSibling : field;
        anchor.insertAdjacentElement("afterend", slot);
        var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (described.indexOf(slot.id) < 0) described.push(slot.id);
        field.setAttribute("aria-describedby", described.join(" "));
      }
      slot.className = result.ok ? "preview" : "preview bad";
      slot.textContent = "";
      var label = document.createElement("span");
      label.textContent = form.getAttribute(result.ok ? "data-preview-label" : "data-preview-error") + " ";
      var value = document.createElement("code");
      value.textContent = result.ok ? result.value : result.error;
      slot.appendChild(label);
      slot.appendChild(value);
    }).catch(function () {});
  }
  document.addEventListener("input", function (ev) {
    var field = ev.target;
    if (!field.hasAttribute || !field.hasAttribute("data-templatable") || !field.id) return;
    window.clearTimeout(previewTimers[field.id]);
    previewTimers[field.id] = window.setTimeout(function () { preview(field); }, 250);
  });
  document.addEventListener("focusin", function (ev) {
    var field = ev.target;
    if (field.hasAttribute && field.hasAttribute("data-templatable") && field.id && !document.getElementById(field.id + "-preview")) {
      preview(field);
    }
  });

  /* One step card open at a time: its fields are only hidden, so the form still sends every step. */
  function openCard(title) {
    var uid = title.getAttribute("data-open");
    var opening = title.getAttribute("aria-expanded") !== "true";
    document.querySelectorAll("#editor [data-open]").forEach(function (other) {
      var body = document.getElementById(other.getAttribute("aria-controls"));
      var show = opening && other === title;
      other.setAttribute("aria-expanded", show ? "true" : "false");
      if (body) body.hidden = !show;
      other.closest("li.step").classList.toggle("open", show);
    });
    document.getElementById("open-step").value = opening ? uid : "";
  }

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
