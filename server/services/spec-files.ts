import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { NotFoundError, ValidationError } from '../errors.js';

/** A spec file in the experiments folder, as the "New experiment" page lists it. */
export type SpecFile = {
  /** File name only; the web never sends or receives a path. */
  readonly fileName: string;
  /** The spec's `name` and `description`, when the file parses. */
  readonly specName: string | null;
  readonly description: string | null;
};

/** Spec files larger than this are refused (they are a few hundred bytes in practice). */
export const MAX_SPEC_BYTES = 256 * 1024;
const SPEC_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.(ya?ml|json)$/;

/** True when `path` is `root` itself or inside it (both already resolved). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Reads spec files from the experiments folder by file name. A name is accepted only if it is
 * one of the folder's own entries (so `../`, absolute paths and encoded variants never match)
 * and its real path, after symlinks, stays inside the folder.
 */
export class SpecFiles {
  readonly #dir: string;

  constructor(experimentsDir: string) {
    this.#dir = experimentsDir;
  }

  #fileNames(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return [];
    }
    return names.filter((name) => SPEC_FILE_NAME.test(name) && this.#resolve(name) !== null).sort();
  }

  /** Real path of a listed file, or null when it is not a regular file inside the folder. */
  #resolve(fileName: string): string | null {
    try {
      const root = realpathSync(this.#dir);
      const path = realpathSync(join(root, fileName));
      if (!isInside(root, path) || !statSync(path).isFile()) return null;
      return path;
    } catch {
      return null;
    }
  }

  list(): SpecFile[] {
    return this.#fileNames().map((fileName) => {
      let specName: string | null = null;
      let description: string | null = null;
      try {
        const raw = parseYaml(this.read(fileName)) as { name?: unknown; description?: unknown } | null;
        if (typeof raw?.name === 'string') specName = raw.name;
        if (typeof raw?.description === 'string') description = raw.description;
      } catch {
        // Listed anyway: starting it shows the parse error next to the field.
      }
      return { fileName, specName, description };
    });
  }

  /**
   * @throws {ValidationError} when `fileName` is not a plain spec file name.
   * @throws {NotFoundError} when no such file is in the folder.
   */
  read(fileName: string): string {
    if (!SPEC_FILE_NAME.test(fileName)) {
      throw new ValidationError(`specFile: expected the name of a .yaml, .yml or .json file in the experiments folder, got "${fileName}"`, [
        { path: 'specFile', message: 'expected a file name such as default.yaml (no folders)' },
      ]);
    }
    const path = this.#fileNames().includes(fileName) ? this.#resolve(fileName) : null;
    if (path === null) throw new NotFoundError(`no spec file named "${fileName}" in the experiments folder`);
    if (statSync(path).size > MAX_SPEC_BYTES) {
      throw new ValidationError(`specFile: "${fileName}" is larger than ${MAX_SPEC_BYTES / 1024} kB`, [
        { path: 'specFile', message: 'file too large' },
      ]);
    }
    return readFileSync(path, 'utf8');
  }
}
