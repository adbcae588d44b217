// Case to code (/case2code/case): the note's character counter, the example note button, the
// validation message swapped into the results, and focus on the results once they arrive.
// The page works without this script (plain form post, ?example=1 link).
(function () {
  "use strict";

  const number = new Intl.NumberFormat("en-US");
  let announceTimer = null;

  function noteLength(text) {
    // The server counts a line break once; browsers post it as CRLF.
    return text.replace(/\r\n/g, "\n").length;
  }

  function updateCount(note) {
    const out = document.querySelector("[data-case-count]");
    if (!out) return;
    const limit = Number(note.dataset.limit) || 5000;
    const length = noteLength(note.value);
    const over = length - limit;
    out.textContent = number.format(length) + " / " + number.format(limit) + " characters" +
      (over > 0 ? ": " + number.format(over) + " over the limit" : "");
    out.classList.toggle("char-count--over", over > 0);
    if (over > 0) note.setAttribute("aria-invalid", "true");
    else note.removeAttribute("aria-invalid");
    // Screen readers hear the count once typing pauses, not on every key.
    const live = document.querySelector("[data-case-count-live]");
    if (!live) return;
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () { live.textContent = out.textContent; }, 1200);
  }

  document.addEventListener("input", function (event) {
    if (event.target instanceof Element && event.target.matches("[data-case-note]")) {
      updateCount(event.target);
    }
  });

  document.addEventListener("click", function (event) {
    const link = event.target instanceof Element && event.target.closest("[data-case-example]");
    const note = document.querySelector("[data-case-note]");
    if (!link || !note) return;
    event.preventDefault();
    note.value = link.dataset.example || "";
    updateCount(note);
    note.focus();
  });

  // A 400 (empty note, over the limit) or 503 (search being prepared) carries the message to
  // show in the results.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    const status = event.detail.xhr.status;
    if ((status === 400 || status === 503) && target && target.id === "case-results") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Keyboard and screen-reader users land on the answer (its heading), not back at the top.
  document.addEventListener("htmx:afterSwap", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "case-results") return;
    const heading = target.querySelector("[data-case-focus]");
    if (heading) heading.focus();
  });

  function init() {
    const note = document.querySelector("[data-case-note]");
    if (note) updateCount(note);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
