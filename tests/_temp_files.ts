/**
 * Temporary files for tests, made by child processes: the test task grants
 * `--allow-run` and `--allow-read` but no write permission.
 */

/** A new temporary directory, removed when the test file's run ends. */
export async function makeTempDir(): Promise<string> {
  const dir = new TextDecoder().decode(await run("mktemp", ["-d"])).trim();
  globalThis.addEventListener("unload", () => {
    new Deno.Command("rm", { args: ["-rf", dir] }).outputSync();
  });
  return dir;
}

/** Writes `text` to the file at `path`, replacing what was there. */
export async function writeTextFile(path: string, text: string): Promise<void> {
  // Not `tee`, whose copy on stdout would fill the pipe before `run` reads it.
  await run(
    "sh",
    ["-c", 'cat > "$1"', "sh", path],
    new TextEncoder().encode(text),
  );
}

/** Runs a command to its end; throws with its stderr if it fails. */
export async function run(
  command: string,
  args: string[],
  input?: Uint8Array,
): Promise<Uint8Array> {
  const child = new Deno.Command(command, {
    args,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
  }
  const { success, stdout, stderr } = await child.output();
  if (!success) {
    throw new Error(`${command}: ${new TextDecoder().decode(stderr)}`);
  }
  return stdout;
}
