// The dosing board keeps itself up to date for every nurse: it polls the board's live fragment
// every few seconds, replaces only the rows that changed (so a nurse's focus and place are kept),
// announces the changes politely, and counts each observation down from the server's clock.
// Each poll names the board it has (If-None-Match: the ETag of its last copy); an unchanged board
// answers 304 with no body, so a poll costs the server one small query (dosing/board_version.py).
(function () {
  "use strict";
  var POLL_MS = 3000;
  var container = document.getElementById("board");
  if (!container) {
    return;
  }
  var url = container.getAttribute("data-rows-url");
  var announcer = document.getElementById("board-announcer");
  var updated = document.getElementById("board-updated");
  var offsetMs = 0; // server clock minus this tablet's clock
  var failing = false;
  var busy = false;
  var etag = null; // the ETag of the board on screen; set below from the page

  function live() {
    return document.getElementById("board-live");
  }

  function syncClock(fragment) {
    var serverNow = parseInt(fragment.getAttribute("data-now-ms"), 10);
    if (!isNaN(serverNow)) {
      offsetMs = serverNow - Date.now();
    }
  }

  function announce(text) {
    if (!announcer || !text) {
      return;
    }
    // A fresh node per message: screen readers announce additions to a polite live region.
    var line = document.createElement("p");
    line.textContent = text;
    announcer.appendChild(line);
    while (announcer.childNodes.length > 5) {
      announcer.removeChild(announcer.firstChild);
    }
  }

  function statusText(row) {
    var cell = row.querySelector(".board-row__status .badge");
    if (!cell) {
      return "";
    }
    var words = cell.cloneNode(true);
    Array.prototype.forEach.call(words.querySelectorAll("[aria-hidden]"), function (icon) {
      icon.remove(); // the icon is decoration: announce the words only
    });
    return words.textContent.replace(/\s+/g, " ").trim();
  }

  function rowIds(tbody) {
    return Array.prototype.map.call(tbody ? tbody.rows : [], function (row) {
      return row.id;
    }).join(",");
  }

  function focusKey() {
    var active = document.activeElement;
    if (!active || active === document.body) {
      return null;
    }
    var row = active.closest ? active.closest("tr.board-row") : null;
    if (!row || !live().contains(row)) {
      return null;
    }
    return { row: row.id, label: active.getAttribute("aria-label") || active.textContent };
  }

  function restoreFocus(key) {
    if (!key) {
      return;
    }
    var row = document.getElementById(key.row);
    if (!row) {
      return;
    }
    var targets = row.querySelectorAll("a, button");
    var same = Array.prototype.filter.call(targets, function (el) {
      return (el.getAttribute("aria-label") || el.textContent) === key.label;
    });
    var target = same[0] || targets[targets.length - 1];
    if (target) {
      target.focus({ preventScroll: true });
    }
  }

  function apply(fresh) {
    var current = live();
    var key = focusKey();
    var changes = [];
    var currentBody = current.querySelector("#board-rows");
    var freshBody = fresh.querySelector("#board-rows");
    var sameSession = current.getAttribute("data-session") === fresh.getAttribute("data-session");

    if (sameSession && currentBody && freshBody && rowIds(currentBody) === rowIds(freshBody)) {
      // Same patients in the same order: swap only the rows whose state changed.
      Array.prototype.forEach.call(Array.prototype.slice.call(freshBody.rows), function (row) {
        var old = document.getElementById(row.id);
        if (old && old.getAttribute("data-version") !== row.getAttribute("data-version")) {
          changes.push(row.getAttribute("data-name") + ": " + statusText(row));
          row.classList.add("board-row--changed");
          // A copy: `fresh` keeps every row, in case it replaces the whole board just below.
          old.replaceWith(row.cloneNode(true));
        }
      });
      // Everything outside the table (counts, the sign-out box, notices) is small: replace it.
      Array.prototype.forEach.call(current.children, function (child, index) {
        var replacement = fresh.children[index];
        if (child.tagName !== "TABLE" && replacement && child.outerHTML !== replacement.outerHTML) {
          child.replaceWith(replacement.cloneNode(true));
        }
      });
      if (current.children.length !== fresh.children.length) {
        current.replaceWith(fresh);
        current = fresh;
      } else {
        current.setAttribute("data-now-ms", fresh.getAttribute("data-now-ms"));
        current.setAttribute("data-updated", fresh.getAttribute("data-updated"));
      }
    } else {
      if (!sameSession) {
        changes.push("The board now shows the next session.");
      } else {
        changes.push("Patients on the board changed.");
      }
      current.replaceWith(fresh);
    }
    restoreFocus(key);
    if (changes.length) {
      announce(changes.length > 3 ? changes.length + " patients changed on the board." : changes.join(". "));
    }
  }

  function setUpdated(text, stale) {
    if (!updated) {
      return;
    }
    updated.textContent = text;
    updated.classList.toggle("board-updated--stale", !!stale);
  }

  function poll() {
    if (busy || document.visibilityState === "hidden") {
      return;
    }
    busy = true;
    var headers = { "X-Requested-With": "fetch", "X-Background-Poll": "1" };
    if (etag) {
      headers["If-None-Match"] = etag;
    }
    fetch(url, { credentials: "same-origin", headers: headers, cache: "no-store" })
      .then(function (response) {
        idle.heard(response);
        if (response.status === 304 && !response.redirected) {
          return null; // the board on screen is still the board
        }
        if (!response.ok || response.redirected) {
          throw new Error(response.redirected ? "signed out" : "status " + response.status);
        }
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) {
        if (html === null) {
          setUpdated("Updated " + clockText(new Date(Date.now() + offsetMs)), false);
          if (failing) {
            announce("The board is updating again.");
          }
          failing = false;
          return;
        }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("board-live");
        if (!fresh) {
          throw new Error("no board in the answer");
        }
        fresh = document.importNode(fresh, true);
        syncClock(fresh);
        apply(fresh);
        tick();
        setUpdated("Updated " + fresh.getAttribute("data-updated"), false);
        if (failing) {
          announce("The board is updating again.");
        }
        failing = false;
      })
      .catch(function (error) {
        if (error.message === "signed out") {
          window.location.reload(); // signed out (idle): show the sign-in page, not patients' names
          return;
        }
        var when = live().getAttribute("data-updated");
        var text = error.message === "signed out"
          ? "Not updating: you are signed out. Reload the page to sign in."
          : "Not updating since " + when + ". Check the connection.";
        setUpdated(text, true);
        if (!failing) {
          announce(text);
        }
        failing = true;
      })
      .then(function () {
        busy = false;
      });
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function clockText(moment) {
    return pad(moment.getHours()) + ":" + pad(moment.getMinutes()) + ":" + pad(moment.getSeconds());
  }

  // The count-down runs on the tablet between polls, corrected by the server's clock.
  function tick() {
    var now = Date.now() + offsetMs;
    Array.prototype.forEach.call(document.querySelectorAll(".countdown[data-ends-ms]"), function (el) {
      var left = Math.ceil((parseInt(el.getAttribute("data-ends-ms"), 10) - now) / 1000);
      var row = el.closest("tr.board-row");
      if (left > 0) {
        var text = el.querySelector(".countdown__left");
        if (text) {
          text.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
        }
      } else if (row && !row.classList.contains("board-row--time-up")) {
        row.classList.add("board-row--time-up");
        var badge = row.querySelector(".board-row__status .badge");
        if (badge) {
          badge.className = "badge badge--alert";
          badge.innerHTML = '<span class="icon" aria-hidden="true">\u26A0</span> Observation complete \u2014 sign out';
        }
        el.textContent = "";
        announce(row.getAttribute("data-name") + ": observation complete \u2014 sign out");
        poll(); // fetch the sign-out button now rather than in up to 3 s
      }
    });
  }

  // Idle sign-out: polls do not count as use (the server does not renew the session for them), so
  // an unattended board signs out. Two minutes before, it says so; any tap or key keeps the session.
  var idle = (function () {
    var WARN_MS = 120000;
    var warning = document.getElementById("idle-warning");
    var endsAt = null;
    var lastKeepAlive = 0;

    function heard(response) {
      var left = parseInt(response.headers.get("Session-Idle-Seconds"), 10);
      if (!isNaN(left)) {
        endsAt = Date.now() + left * 1000;
      }
    }

    function check() {
      if (!warning || endsAt === null) {
        return;
      }
      var show = endsAt - Date.now() <= WARN_MS;
      if (show && warning.hidden) {
        announce(warning.textContent.replace(/\s+/g, " ").trim());
      }
      warning.hidden = !show;
    }

    function keepAlive() {
      if (Date.now() - lastKeepAlive < 60000) {
        return; // the server renews at most once a minute anyway
      }
      lastKeepAlive = Date.now();
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" }, cache: "no-store" })
        .then(function (response) {
          if (response.ok && !response.redirected) {
            heard(response);
            check();
          }
        })
        .catch(function () {});
    }

    document.addEventListener("pointerdown", keepAlive);
    document.addEventListener("keydown", keepAlive);
    window.setInterval(check, 5000);
    return { heard: heard };
  })();

  syncClock(live());
  etag = live().getAttribute("data-etag");
  tick();
  window.setInterval(tick, 1000);
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      poll();
    }
  });
})();
