/** The public URL of an application's status badge for `branch` (each path segment of the branch encoded). */
export function badgeUrl(appBaseUrl: string, badgeToken: string, branch: string): string {
  return `${appBaseUrl.replace(/\/+$/, "")}/badges/${badgeToken}/${branch.split("/").map(encodeURIComponent).join("/")}.svg`;
}
