// CasePilot's chat: Ctrl+Enter (or Cmd+Enter) sends, the new question's answer scrolls into
// view, and the question box keeps the focus between questions.
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    const box = event.target;
    if (!box.matches || !box.matches("[data-pilot-question]")) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      box.form.requestSubmit();
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "ask-form") {
      const box = document.querySelector("[data-pilot-question]");
      if (box) box.focus();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "chat-log") {
      const last = event.detail.target.lastElementChild;
      if (last) last.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  });
})();
