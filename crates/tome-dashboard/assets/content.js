// Content pages: the editor's live preview and drag-and-drop reordering. Both are enhancements:
// the Preview button and the Up/Down buttons do the same without script.
"use strict";

(function () {
  function csrfOf(el) {
    var holder = el.closest("[data-csrf]");
    if (holder) return holder.getAttribute("data-csrf");
    var input = document.querySelector("input[name=_csrf]");
    return input ? input.value : "";
  }

  // Live preview: the body is posted (debounced) to the KB's preview endpoint, which answers
  // with HTML from Tome's own renderer and sanitiser, the same as hosted pages.
  var form = document.querySelector("form[data-preview-url]");
  var pane = document.getElementById("preview-body");
  var body = form && form.querySelector("textarea[name=body]");
  if (form && pane && body) {
    var timer = null;
    var sent = 0;
    var refresh = function () {
      var ticket = ++sent;
      fetch(form.getAttribute("data-preview-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "X-CSRF-Token": csrfOf(form)
        },
        body: new URLSearchParams({ body: body.value }).toString()
      }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        // Only the latest answer counts; the server's HTML is already sanitised.
        if (html !== null && ticket === sent) pane.innerHTML = html;
      }).catch(function () {});
    };
    body.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    });
    if (body.value && !pane.querySelector(":not(p.muted)")) refresh();
  }

  // Drag and drop: each item of a [data-reorder] list carries data-move-url; dropping posts the
  // new position to it (the same endpoint as the Up/Down buttons) and reloads the page.
  document.querySelectorAll("[data-reorder]").forEach(function (list) {
    var items = Array.prototype.filter.call(list.children, function (el) {
      return el.hasAttribute("data-move-url");
    });
    if (items.length < 2) return;
    var dragged = null;
    items.forEach(function (item) {
      var handle = item.querySelector(".row") || item;
      handle.setAttribute("draggable", "true");
      handle.addEventListener("dragstart", function (e) {
        dragged = item;
        e.dataTransfer.effectAllowed = "move";
        e.stopPropagation();
      });
      item.addEventListener("dragover", function (e) {
        if (!dragged || dragged === item || dragged.parentNode !== item.parentNode) return;
        e.preventDefault();
        e.stopPropagation();
        item.classList.add("drop-target");
      });
      item.addEventListener("dragleave", function () {
        item.classList.remove("drop-target");
      });
      item.addEventListener("drop", function (e) {
        item.classList.remove("drop-target");
        if (!dragged || dragged === item || dragged.parentNode !== item.parentNode) return;
        e.preventDefault();
        e.stopPropagation();
        var position = items.indexOf(item);
        var url = dragged.getAttribute("data-move-url");
        dragged = null;
        fetch(url, {
          method: "POST",
          credentials: "same-origin",
          redirect: "manual",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-CSRF-Token": csrfOf(list)
          },
          body: new URLSearchParams({ position: String(position) }).toString()
        }).then(function () {
          window.location.reload();
        });
      });
    });
  });
})();
