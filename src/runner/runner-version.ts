import pkg from "../../package.json";

/** The version of Pipelines this runner runs (package.json's), as it announces it to the server. */
export const RUNNER_VERSION: string = pkg.version;
