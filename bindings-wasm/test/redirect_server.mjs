// A store endpoint that redirects, and the other host it redirects to (issue 16): two
// node:http servers on 127.0.0.1 (Node, Deno and Bun have node:http; workerd tests start
// them from the Node process that drives Miniflare).

import http from "node:http";

/** What the redirects' Location carries besides the other host; no error may show it. */
export const LOCATION_SECRET = "REDIRECT-SIGNATURE";

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/**
 * Starts a server answering every request with `status` (301 PermanentRedirect or 307
 * TemporaryRedirect, as S3 does for a bucket of another region) and a Location on a second
 * server, which records everything that reaches it (`received`: one entry per connection
 * and per request). Returns `{ endpoint, otherHost, received, close }`.
 */
export async function startRedirect(status) {
  const received = [];
  const other = await listen((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)} ${chunks.map(String).join("")}`);
      res.end();
    });
  });
  other.on("connection", () => received.push("a connection"));
  const otherHost = `127.0.0.1:${other.address().port}`;
  const code = status === 301 ? "PermanentRedirect" : "TemporaryRedirect";
  const redirector = await listen((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(status, {
        location: `http://${otherHost}${req.url.split("?")[0]}?X-Amz-Signature=${LOCATION_SECRET}`,
        "x-amz-bucket-region": "eu-west-1",
        "content-type": "application/xml",
        connection: "close",
      });
      res.end(`<Error><Code>${code}</Code><Message>m</Message><Endpoint>${otherHost}</Endpoint></Error>`);
    });
  });
  const close = () => Promise.all([redirector, other].map((s) => {
    s.closeAllConnections?.();
    return new Promise((resolve) => s.close(resolve));
  }));
  return { endpoint: `http://127.0.0.1:${redirector.address().port}`, otherHost, received, close };
}
