/**
 * The client's IP address, for everything that keys, logs or records a client by address (rate limits, sign-in
 * back-off, the access log, the request context). Express computes it as `req.ip` from the app's `trust proxy`
 * setting (TRUST_PROXY, set in createApp): the connecting peer, or, when that peer is a proxy TRUST_PROXY names, the
 * address the proxy appended to X-Forwarded-For. Never read the socket or the header directly: behind a load balancer
 * the socket is the balancer's, and a header a direct client sent is whatever it chose.
 */
export function clientIp(req: { readonly ip?: string }): string | undefined {
  return req.ip;
}
