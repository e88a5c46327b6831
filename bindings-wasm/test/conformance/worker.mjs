// The conformance runner inside workerd: a Worker (driven by workerd.mjs through Miniflare)
// that runs runner.mjs with the `s3keep/workerd` entry. Its bindings carry the case files
// (CASE_FILES, a JSON array of {name, text}: a Worker has no filesystem to read them from),
// the harness connection (S3_*), FILTER and CAPABILITIES, and for interop INTEROP_*.
//
//   GET /entries     the selected cases: [{label}] (their order is the run order)
//   GET /run?i=N     runs entry N: {verdict, line}
//   GET /interop     runs the interop phase as binding "workerd": {ok, lines}
//
// One request per case keeps every case within one request's limits and lets the driver
// print each line as soon as its case is done.
import * as api from "../../js/workerd.js";
import { effectiveCapabilities, providerOf, runEntry, runInterop, selectEntries } from "./runner.mjs";

/** workerd has raw S3 access (aws4fetch over fetch) but no local filesystem. */
const OWN_CAPABILITIES = ["rawS3", "s3Bucket"];

let entries;

function connection(env) {
  return {
    endpoint: env.S3_ENDPOINT,
    accessKeyId: env.S3_ACCESS_KEY,
    secretAccessKey: env.S3_SECRET_KEY,
    region: env.S3_REGION,
  };
}

function selected(env) {
  entries ??= selectEntries(JSON.parse(env.CASE_FILES), env.FILTER || undefined);
  return entries;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/entries") {
        return Response.json(selected(env).map((e) => ({ label: e.case ? e.case.name : e.file })));
      }
      if (url.pathname === "/run") {
        const entry = selected(env)[Number(url.searchParams.get("i"))];
        if (!entry) return new Response("no such entry", { status: 404 });
        const capabilities = effectiveCapabilities(OWN_CAPABILITIES, env.CAPABILITIES ?? null);
        const provider = providerOf(env.PROVIDER, env.PROVIDER_CAPABILITIES, undefined);
        const result = await runEntry(entry, { api, connection: connection(env), capabilities, provider, platform: undefined });
        return Response.json(result);
      }
      if (url.pathname === "/interop") {
        const lines = [];
        const ok = await runInterop({
          api, connection: connection(env), bucket: env.INTEROP_BUCKET, phase: env.INTEROP_PHASE, me: "workerd",
          expect: (env.INTEROP_EXPECT ?? "").split(",").map((s) => s.trim()).filter(Boolean),
          print: (line) => lines.push(line),
        });
        return Response.json({ ok, lines });
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      return new Response(`worker error: ${e?.stack ?? e}`, { status: 500 });
    }
  },
};
