// The SPARQL query page, enhanced: the page works without this script.
// - an example link loads its query into the editor (instead of running it at once);
// - Ctrl+Enter (or Cmd+Enter) runs the query; Tab indents instead of leaving the editor
//   (Escape, then Tab, moves focus on, so keyboard users are never trapped).
(function () {
  "use strict";
  var editor = document.getElementById("sparql-query");
  if (!editor) { return; }
  var form = editor.form;
  var escaped = false;

  document.querySelectorAll(".sparql-examples a[data-query]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      editor.value = link.getAttribute("data-query").replace(/^\s+/, "");
      editor.focus();
      editor.setSelectionRange(0, 0);
      editor.scrollIntoView({ block: "center" });
    });
  });

  editor.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      return;
    }
    if (event.key === "Escape") { escaped = true; return; }
    if (event.key === "Tab" && !event.shiftKey && !escaped) {
      event.preventDefault();
      var start = editor.selectionStart, end = editor.selectionEnd;
      editor.setRangeText("  ", start, end, "end");
      return;
    }
    escaped = false;
  });
})();
