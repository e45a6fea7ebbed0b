// Find a patient on the board in a few keys: the list narrows as the nurse types (names, preferred
// name, initials), Enter opens the first match's next step, "/" comes back to the search box, and
// the filter buttons show one stage at a time. The rows are replaced by board.js every few seconds,
// so the filter is applied again after each change; the search box itself is never replaced.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var search = document.getElementById("board-search");
  var result = document.getElementById("board-find-result");
  if (!board || !search) {
    return;
  }
  var buttons = Array.prototype.slice.call(document.querySelectorAll(".board-filter"));
  var group = "";
  var lastSummary = "";

  function rows() {
    return Array.prototype.slice.call(board.querySelectorAll("tr.board-row"));
  }

  function matches(row, words) {
    if (group && row.getAttribute("data-group") !== group) {
      return false;
    }
    var haystack = row.getAttribute("data-search") || "";
    return words.every(function (word) {
      return haystack.split(" ").some(function (part) {
        return part.indexOf(word) === 0; // "sa ta" finds Sam Taylor; "st" finds the initials
      });
    });
  }

  function apply() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    var all = rows();
    all.forEach(function (row) {
      var visible = matches(row, words);
      row.hidden = !visible;
      if (visible) {
        shown += 1;
      }
    });
    var summary = words.length || group ? shown + " of " + all.length + " patients shown" : "";
    if (summary !== lastSummary && result) {
      result.textContent = summary;
      lastSummary = summary;
    }
  }

  function firstAction() {
    var row = rows().filter(function (r) {
      return !r.hidden;
    })[0];
    return row ? row.querySelector(".board-row__action a, .board-row__action button") : null;
  }

  search.addEventListener("input", apply);
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var action = firstAction();
      if (action) {
        action.click();
      }
    } else if (event.key === "Escape") {
      search.value = "";
      apply();
    }
  });
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      group = button.getAttribute("data-filter") || "";
      buttons.forEach(function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      apply();
    });
  });
  document.addEventListener("keydown", function (event) {
    var typing = event.target && /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });
  // board.js swaps rows in place: filter the new ones as they arrive.
  new MutationObserver(apply).observe(board, { childList: true, subtree: true });
  apply();
})();
