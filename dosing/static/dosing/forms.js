// Dosing forms: after a refusal, move focus to the error summary so it is read out and seen first.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
