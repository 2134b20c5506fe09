/* global DOMParser, clearTimeout, setInterval, Response, URL */
// Shared by the pages' scripts (served from /static; the pages have no inline script): how to authenticate, the
// app's API, and fragments of pages. Inside Bitbucket a context token (AP.context.getToken) goes in
// `Authorization: JWT …`; on a standalone page (`<body data-auth="session">`) the browser's session cookie goes
// with a same-origin request and `X-Pipelines-Tenant` says which workspace (a custom header: no other site can
// send it without a CORS preflight this app never answers). HTML goes into a page only when the server rendered it (escaped there); anything
// else goes in through textContent.
(function () {
  "use strict";
  var root = document.querySelector("[data-pipelines-root]");
  var base = root ? root.getAttribute("data-base-url") || "" : "";
  var cached = null;
  var session = document.body.getAttribute("data-auth") === "session";
  // Inside the Forge app's page (Custom UI): every call goes through Forge (invokeRemote, window.PipelinesForge).
  var forge = document.body.getAttribute("data-auth") === "forge" && !!window.PipelinesForge;
  var tenant = document.body.getAttribute("data-tenant") || "";

  /** A context token from Bitbucket (AP.context.getToken), reused for a minute. */
  function token() {
    if (session || forge) return Promise.resolve("");
    if (cached && Date.now() - cached.at < 60000) return Promise.resolve(cached.value);
    return new Promise(function (resolve, reject) {
      if (typeof AP === "undefined" || !AP.context || typeof AP.context.getToken !== "function") {
        reject(new Error("Open this page inside Bitbucket: its buttons need Bitbucket's AP script."));
        return;
      }
      AP.context.getToken(function (value) {
        if (!value) return reject(new Error("Bitbucket gave no token; reload the page."));
        cached = { value: value, at: Date.now() };
        resolve(value);
      });
    });
  }

  function forgetToken() {
    cached = null;
  }

  /** `?a=1&b=2` of the defined, non-empty values. */
  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== undefined && v !== null && v !== "") parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(v));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  /**
   * The same request through Forge (`/forge/ui` + path): Forge signs it and answers JSON only, so an HTML fragment
   * comes back as `{html}`; the answer is made into a Response like fetch's.
   */
  function forgeSend(method, path, body, accept) {
    return window.PipelinesForge.invoke({ path: "/forge/ui" + path, method: method, body: body }).then(function (r) {
      var status = r.status || 500;
      var payload = r.body;
      var text = accept === "text/html" && payload && typeof payload.html === "string" ? payload.html : payload === undefined || payload === null ? "" : accept === "text/plain" && typeof payload === "string" ? payload : JSON.stringify(payload);
      return new Response(status === 204 ? null : text, { status: status, headers: { "Content-Type": accept } });
    });
  }

  /** A request to the app with a context token; one retry with a fresh token after a 401. */
  function send(method, path, body, accept, retried) {
    if (forge) return forgeSend(method, path, body, accept);
    return token().then(function (t) {
      var init = session
        ? { method: method, credentials: "same-origin", headers: { "X-Pipelines-Tenant": tenant, Accept: accept } }
        : { method: method, headers: { Authorization: "JWT " + t, Accept: accept } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      return fetch(base + path, init).then(function (res) {
        if (res.status === 401 && session) {
          var err = new Error("Your session ended: sign in again (Connect Bitbucket).");
          err.status = 401;
          throw err;
        }
        if (res.status === 401 && !retried) {
          forgetToken();
          return send(method, path, body, accept, true);
        }
        return res;
      });
    });
  }

  function errorOf(res) {
    return res.text().then(function (text) {
      var message = "The request failed (HTTP " + res.status + ").";
      try {
        var body = JSON.parse(text);
        if (body && typeof body.error === "string") message = body.error;
      } catch {
        /* not JSON */
      }
      var err = new Error(message);
      err.status = res.status;
      throw err;
    });
  }

  /** Calls the JSON API; resolves with the body, rejects with an Error carrying the app's message and status. */
  function api(method, path, body) {
    return send(method, path, body, "application/json").then(function (res) {
      if (!res.ok) return errorOf(res);
      return res.status === 204 ? null : res.json();
    });
  }

  /** Fetches a fragment of a page (server-rendered HTML) as a document to take regions from. */
  function fragment(path) {
    return send("GET", path, undefined, "text/html").then(function (res) {
      if (!res.ok && res.status !== 404) return errorOf(res);
      return res.text().then(function (html) {
        return new DOMParser().parseFromString(html, "text/html");
      });
    });
  }

  /** Replaces the region `name` of this page with the one in `doc`. */
  function swap(doc, name) {
    var selector = '[data-region="' + name + '"]';
    var fresh = doc.querySelector(selector);
    var old = document.querySelector(selector);
    if (fresh && old) old.replaceWith(document.importNode(fresh, true));
    return !!(fresh && old);
  }

  /** Shows a message at the top of the page (kind: "error", "success" or nothing). */
  function message(text, kind) {
    var el = document.querySelector('[data-testid="message"]');
    if (!el) return;
    el.textContent = text || "";
    el.className = "message" + (kind ? " " + kind : "");
    el.hidden = !text;
  }

  /**
   * The query that authenticates the live log's EventSource (it cannot send headers): inside Bitbucket the context
   * token `t`; standalone the workspace (the session cookie goes with it).
   */
  function streamAuth(t) {
    return session ? { tenant: tenant } : { jwt: t };
  }

  /**
   * The live log of a step from byte `from`: an EventSource on the app's stream; inside the Forge app's page (no
   * stream through Forge) the same events polled from …/log/events. Either way: `onmessage` ({lastEventId, data}),
   * the `reset` and `end` events, `onerror`, `close()`, `readyState`.
   */
  function logStream(buildId, step, from, t) {
    var path = "/api/builds/" + buildId + "/steps/" + step + "/log";
    if (!forge) return new EventSource(base + path + "/stream" + query(Object.assign(streamAuth(t), { from: from })));
    var listeners = { reset: [], end: [] };
    var source = { readyState: 0, onmessage: null, onerror: null };
    var offset = from || 0;
    var timer = null;
    source.addEventListener = function (name, fn) {
      (listeners[name] = listeners[name] || []).push(fn);
    };
    source.close = function () {
      source.readyState = 2;
      clearTimeout(timer);
    };
    function emit(name, data) {
      listeners[name].forEach(function (fn) {
        fn({ data: JSON.stringify(data) });
      });
    }
    function poll() {
      if (source.readyState === 2) return;
      api("GET", path + "/events" + query({ from: offset }))
        .then(function (batch) {
          if (source.readyState === 2) return;
          source.readyState = 1;
          if (batch.reset) {
            offset = 0;
            emit("reset", {});
          } else {
            offset = batch.next;
            if (batch.html && source.onmessage) source.onmessage({ lastEventId: String(offset), data: JSON.stringify({ html: batch.html }) });
            if (batch.end) {
              emit("end", batch.end);
              source.readyState = 2;
              return;
            }
          }
          timer = setTimeout(poll, batch.html ? 200 : 1500);
        })
        .catch(function () {
          if (source.onerror) source.onerror();
          timer = setTimeout(poll, 3000);
        });
    }
    timer = setTimeout(poll, 0);
    return source;
  }

  /** A file from the app's API (a step's log): `{blob, name}`, the name from Content-Disposition. */
  function download(path) {
    return send("GET", path, undefined, "text/plain").then(function (res) {
      if (!res.ok) return errorOf(res);
      var m = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
      return res.blob().then(function (blob) {
        return { blob: blob, name: m ? m[1] : "pipelines.log" };
      });
    });
  }

  // ---- relative times: "3 min ago", the exact time on hover, kept current -----------------------------------------

  function relative(ms) {
    var s = Math.round((Date.now() - ms) / 1000);
    if (s < 45) return "just now";
    var m = Math.round(s / 60);
    if (m < 60) return m + " min ago";
    var h = Math.round(m / 60);
    if (h < 24) return h + " h ago";
    var d = Math.round(h / 24);
    if (d === 1) return "yesterday";
    if (d < 30) return d + " days ago";
    return new Date(ms).toISOString().slice(0, 10);
  }

  function refreshTimes() {
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(ms)) el.textContent = relative(ms);
    });
  }
  setInterval(refreshTimes, 30000);

  // ---- the page's state in the address -----------------------------------------------------------------------------
  // Standalone (and Bitbucket Server) pages are the top window: their own address. Inside Bitbucket, Connect's
  // AP.history keeps the state in the host page's address (`#!build=12&branch=main`), and gives it back on reload.

  var history = window.history;
  var apHistory = !session && !forge && typeof AP !== "undefined" && AP.history && typeof AP.history.pushState === "function" ? AP.history : null;

  function stateQuery(s) {
    var q = query(s);
    return q ? q.slice(1) : "";
  }

  function parseState(text) {
    var out = {};
    new URLSearchParams((text || "").replace(/^[#!?]+/, "")).forEach(function (v, k) {
      out[k] = v;
    });
    return out;
  }

  /** Records `s` ({build, branch, state}) as a new entry of the browser's history. */
  function pushState(s) {
    var q = stateQuery(s);
    if (apHistory) {
      apHistory.pushState(q);
    } else if (session) {
      var url = new URL(window.location.href);
      ["build", "branch", "state", "cursor"].forEach(function (k) {
        url.searchParams.delete(k);
      });
      new URLSearchParams(q).forEach(function (v, k) {
        url.searchParams.set(k, v);
      });
      if (url.href !== window.location.href) history.pushState(s, "", url.href);
    }
  }

  /** Calls `cb` with the state the address holds now (inside Bitbucket: the host's), or {} when it holds none. */
  function readState(cb) {
    if (apHistory && typeof apHistory.getState === "function") {
      var done = false;
      var answer = function (value) {
        if (done) return;
        done = true;
        cb(parseState(typeof value === "string" ? value : ""));
      };
      var sync = apHistory.getState("hash", answer);
      if (typeof sync === "string") answer(sync);
      return;
    }
    cb(session ? parseState(window.location.search) : {});
  }

  /** Calls `cb` with the state of the entry Back or Forward led to. */
  function onPopState(cb) {
    if (apHistory && typeof apHistory.popState === "function") {
      apHistory.popState(function (e) {
        cb(parseState(e && typeof e.state === "string" ? e.state : e && e.newURL ? String(e.newURL).split("#")[1] : ""));
      });
    } else if (session) {
      window.addEventListener("popstate", function () {
        cb(parseState(window.location.search));
      });
    }
  }

  window.Pipelines = { forge: forge, logStream: logStream, session: session, streamAuth: streamAuth, root: root, base: base, token: token, forgetToken: forgetToken, query: query, api: api, fragment: fragment, swap: swap, message: message, download: download, refreshTimes: refreshTimes, pushState: pushState, readState: readState, onPopState: onPopState };
})();
