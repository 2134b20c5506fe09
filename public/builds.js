/* global clearTimeout, setInterval, URL */
// The builds page: filters and pages of the list (kept in the address), a build with its steps in a column and the
// selected step's live log beside them (server-sent events, resumed by byte offset; search, follow, timestamps,
// download), its Tests tab, and the actions Stop (after a confirmation), Re-run and Run (manual step), each answered
// with a message. Opening a build updates the address, so reload, Back and sharing show the same build.
(function () {
  "use strict";
  var P = window.Pipelines;
  var root = P && P.root;
  if (!root || root.getAttribute("data-page") !== "builds" || !root.getAttribute("data-application-id")) return;
  var repo = root.getAttribute("data-repository");
  var filters = { branch: "", state: "" };
  var cursor = "";
  var current = { build: null, step: null, tab: "log" };
  var stream = { source: null, lastId: null, lines: 0, retry: null };
  var searchTimer = null;

  function $(testid) {
    return root.querySelector('[data-testid="' + testid + '"]');
  }
  function fail(err) {
    P.message(err.message, "error");
  }

  /** Re-reads regions of the page with the current filters (and `extra` parameters). */
  // The build asked for last: an answer about another build (a periodic refresh of the build that was open, sent
  // before another one was opened) is not shown when it arrives late, on a slow machine or network.
  var newestBuild = null;

  function regions(names, extra) {
    var params = { repoPath: repo, region: names.join(","), branch: filters.branch, state: filters.state };
    Object.keys(extra || {}).forEach(function (k) {
      params[k] = extra[k];
    });
    var asked = String(params.build || "");
    if (names.indexOf("build") >= 0) newestBuild = asked;
    return P.fragment("/fragments/builds" + P.query(params)).then(function (doc) {
      if (names.indexOf("build") >= 0 && asked !== newestBuild) {
        names = names.filter(function (name) {
          return name !== "build";
        });
      }
      names.forEach(function (name) {
        P.swap(doc, name);
        // A build is three regions: its header, its steps column and its tests.
        if (name === "build") {
          P.swap(doc, "build-steps");
          P.swap(doc, "build-tests");
        }
      });
      if (names.indexOf("build") >= 0) afterBuildSwap();
      P.refreshTimes();
    });
  }

  function buildView() {
    return $("build-view");
  }

  // ---- the address: filters and the open build ------------------------------------------------------------------

  function state() {
    return { build: current.build || "", branch: filters.branch, state: filters.state };
  }

  function remember() {
    P.pushState(state());
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

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /** `14:03:27` in the reader's time zone, from the time the line reached the server. */
  function clock(ms) {
    var d = new Date(ms);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  /** Appends server-rendered lines (escaped, colours as classes), numbers and times them, filters them, follows the tail. */
  function append(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var lines = Array.prototype.slice.call(tpl.content.querySelectorAll(".log-line"));
    lines.forEach(function (line) {
      line.setAttribute("data-n", String(++stream.lines));
      var t = Number(line.getAttribute("data-t"));
      line.setAttribute("data-time", t ? clock(t) : "");
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

  function stepName(step) {
    var el = root.querySelector('[data-testid="step"][data-step-index="' + step + '"] .step-title');
    return el ? el.textContent : "Step " + (Number(step) + 1);
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
    $("log-title").textContent = stepName(step);
    status("Connecting…");
    connect(current.build, current.step);
  }

  function markSelected() {
    root.querySelectorAll('[data-testid="step"]').forEach(function (el) {
      var on = el.getAttribute("data-step-index") === current.step;
      el.classList.toggle("selected", on);
      var button = el.querySelector('[data-testid="step-log"]');
      if (button) button.setAttribute("aria-current", on ? "true" : "false");
    });
  }

  /** Downloads the selected step's whole log as a file (the app's API needs the token, so it comes as a blob). */
  function downloadLog(button) {
    if (!current.build || current.step === null) return P.message("Open a step to download its log.", "error");
    var name = stepName(current.step);
    downloadFile(button, "the log of " + name, "/api/builds/" + current.build + "/steps/" + current.step + "/log/download");
  }

  /** Downloads one artifact of a step as its tar.gz (through the API, with the token, as a blob). */
  function downloadArtifact(button) {
    var id = button.getAttribute("data-artifact-id");
    downloadFile(button, "the artifact " + button.getAttribute("data-artifact-name"), "/api/builds/" + current.build + "/artifacts/" + id + "/download");
  }

  /** Fetches `path` through the API (with the token) and hands it to the browser as a file, saying what happens. */
  function downloadFile(button, what, path) {
    button.disabled = true;
    P.message("Downloading " + what + "…");
    P.download(path)
      .then(function (file) {
        var a = document.createElement("a");
        var url = URL.createObjectURL(file.blob);
        a.href = url;
        a.download = file.name;
        a.hidden = true;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () {
          URL.revokeObjectURL(url);
        }, 10000);
        P.message("Downloaded " + file.name + " (" + Math.max(1, Math.round(file.blob.size / 1024)) + " KB).", "success");
      })
      .catch(fail)
      .then(function () {
        button.disabled = false;
      });
  }

  // ---- tabs: Log and Tests ---------------------------------------------------------------------------------------

  function showTab(name, focus) {
    current.tab = name === "tests" ? "tests" : "log";
    root.querySelectorAll('[role="tab"]').forEach(function (tab) {
      var on = tab.getAttribute("data-tab") === current.tab;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.setAttribute("tabindex", on ? "0" : "-1");
      if (on && focus) tab.focus();
    });
    $("log-panel").hidden = current.tab !== "log";
    $("tests-panel").hidden = current.tab !== "tests";
  }

  // ---- a build ---------------------------------------------------------------------------------------------------

  /** After the build's regions were replaced: the body shown or hidden, the selected step and tab kept. */
  function afterBuildSwap() {
    var build = buildView();
    $("build-body").hidden = !build;
    markSelected();
    showTab(current.tab);
  }

  function openBuild(id, keepAddress) {
    search.value = "";
    // From now on a refresh is about the build being opened.
    current.build = String(id);
    return regions(["build"], { build: id })
      .then(function () {
        var build = buildView();
        if (build && build.getAttribute("data-build-id") !== String(id)) return; // another build was opened since
        if (!build) {
          closeStream();
          current.build = null;
          return;
        }
        current.tab = "log";
        showTab("log");
        openLog(build.getAttribute("data-selected-step"));
        if (!keepAddress) remember();
        root.scrollIntoView();
      })
      .catch(fail);
  }

  function refreshBuild() {
    if (!current.build) return Promise.resolve();
    var wasFinished = buildView() && buildView().getAttribute("data-finished") === "true";
    return regions(["build"], { build: current.build }).then(function () {
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

  function number() {
    var build = buildView();
    return build ? build.getAttribute("data-number") : "";
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
      showTab("log");
      openLog(step);
    } else if (action === "tab") {
      showTab(el.getAttribute("data-tab"));
    } else if (action === "cancel") {
      // Stopping a build cannot be undone: ask first.
      $("cancel-confirm").hidden = false;
      $("cancel-yes").focus();
    } else if (action === "cancel-dismissed") {
      $("cancel-confirm").hidden = true;
      P.message("Build #" + number() + " keeps running.");
    } else if (action === "cancel-confirmed") {
      var n = number();
      act(el, "POST", "/api/builds/" + current.build + "/cancel")
        .then(function () {
          P.message("Build #" + n + " stopped.", "success");
          return refreshBuild();
        })
        .catch(fail);
    } else if (action === "rerun") {
      act(el, "POST", "/api/builds/" + current.build + "/rerun")
        .then(function (build) {
          P.message("Build #" + build.number + " started: a re-run of #" + number() + ".", "success");
          return openBuild(build.id).then(function () {
            return regions(["list", "chart"], { cursor: cursor });
          });
        })
        .catch(fail);
    } else if (action === "rerun-failed") {
      act(el, "POST", "/api/builds/" + current.build + "/rerun-failed")
        .then(function (build) {
          P.message("Build #" + build.number + " started: the failed steps of #" + number() + " run again; " + (build.reused === 1 ? "1 step that passed is" : build.reused + " steps that passed are") + " reused.", "success");
          return openBuild(build.id).then(function () {
            return regions(["list", "chart"], { cursor: cursor });
          });
        })
        .catch(fail);
    } else if (action === "download-artifact") {
      downloadArtifact(el);
    } else if (action === "run-step") {
      var name = stepName(step);
      act(el, "POST", "/api/builds/" + current.build + "/steps/" + step + "/run")
        .then(function () {
          P.message("Step " + name + " is queued to run.", "success");
          return refreshBuild().then(function () {
            openLog(step);
          });
        })
        .catch(fail);
    } else if (action === "download-log") {
      downloadLog(el);
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

  root.addEventListener("keydown", function (e) {
    // Arrow keys move between the tabs (the tab pattern of WAI-ARIA).
    if (e.target.getAttribute("role") !== "tab" || (e.key !== "ArrowRight" && e.key !== "ArrowLeft")) return;
    showTab(current.tab === "log" ? "tests" : "log", true);
  });

  root.addEventListener("change", function (e) {
    if (e.target.getAttribute("data-action") === "timestamps") log.classList.toggle("show-times", e.target.checked);
  });

  function filter(form) {
    filters = { branch: form.elements.branch.value.trim(), state: form.elements.state.value };
    cursor = "";
    remember();
    regions(["list", "chart", "badge"])
      .then(function () {
        var rows = root.querySelectorAll('[data-testid="build-row"]').length;
        P.message(filters.branch || filters.state ? rows + " build" + (rows === 1 ? "" : "s") + " shown" + (filters.branch ? " of " + filters.branch : "") + (filters.state ? ", " + filters.state.toLowerCase() : "") + "." : "All builds shown.");
      })
      .catch(fail);
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

  /** Shows what an address says: its filters and its build (Back, Forward, a shared link inside Bitbucket). */
  function applyState(s) {
    var form = $("builds-filter");
    var changed = (s.branch || "") !== filters.branch || (s.state || "") !== filters.state;
    if (changed) {
      form.elements.branch.value = s.branch || "";
      form.elements.state.value = s.state || "";
      filters = { branch: s.branch || "", state: s.state || "" };
      cursor = "";
      regions(["list", "chart", "badge"]).catch(fail);
    }
    if (s.build && s.build !== current.build) openBuild(s.build, true);
    else if (!s.build && current.build) {
      closeStream();
      current.build = null;
      regions(["build"]).catch(fail);
    }
  }
  // Back to the entry the page was opened with: inside Bitbucket that entry has no state of its own (#!…), it is what
  // the module's address showed at first; standalone every entry's address says it all.
  var initial = null;
  P.onPopState(function (s) {
    applyState(!P.session && initial && !(s.build || s.branch || s.state) ? initial : s);
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
      regions(["list", "chart", "badge"]).catch(function () {});
    }
  }, 1000);

  var filterForm = $("builds-filter");
  filters = { branch: filterForm.elements.branch.value.trim(), state: filterForm.elements.state.value };
  var shown = buildView();
  initial = { build: shown ? shown.getAttribute("data-build-id") : "", branch: filters.branch, state: filters.state };
  if (shown) {
    current.build = shown.getAttribute("data-build-id");
    afterBuildSwap();
    openLog(shown.getAttribute("data-selected-step"));
  } else {
    afterBuildSwap();
  }
  // Inside Bitbucket the frame's address is the module's (a status link's ?build=); the host's address holds what was
  // opened since (#!build=…), and wins after a reload. Standalone the address is the page's own: nothing changes.
  P.readState(function (s) {
    if (!s || !(s.build || s.branch || s.state)) return;
    var differs = (s.build && s.build !== current.build) || (s.branch || "") !== filters.branch || (s.state || "") !== filters.state;
    if (differs) applyState(s);
  });
})();
