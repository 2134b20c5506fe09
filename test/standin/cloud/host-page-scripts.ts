/**
 * The two scripts of the host page: Bitbucket's Connect JavaScript API as the framed app sees it (`all.js`, served at
 * /atlassian-connect/all.js) and the host side that answers it. They talk with postMessage, as the real ones do; the
 * host asks the stand-in for a fresh context token of the installation the frame was opened for.
 */

/**
 * `all.js`: `AP.context.getToken(cb)`; `AP.history` as Connect's page modules have it (the state lives in the host
 * page's address as `#!state`: `pushState(state)`, `getState(type, cb)`, `popState(cb)` on Back/Forward); harmless
 * no-ops for the rest of AP a page may touch.
 */
export const AP_SCRIPT = `(function () {
  "use strict";
  if (window.AP) return;
  var pending = {};
  var pops = [];
  var next = 0;
  var framed = window.parent && window.parent !== window;
  window.addEventListener("message", function (e) {
    if (e.source !== window.parent) return;
    var m = e.data;
    if (m && m.type === "standin-ap-popstate") {
      pops.forEach(function (fn) { fn({ state: m.state, newURL: m.newURL, oldURL: m.oldURL }); });
      return;
    }
    if (!m || m.type !== "standin-ap-reply" || !pending[m.id]) return;
    var cb = pending[m.id];
    delete pending[m.id];
    cb(m.value);
  });
  function call(name, cb, value) {
    if (!framed) return cb(undefined);
    var id = ++next;
    pending[id] = cb;
    window.parent.postMessage({ type: "standin-ap", call: name, id: id, value: value }, "*");
  }
  function noop() {}
  window.AP = {
    context: { getToken: function (cb) { call("getToken", cb); } },
    history: {
      pushState: function (state) { call("pushState", noop, String(state)); },
      getState: function (type, cb) { call("getState", function (v) { if (typeof cb === "function") cb(v || ""); }); },
      popState: function (fn) { pops.push(fn); },
    },
    resize: noop,
    sizeToParent: noop,
  };
})();
`;

/** The host side: answers the frame's getToken with a token minted for this page's session. */
export function hostBrokerScript(session: string): string {
  return `(function () {
  "use strict";
  var session = ${JSON.stringify(session)};
  window.addEventListener("message", function (e) {
    var frame = document.querySelector('iframe[data-testid="host-frame"]');
    var m = e.data;
    if (!frame || e.source !== frame.contentWindow || !m || m.type !== "standin-ap") return;
    var reply = function (value) { e.source.postMessage({ type: "standin-ap-reply", id: m.id, value: value }, e.origin); };
    if (m.call === "pushState") {
      history.pushState(null, "", "#!" + String(m.value || ""));
      return reply(undefined);
    }
    if (m.call === "getState") return reply(location.hash.replace(/^#!?/, ""));
    if (m.call !== "getToken") return reply(undefined);
    fetch("/atlassian-connect/context-token", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ session: session }) })
      .then(function (res) { return res.ok ? res.json() : { token: undefined }; })
      .then(function (body) { reply(body.token); }, function () { reply(undefined); });
  });
  // Back and Forward: the frame's AP.history.popState callbacks hear of the state they led to.
  var last = location.href;
  window.addEventListener("popstate", function () {
    var frame = document.querySelector('iframe[data-testid="host-frame"]');
    if (frame) frame.contentWindow.postMessage({ type: "standin-ap-popstate", state: location.hash.replace(/^#!?/, ""), newURL: location.href, oldURL: last }, "*");
    last = location.href;
  });
})();
`;
}
