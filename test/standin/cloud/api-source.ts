import { ApiError, ok, paginate, repoApiPath, tenantRepository, type Route } from "./api-route";
import { commitLinks, commitObject, repositoryMini } from "./objects";
import { pullRequestObject } from "./payloads";

/** GET …/commit/{hash}, …/src/{commit}/{path}, …/pullrequests/{id}: read from the real git repository. */
export const sourceRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/commit\/([^/]+)\/?$/,
    scopes: ["repository"],
    handle: async (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      const { repos, state } = req.ctx;
      const hash = await repos.resolve(repo.gitDir, req.params[2]);
      if (!hash) throw new ApiError(404, `Commit not found: ${req.params[2]}`);
      const info = await repos.commitInfo(repo.gitDir, hash);
      return ok({ ...commitObject(state.urls, state.developer, repo, info, true), repository: repositoryMini(state.urls, repo) });
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/src\/([^/]+)\/?(.*)$/,
    scopes: ["repository"],
    handle: async (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      const [, , rev, filePath] = req.params;
      const { repos, state } = req.ctx;
      const found = await repos.readPath(repo.gitDir, rev, filePath);
      if (!found) throw new ApiError(404, `No such file or directory: ${filePath}`);
      const srcBase = `${state.urls.api}${repoApiPath(repo)}/src/${found.hash}`;
      const commit = { hash: found.hash, links: commitLinks(state.urls, repo, found.hash), type: "commit" };
      if (found.type === "blob") {
        if (req.query.get("format") === "meta") {
          return ok({
            path: filePath,
            commit,
            type: "commit_file",
            attributes: [],
            escaped_path: filePath,
            size: found.content.length,
            mimetype: null,
            links: {
              self: { href: `${srcBase}/${filePath}` },
              meta: { href: `${srcBase}/${filePath}?format=meta` },
              history: { href: `${state.urls.api}${repoApiPath(repo)}/filehistory/${found.hash}/${filePath}` },
            },
          });
        }
        return { status: 200, raw: { body: found.content, contentType: "text/plain" } };
      }
      const values = found.entries.map((e) => ({
        path: e.path,
        commit,
        type: e.type === "tree" ? "commit_directory" : "commit_file",
        ...(e.type === "blob" ? { size: e.size, attributes: [], escaped_path: e.path, mimetype: null } : {}),
        links: { self: { href: `${srcBase}/${e.path}${e.type === "tree" ? "/" : ""}` } },
      }));
      return ok(paginate(req, `${repoApiPath(repo)}/src/${rev}/${filePath}`, values));
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/pullrequests\/(\d+)\/?$/,
    scopes: ["pullrequest"],
    handle: (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      const spec = repo.pullRequests.get(Number(req.params[2]));
      if (!spec) throw new ApiError(404, `Pull request ${req.params[2]} not found.`);
      const { state } = req.ctx;
      const srcRepo = spec.source.repository ? state.findRepository(spec.source.repository.workspace, spec.source.repository.slug) : undefined;
      return ok(pullRequestObject({ urls: state.urls, dev: state.developer, ws: state.workspace(repo.workspace), repo }, spec, undefined, srcRepo));
    },
  },
];
