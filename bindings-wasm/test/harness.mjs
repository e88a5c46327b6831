// MinIO for JavaScript tests (Node; also importable from Deno and Bun, which provide
// node:child_process). Uses the server named by S3KEEP_TEST_* when a runner started one
// (`scripts/minio_harness.py run -- ...`), else spawns `minio_harness.py serve`, which stops
// MinIO and deletes its data when this process exits.
import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const HARNESS = `${REPO}scripts/minio_harness.py`;

let server; // one MinIO per process, started on first use

/** Connection details: { endpoint, accessKeyId, secretAccessKey, region, mcConfigDir, mcAlias, mcBin }. */
export function minio() {
  server ??= fromEnv() ?? spawnHarness();
  return Promise.resolve(server);
}

function fromEnv() {
  const e = process.env;
  if (!e.S3KEEP_TEST_ENDPOINT) return undefined;
  return {
    endpoint: e.S3KEEP_TEST_ENDPOINT,
    accessKeyId: e.S3KEEP_TEST_ACCESS_KEY,
    secretAccessKey: e.S3KEEP_TEST_SECRET_KEY,
    region: e.S3KEEP_TEST_REGION ?? "us-east-1",
    mcConfigDir: e.S3KEEP_TEST_MC_CONFIG_DIR,
    mcAlias: e.S3KEEP_TEST_MC_ALIAS ?? "s3keep",
    mcBin: e.S3KEEP_MC_BIN,
  };
}

function spawnHarness() {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [HARNESS, "serve", "--watch-pid", String(process.pid)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    // The harness outlives nothing but us; never let it keep the event loop alive.
    child.unref();
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`minio_harness.py serve exited with ${code}`)));
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      lines.close();
      child.stdout.destroy();
      const j = JSON.parse(line);
      resolve({
        endpoint: j.endpoint,
        accessKeyId: j.access_key,
        secretAccessKey: j.secret_key,
        region: j.region,
        mcConfigDir: j.mc_config_dir,
        mcAlias: j.mc_alias,
        mcBin: j.mc_bin,
      });
    });
  });
}

/** A random bucket name (lowercase, valid) so tests never share state. */
export function freshBucketName(prefix = "t") {
  return `${prefix}-${randomBytes(8).toString("hex")}`;
}

/** Runs `mc ARGS` against the test server (alias: (await minio()).mcAlias); resolves to stdout. */
export async function mc(...args) {
  const m = await minio();
  const { stdout } = await promisify(execFile)(m.mcBin, ["--no-color", ...args], {
    env: { ...process.env, MC_CONFIG_DIR: m.mcConfigDir },
  });
  return stdout;
}
