import type { FailureInjector } from "./failures";
import type { GitRunner } from "./git-exec";
import type { GitRepos } from "./git-repos";
import type { State } from "./state";
import type { TokenStore } from "./tokens";

/** What the site and API servers share. */
export interface ServerContext {
  state: State;
  tokens: TokenStore;
  failures: FailureInjector;
  git: GitRunner;
  repos: GitRepos;
  tokenTtlSeconds: number;
}
