/* global clearTimeout, setInterval */
// The builds page: filters and pages of the list, a build with its steps, its live log (server-sent events, resumed
// by byte offset), search, follow, and the actions Cancel, Re-run and Run (manual step).
(function () {
  "use strict";
  var P = window.Pipelines;
  var root = P && P.root;
  if (!root || root.getAttribute("data-page") !== "builds" || !root.getAttribute("data-application-id")) return;
  var repo = root.getAttribute("data-repository");
  var filters = { branch: "", state: "" };
  var cursor = "";
  var current = { build: null, step: null };
  var stream = { source: null, lastId: null, lines: 0, retry: null };
  var searchTimer = null;

  function $(testid) {
    return root.querySelector('[data-testid="' + testid + '"]');
  }
  function fail(err) {
    P.message(err.message, "error");
  }

  /** Re-reads regions of the page with the current filters (and `extra` parameters). */
  function regions(names, extra) {
    var params = { repoPath: repo, region: names.join(","), branch: filters.branch, state: filters.state };
    Object.keys(extra || {}).forEach(function (k) {
      params[k] = extra[k];
    });
    return P.fragment("/fragments/builds" + P.query(params)).then(function (doc) {
      names.forEach(function (name) {
        P.swap(doc, name);
      });
    });
  }

  function buildView() {
    return $("build-view");
  }

  // ---- the live log ----------------------------------------------------------------------------------------------

  var log = $("log");
  var follow = $("log-follow");
  var search = $("log-search");

  function status(text) {
    $("log-status").textContent = text;
  }

  function closeStream() {
    clearTimeout(stream.retry);
    if (stream.source) stream.source.close();
    stream.source = null;
  }

  function clearLog() {
    log.textContent = "";
    stream.lines = 0;
    $("log-matches").textContent = "";
  }

  function matches(line, q) {
    return line.textContent.toLowerCase().indexOf(q) >= 0;
  }

  function applySearch(lines) {
    var q = search.value.trim().toLowerCase();
    lines.forEach(function (line) {
      var hit = q !== "" && matches(line, q);
      line.classList.toggle("log-hidden", q !== "" && !hit);
      line.classList.toggle("log-match", hit);
    });
    $("log-matches").textContent = q ? log.querySelectorAll(".log-match").length + " matching lines" : "";
  }

  /** Appends server-rendered lines (escaped, colours as classes), numbers them, filters them, follows the tail. */
  function append(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var lines = Array.prototype.slice.call(tpl.content.querySelectorAll(".log-line"));
    lines.forEach(function (line) {
      line.setAttribute("data-n", String(++stream.lines));
    });
    if (search.value.trim()) applySearch(lines);
    log.appendChild(tpl.content);
    if (follow.checked) log.scrollTop = log.scrollHeight;
  }

  function connect(buildId, step) {
    P.token()
      .then(function (t) {
        if (current.build !== buildId || current.step !== step) return;
        var source = P.logStream(buildId, step, stream.lastId, t);
        stream.source = source;
        status("Live");
        source.onmessage = function (e) {
          stream.lastId = e.lastEventId;
          append(JSON.parse(e.data).html);
        };
        source.addEventListener("reset", function () {
          stream.lastId = null;
          clearLog();
        });
        source.addEventListener("end", function (e) {
          source.close();
          status("Step " + JSON.parse(e.data).state.toLowerCase().replace(/_/g, " "));
          refreshBuild();
        });
        source.onerror = function () {
          if (source.readyState !== EventSource.CLOSED) return status("Reconnecting…");
          // Refused (an expired token?): start again with a fresh token from where the log got to.
          status("Reconnecting…");
          P.forgetToken();
          stream.retry = setTimeout(function () {
            connect(buildId, step);
          }, 2000);
        };
      })
      .catch(function (err) {
        status(err.message);
      });
  }

  /** Shows the log of a step of the current build, from its start. */
  function openLog(step) {
    var build = buildView();
    if (!build) return;
    closeStream();
    clearLog();
    stream.lastId = null;
    current.build = build.getAttribute("data-build-id");
    current.step = String(step);
    markSelected();
    var name = build.querySelector('[data-testid="step"][data-step-index="' + step + '"] [data-testid="step-log"]');
    $("log-title").textContent = name ? name.textContent : "Step " + step;
    $("log-panel").hidden = false;
    status("Connecting…");
    connect(current.build, current.step);
  }

  function markSelected() {
    root.querySelectorAll('[data-testid="step"]').forEach(function (li) {
      li.classList.toggle("selected", li.getAttribute("data-step-index") === current.step);
    });
  }

  // ---- a build ---------------------------------------------------------------------------------------------------

  function openBuild(id) {
    search.value = "";
    return regions(["build"], { build: id })
      .then(function () {
        var build = buildView();
        if (!build) {
          $("log-panel").hidden = true;
          closeStream();
          return;
        }
        openLog(build.getAttribute("data-selected-step"));
        root.scrollIntoView();
      })
      .catch(fail);
  }

  function refreshBuild() {
    if (!current.build) return Promise.resolve();
    var wasFinished = buildView() && buildView().getAttribute("data-finished") === "true";
    return regions(["build"], { build: current.build }).then(function () {
      markSelected();
      var build = buildView();
      if (build && build.getAttribute("data-finished") === "true" && !wasFinished) return regions(["list", "chart"], { cursor: cursor });
    });
  }

  function act(button, method, path) {
    button.disabled = true;
    return P.api(method, path).catch(function (err) {
      button.disabled = false;
      throw err;
    });
  }

  root.addEventListener("click", function (e) {
    var el = e.target.closest("[data-action]");
    if (!el) return;
    var action = el.getAttribute("data-action");
    var step = el.getAttribute("data-step-index");
    if (action === "open-build") {
      e.preventDefault();
      openBuild(el.getAttribute("data-build-id"));
    } else if (action === "show-log") {
      openLog(step);
    } else if (action === "cancel") {
      act(el, "POST", "/api/builds/" + current.build + "/cancel")
        .then(function () {
          P.message("Build stopped.", "success");
          return refreshBuild();
        })
        .catch(fail);
    } else if (action === "rerun") {
      act(el, "POST", "/api/builds/" + current.build + "/rerun")
        .then(function (build) {
          P.message("Build #" + build.number + " started.", "success");
          return openBuild(build.id).then(function () {
            return regions(["list", "chart"], { cursor: cursor });
          });
        })
        .catch(fail);
    } else if (action === "run-step") {
      act(el, "POST", "/api/builds/" + current.build + "/steps/" + step + "/run")
        .then(function () {
          return refreshBuild().then(function () {
            openLog(step);
          });
        })
        .catch(fail);
    } else if (action === "page") {
      cursor = el.getAttribute("data-cursor") || "";
      regions(["list"], { cursor: cursor }).catch(fail);
    } else if (action === "decisions-page") {
      regions(["decisions"], { decisions: el.getAttribute("data-cursor") }).catch(fail);
    } else if (action === "clear-filter") {
      var form = $("builds-filter");
      form.reset();
      form.elements.branch.value = "";
      form.elements.state.value = "";
      filter(form);
    } else if (action === "copy") {
      var text = $(el.getAttribute("data-copy-testid"));
      text.select();
      (navigator.clipboard ? navigator.clipboard.writeText(text.value) : Promise.reject(new Error("no clipboard")))
        .catch(function () {
          document.execCommand("copy");
        })
        .then(function () {
          P.message("Copied.", "success");
        });
    }
  });

  function filter(form) {
    filters = { branch: form.elements.branch.value.trim(), state: form.elements.state.value };
    cursor = "";
    regions(["list", "chart", "badge"]).catch(fail);
  }

  root.addEventListener("submit", function (e) {
    e.preventDefault();
    if (e.target.getAttribute("data-action") === "filter") filter(e.target);
  });

  search.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      applySearch(Array.prototype.slice.call(log.querySelectorAll(".log-line")));
    }, 150);
  });
  log.addEventListener("scroll", function () {
    // Scrolling up stops following the tail; scrolling back to the end follows it again.
    follow.checked = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
  });

  // A running build's steps change; the list gains builds. Refresh them while the page is visible.
  var lastBuild = Date.now();
  var lastList = Date.now();
  setInterval(function () {
    if (document.hidden) return;
    var build = buildView();
    if (build && build.getAttribute("data-finished") !== "true" && Date.now() - lastBuild >= 2000) {
      lastBuild = Date.now();
      refreshBuild().catch(function () {});
    }
    if (cursor === "" && Date.now() - lastList >= 10000) {
      lastList = Date.now();
      regions(["list", "chart"]).catch(function () {});
    }
  }, 1000);

  var filterForm = $("builds-filter");
  filters = { branch: filterForm.elements.branch.value.trim(), state: filterForm.elements.state.value };
  var shown = buildView();
  if (shown) openLog(shown.getAttribute("data-selected-step"));
})();
