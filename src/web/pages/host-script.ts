/** The Connect JavaScript API (AP) that Bitbucket serves for pages framed inside it, from the tenant's own site. */
export function hostScriptUrl(tenantBaseUrl: string): string {
  return `${tenantBaseUrl.replace(/\/+$/, "")}/atlassian-connect/all.js`;
}
