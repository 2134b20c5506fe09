import type http from "node:http";
import zlib from "node:zlib";
import type { GitRunner } from "./git-exec";

/**
 * Git smart HTTP through the real `git http-backend` CGI: the request becomes CGI environment variables and
 * stdin (gzip request bodies, which git clients send for large negotiations, are inflated on the way), and
 * the CGI's output is parsed into a status, headers and a streamed body.
 */
export function serveGitHttp(
  git: GitRunner,
  projectRoot: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  pathInfo: string,
  query: string,
  remoteUser: string,
): Promise<void> {
  return new Promise((resolve) => {
    const encoding = String(req.headers["content-encoding"] ?? "").toLowerCase();
    const gzipped = encoding === "gzip" || encoding === "x-gzip";
    const env: NodeJS.ProcessEnv = {
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      SERVER_SOFTWARE: "bitbucket-standin",
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: pathInfo,
      QUERY_STRING: query,
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      REMOTE_USER: remoteUser,
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    };
    // Without CONTENT_LENGTH, http-backend reads the body to EOF (chunked requests, inflated gzip bodies).
    if (!gzipped && req.headers["content-length"] !== undefined) env.CONTENT_LENGTH = req.headers["content-length"];
    const protocol = req.headers["git-protocol"];
    if (typeof protocol === "string") env.HTTP_GIT_PROTOCOL = protocol;

    const child = git.spawn(["http-backend"], { extraEnv: env });
    let headersDone = false;
    let pending = Buffer.alloc(0);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      resolve();
    };

    const fail = (status: number, message: string): void => {
      if (!res.headersSent) {
        res.writeHead(status, { "Content-Type": "text/plain" });
        res.end(message);
      } else res.destroy();
      child.kill("SIGKILL");
      finish();
    };

    const input = child.stdin;
    if (input) {
      input.on("error", () => undefined);
      if (gzipped) {
        const gunzip = zlib.createGunzip();
        gunzip.on("error", () => fail(400, "the gzip request body is corrupt\n"));
        req.pipe(gunzip).pipe(input);
      } else req.pipe(input);
    }

    child.stderr?.resume();
    child.stdout?.on("data", (chunk: Buffer) => {
      if (headersDone) {
        if (!res.write(chunk)) {
          child.stdout?.pause();
          res.once("drain", () => child.stdout?.resume());
        }
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      const crlf = pending.indexOf("\r\n\r\n");
      const lf = pending.indexOf("\n\n");
      let end = -1;
      let sepLen = 0;
      if (crlf >= 0 && (lf < 0 || crlf < lf)) {
        end = crlf;
        sepLen = 4;
      } else if (lf >= 0) {
        end = lf;
        sepLen = 2;
      }
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of pending.subarray(0, end).toString("latin1").split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = parseInt(value, 10) || 500;
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      const rest = pending.subarray(end + sepLen);
      if (rest.length) res.write(rest);
    });
    child.on("error", (err) => fail(500, `git http-backend could not start: ${err.message}\n`));
    child.on("close", () => {
      if (!headersDone) fail(502, "git http-backend ended without an answer\n");
      else {
        res.end();
        finish();
      }
    });
    res.on("close", () => {
      if (!res.writableFinished) child.kill("SIGKILL");
      finish();
    });
  });
}
