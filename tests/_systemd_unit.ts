/**
 * A systemd unit file as its sections' `Key=Value` settings, for tests to
 * check. Enough of systemd's syntax for our own unit: comments, `\`
 * continuations and keys given more than once.
 *
 * @example
 * ```ts
 * import { SystemdUnit } from "./_systemd_unit.ts";
 * import assert from "node:assert/strict";
 *
 * const unit = new SystemdUnit(
 *   "[Service]\n# why\nEnvironment=A=1\nEnvironment=B=2\nTimeoutStopSec=1min 30s\n",
 * );
 * assert.deepEqual(unit.all("Service", "Environment"), ["A=1", "B=2"]);
 * assert.equal(unit.seconds("Service", "TimeoutStopSec"), 90);
 * ```
 */
export class SystemdUnit {
  readonly #sections = new Map<string, Map<string, string[]>>();

  /** Parses the text of a unit file. */
  constructor(text: string) {
    let settings: Map<string, string[]> | undefined;
    for (const line of text.replaceAll(/\\\n/g, " ").split("\n")) {
      const trimmed = line.trim();
      if (trimmed === "" || /^[#;]/.test(trimmed)) continue;
      const section = trimmed.match(/^\[(.+)\]$/);
      if (section) {
        settings = new Map();
        this.#sections.set(section[1], settings);
        continue;
      }
      const setting = trimmed.match(/^([A-Za-z0-9]+)\s*=\s*(.*)$/);
      if (!setting || !settings) {
        throw new SyntaxError(`Cannot parse unit file line: "${line}"`);
      }
      const [, key, value] = setting;
      settings.set(key, [...settings.get(key) ?? [], value]);
    }
  }

  /** Every value given to `key` in `section`, in order. */
  all(section: string, key: string): string[] {
    return this.#sections.get(section)?.get(key) ?? [];
  }

  /** The value that counts for `key` in `section`: the last one given. */
  get(section: string, key: string): string | undefined {
    return this.all(section, key).at(-1);
  }

  /** A time span setting such as `TimeoutStopSec=1min 30s`, in seconds. */
  seconds(section: string, key: string): number | undefined {
    const value = this.get(section, key);
    if (value === undefined) return undefined;
    const units: Record<string, number> = {
      "": 1,
      ms: 0.001,
      s: 1,
      sec: 1,
      m: 60,
      min: 60,
      h: 3600,
      hr: 3600,
    };
    let total = 0;
    for (const part of value.split(/\s+/)) {
      const [, amount, unit] = part.match(/^(\d+(?:\.\d+)?)([a-z]*)$/) ?? [];
      if (amount === undefined || !(unit in units)) {
        throw new SyntaxError(`Cannot parse ${key} time span: "${value}"`);
      }
      total += Number(amount) * units[unit];
    }
    return total;
  }
}
