import { describe, expect, it } from "vitest";
import { findEntry } from "./bundler";
import { appDocument, linkedStylesheets } from "./frame";

const INDEX = `<!doctype html>
<html><head><title>T</title><link rel="stylesheet" href="/src/extra.css"><link rel="stylesheet" href="https://cdn.example/x.css"></head>
<body><div id="root"></div><script type="module" src="/src/main.tsx"></script></body></html>`;

function doc(js = "console.log(1)"): string {
  return appDocument({
    indexHtml: INDEX,
    js,
    css: "h1{color:red}",
    importMap: { imports: { react: "http://o/vendor/react.js" } },
    parentOrigin: "http://o",
  });
}

describe("the app document", () => {
  it("replaces the project's module script with the bundle", () => {
    const html = doc();
    expect(html).not.toContain('src="/src/main.tsx"');
    expect(html).toContain("console.log(1)");
  });

  it("keeps the project's body markup", () => {
    expect(doc()).toContain('<div id="root"></div>');
  });

  it("declares the import map before the bundle runs", () => {
    const html = doc();
    expect(html.indexOf('type="importmap"')).toBeGreaterThan(-1);
    expect(html.indexOf('type="importmap"')).toBeLessThan(html.indexOf("console.log(1)"));
    expect(html).toContain('"react":"http://o/vendor/react.js"');
  });

  it("injects the CSS as a style element", () => {
    expect(doc()).toContain('<style data-kiln="bundle">h1{color:red}</style>');
  });

  it("cannot be closed early by a script tag inside the bundle", () => {
    const html = doc('const s = "</script><b>x</b>"');
    expect(html).toContain("<\\/script><b>x</b>");
    expect(html.match(/<\/script>/g)).toHaveLength(html.match(/<script\b/g)?.length ?? 0);
  });

  it("drops local stylesheets (their CSS is inlined) and keeps remote ones", () => {
    const html = doc();
    expect(html).not.toContain('href="/src/extra.css"');
    expect(html).toContain('href="https://cdn.example/x.css"');
    expect(linkedStylesheets(INDEX)).toEqual(["src/extra.css"]);
  });

  it("posts problems only to the parent's origin", () => {
    expect(doc()).toContain('var P = "http://o"');
  });
});

describe("packages and Tailwind in the app document", () => {
  const withPackages = (): string =>
    appDocument({
      indexHtml: INDEX,
      js: "console.log(1)",
      css: "",
      importMap: { imports: { "react-day-picker/": "http://o/pkg/react-day-picker@9.4.0/" } },
      parentOrigin: "http://o",
      packageCss: ["http://o/pkg/react-day-picker@9.4.0/style.css"],
      packageUrls: ["http://o/pkg/react-day-picker@9.4.0"],
      preload: ["http://o/pkg/react-day-picker@9.4.0"],
      tailwind: { compiler: "http://o/vendor/tailwind/tailwind.js", entries: ["src/index.css"], sources: { "src/index.css": '@import "tailwindcss";' }, modules: {}, candidates: ["bg-brand"] },
      advice: { package_needs_node: "choose a browser package" },
    });

  it("links stylesheets imported from packages in the head, after the import map", () => {
    const html = withPackages();
    const link = html.indexOf('<link rel="stylesheet" href="http://o/pkg/react-day-picker@9.4.0/style.css">');
    expect(link).toBeGreaterThan(html.indexOf('type="importmap"'));
    expect(link).toBeLessThan(html.indexOf("</head>"));
  });

  it("preloads the bundle's packages and the Tailwind compiler after the import map", () => {
    const html = withPackages();
    const map = html.indexOf('type="importmap"');
    for (const url of ["http://o/pkg/react-day-picker@9.4.0", "http://o/vendor/tailwind/tailwind.js"]) {
      const link = html.indexOf(`<link rel="modulepreload" href="${url}">`);
      expect(link).toBeGreaterThan(map);
      expect(link).toBeLessThan(html.indexOf("</head>"));
    }
  });

  it("fetches Tailwind's own stylesheet while the compiler loads", () => {
    expect(withPackages()).toContain('<link rel="preload" as="fetch" crossorigin href="http://o/vendor/tailwind/index.css">');
  });

  it("compiles Tailwind in the frame while the packages load, before the app's code runs", () => {
    const html = withPackages();
    expect(html).toContain('"compiler":"http://o/vendor/tailwind/tailwind.js"');
    expect(html).toContain('"candidates":["bg-brand"]');
    expect(html).toContain("globalThis.__kilnStyled = K.tw ? tailwind(K.tw)");
    expect(html).toContain('await globalThis.__kilnStyled;\\n\' + K.js))');
  });

  it("takes Tailwind's CSS compiled by the page as a style before the app's, with no compiler", () => {
    const html = appDocument({ indexHtml: INDEX, js: "1", css: ".app{}", importMap: { imports: {} }, parentOrigin: "http://o", tailwind: null, tailwindCss: ".bg-brand{x:y}</style><script>" });
    const tw = html.indexOf('<style data-kiln="tailwind">.bg-brand{x:y}<\\/style><script></style>');
    expect(tw).toBeGreaterThan(0);
    expect(tw).toBeLessThan(html.indexOf('<style data-kiln="bundle">.app{}</style>'));
    expect(html).not.toContain("tailwind.js");
    expect(html).toContain('"tw":null');
  });

  it("keeps the package URLs and advice to name a package that fails to load", () => {
    const html = withPackages();
    expect(html).toContain('"urls":["http://o/pkg/react-day-picker@9.4.0"]');
    expect(html).toContain('"package_needs_node":"choose a browser package"');
  });
});

describe("the entry module", () => {
  it("is the module index.html loads", () => {
    const files = new Map([
      ["index.html", INDEX],
      ["src/main.tsx", ""],
      ["src/main.js", ""],
    ]);
    expect(findEntry(files)).toBe("src/main.tsx");
  });

  it("falls back to a conventional main file without index.html", () => {
    expect(findEntry(new Map([["src/main.js", ""]]))).toBe("src/main.js");
  });

  it("is null when there is none", () => {
    expect(findEntry(new Map([["README.md", ""]]))).toBeNull();
  });
});
