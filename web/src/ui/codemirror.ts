/** CodeMirror 6, loaded on demand: one view whose document follows the selected file. */
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching,
  foldGutter,
  HighlightStyle,
  indentOnInput,
  syntaxHighlighting,
  type LanguageSupport,
} from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { languageOf } from "../state/tree";

export interface EditorHandle {
  show(path: string, content: string, readOnly: boolean): void;
  /** The selected text ("" when nothing is selected). */
  selection(): string;
  destroy(): void;
}

async function languageFor(path: string): Promise<LanguageSupport | null> {
  switch (languageOf(path)) {
    case "javascript":
      return (await import("@codemirror/lang-javascript")).javascript();
    case "jsx":
      return (await import("@codemirror/lang-javascript")).javascript({ jsx: true });
    case "typescript":
      return (await import("@codemirror/lang-javascript")).javascript({ typescript: true });
    case "tsx":
      return (await import("@codemirror/lang-javascript")).javascript({ typescript: true, jsx: true });
    case "html":
      return (await import("@codemirror/lang-html")).html();
    case "css":
      return (await import("@codemirror/lang-css")).css();
    case "json":
      return (await import("@codemirror/lang-json")).json();
    case "vue":
      return (await import("@codemirror/lang-vue")).vue();
    case "python":
      return (await import("@codemirror/lang-python")).python();
    default:
      return null;
  }
}

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "13px", backgroundColor: "var(--panel)", color: "var(--text)" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.6" },
  ".cm-gutters": { backgroundColor: "var(--panel)", color: "var(--muted)", border: "none" },
  ".cm-activeLineGutter": { backgroundColor: "transparent", color: "var(--text)" },
  ".cm-activeLine": { backgroundColor: "var(--panel-2)" },
  "&.cm-focused": { outline: "2px solid var(--focus)", outlineOffset: "-2px" },
  ".cm-content": { padding: "8px 0", caretColor: "var(--text)" },
  ".cm-cursor": { borderLeftColor: "var(--text)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground": { backgroundColor: "var(--selection) !important" },
  ".cm-foldPlaceholder": { backgroundColor: "var(--hover)", color: "var(--muted)", border: "none" },
});

/** Token colours from CSS variables, so the light and dark themes both keep AA contrast. */
const highlight = HighlightStyle.define([
  { tag: [tags.keyword, tags.operatorKeyword, tags.modifier, tags.controlKeyword], color: "var(--code-keyword)" },
  { tag: [tags.string, tags.special(tags.string), tags.regexp], color: "var(--code-string)" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: "var(--code-number)" },
  { tag: [tags.comment, tags.lineComment, tags.blockComment], color: "var(--code-comment)", fontStyle: "italic" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName), tags.definition(tags.variableName)], color: "var(--code-name)" },
  { tag: [tags.tagName, tags.angleBracket], color: "var(--code-tag)" },
  { tag: [tags.typeName, tags.className, tags.attributeName, tags.propertyName], color: "var(--code-type)" },
  { tag: tags.invalid, color: "var(--err)" },
]);

export function createEditor(
  parent: HTMLElement,
  onChange: (path: string, content: string) => void,
): EditorHandle {
  const language = new Compartment();
  const readOnly = new Compartment();
  let current: string | null = null;
  let token = 0;

  const base: Extension[] = [
    lineNumbers(),
    highlightActiveLineGutter(),
    foldGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    syntaxHighlighting(highlight),
    keymap.of([indentWithTab, ...defaultKeymap, ...historyKeymap, ...searchKeymap]),
    theme,
    EditorView.lineWrapping,
    EditorView.contentAttributes.of({ "aria-label": "Code editor. Press Escape, then Tab, to leave it." }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged && current && update.transactions.some((t) => t.isUserEvent("input") || t.isUserEvent("delete") || t.isUserEvent("undo") || t.isUserEvent("redo") || t.isUserEvent("move"))) {
        onChange(current, update.state.doc.toString());
      }
    }),
  ];

  const stateFor = (content: string, ro: boolean): EditorState =>
    EditorState.create({
      doc: content,
      extensions: [
        ...base,
        language.of([]),
        readOnly.of([EditorState.readOnly.of(ro), EditorView.editable.of(!ro)]),
      ],
    });

  const view = new EditorView({ parent, state: stateFor("", true) });

  return {
    show(path, content, ro) {
      if (path !== current) {
        current = path;
        view.setState(stateFor(content, ro));
        const mine = ++token;
        void languageFor(path).then((lang) => {
          if (mine === token && lang) view.dispatch({ effects: language.reconfigure(lang) });
        });
        return;
      }
      const doc = view.state.doc.toString();
      const effects = readOnly.reconfigure([EditorState.readOnly.of(ro), EditorView.editable.of(!ro)]);
      if (doc === content) {
        view.dispatch({ effects });
      } else if (content.startsWith(doc)) {
        // Streaming: append and keep the newest line in view.
        view.dispatch({
          changes: { from: doc.length, insert: content.slice(doc.length) },
          effects: [effects, EditorView.scrollIntoView(content.length)],
        });
      } else {
        view.dispatch({ changes: { from: 0, to: doc.length, insert: content }, effects });
      }
    },
    selection() {
      const { from, to } = view.state.selection.main;
      return view.state.sliceDoc(from, to);
    },
    destroy() {
      view.destroy();
    },
  };
}
