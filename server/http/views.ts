import Handlebars from 'handlebars';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpers } from './helpers.js';

export const WEB_DIR = fileURLToPath(new URL('../../web', import.meta.url));

type Template = Handlebars.TemplateDelegate;

/**
 * The handlebars pages, partials and layout, compiled once. Only the layout uses a
 * triple-stash (for the page body it wraps); everything else is `{{ }}`, escaped.
 */
export class Views {
  readonly #handlebars = Handlebars.create();
  readonly #pages = new Map<string, Template>();
  readonly #layout: Template;

  constructor(viewsDir = join(WEB_DIR, 'views')) {
    for (const [name, helper] of Object.entries(helpers)) this.#handlebars.registerHelper(name, helper as Handlebars.HelperDelegate);
    const compile = (path: string) => this.#handlebars.compile(readFileSync(path, 'utf8'), { preventIndent: true });
    for (const file of readdirSync(join(viewsDir, 'partials')).filter((f) => f.endsWith('.hbs'))) {
      this.#handlebars.registerPartial(basename(file, '.hbs'), readFileSync(join(viewsDir, 'partials', file), 'utf8'));
    }
    for (const file of readdirSync(viewsDir).filter((f) => f.endsWith('.hbs')))
      this.#pages.set(basename(file, '.hbs'), compile(join(viewsDir, file)));
    this.#layout = compile(join(viewsDir, 'layouts', 'main.hbs'));
  }

  /** A full page: the page template inside the layout. `context.title` names the tab. */
  page(name: string, context: Record<string, unknown>): string {
    const page = this.#pages.get(name);
    if (!page) throw new Error(`no view named ${name}`);
    return this.#layout({ ...context, body: page(context) });
  }

  /**
   * Some partials of a page, for live refreshes, each inside its own <template> (so table rows
   * parse anywhere; in one shared template a <tbody> after a <section> would be dropped): the
   * browser swaps each element with the same id.
   */
  fragments(names: readonly string[], context: Record<string, unknown>): string {
    const parts = names.map((name) => {
      const partial = this.#handlebars.partials[name];
      if (partial === undefined) throw new Error(`no partial named ${name}`);
      const template =
        typeof partial === 'function' ? (partial as Template) : this.#handlebars.compile(partial as string, { preventIndent: true });
      this.#handlebars.partials[name] = template;
      return `<template data-fragment="${name}">${template(context)}</template>`;
    });
    return parts.join('\n');
  }
}
