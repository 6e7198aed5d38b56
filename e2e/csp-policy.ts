// What the Chromium suite (csp.spec.ts) and the Firefox suite (firefox/csp.test.ts) check of a
// Content-Security-Policy, written once: the violation record, the document listener that makes
// one, the policy parser and the strict parts every page policy must have. Free of either test
// framework; the functions run in a page are serialized on their own, as in page-scripts.ts.

/** One `securitypolicyviolation`, as the watch records it. */
export interface Violation {
  /** The document that reported it, or the service worker's script. */
  url: string;
  directive: string;
  blocked: string;
  source: string;
  sample: string;
  /** The policy that was violated, as the document or the worker received it (Firefox's worker: the violated directive as its console line quotes it). */
  policy: string;
}

/** Console lines about CSP, in any browser. */
export const CSP_LINE = /Content[ -]Security[ -]Policy|unsafe-eval|unsafe-inline/i;

/**
 * Run in a document before any of its scripts: records each `securitypolicyviolation` in the
 * page's global `cspViolations` (what `recordedViolationsInPage` reads) and hands it to `report` at
 * once, since a redirect leaves the document and its global with it.
 */
export function watchDocumentViolations(report: (violation: Violation) => void): void {
  const w = window as unknown as { cspViolations: Violation[] };
  w.cspViolations = [];
  document.addEventListener(
    'securitypolicyviolation',
    (event) => {
      const violation = { url: location.href, directive: event.effectiveDirective, blocked: event.blockedURI, source: `${event.sourceFile}:${event.lineNumber}`, sample: event.sample, policy: event.originalPolicy };
      w.cspViolations.push(violation);
      report(violation);
    },
    { capture: true },
  );
}

/** Run in a page: what its document recorded (the current document only). */
export function recordedViolationsInPage(): Violation[] {
  return (window as unknown as { cspViolations?: Violation[] }).cspViolations ?? [];
}

/** A policy header as directive → sources. */
export function parsePolicy(header: string): Record<string, string[]> {
  return Object.fromEntries(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

/** The strict parts every page policy must have, whatever its origins. */
const STRICT_PAGE: Record<string, string[]> = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'worker-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** How a page policy falls short of the strict parts: empty when it has them all, and no unsafe-inline or unsafe-eval anywhere. */
export function strictPageDeviations(policy: Record<string, string[]>): string[] {
  const deviations: string[] = [];
  for (const [directive, sources] of Object.entries(STRICT_PAGE)) {
    if (policy[directive]?.join(' ') !== sources.join(' ')) deviations.push(`${directive} is "${policy[directive]?.join(' ') ?? '(missing)'}", not "${sources.join(' ')}"`);
  }
  for (const [directive, sources] of Object.entries(policy)) {
    for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'"]) if (sources.includes(unsafe)) deviations.push(`${directive} allows ${unsafe}`);
  }
  return deviations;
}
