// sky-language.js — `.sky` highlighting for CodeMirror 6 as a StreamLanguage:
// a line tokenizer after docs/language.md's lexical structure, small enough to
// need no grammar build step (a Lezer grammar would need its generator).

import { StreamLanguage, HighlightStyle } from "@codemirror/language";
import { tags } from "@lezer/highlight";

const KEYWORDS = new Set(["param", "let", "fn", "out", "in"]);
const INPUTS = new Set([
  "x", "y", "z", "pos", "r", "theta", "strip", "led", "leds", "index", "prev", "t", "dt", "frame", "strips",
  "count",
]);
const CONSTANTS = new Set(["pi", "tau", "e"]);
const BUILTINS = new Set([
  "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "exp2", "log", "log2", "sqrt",
  "inversesqrt", "abs", "sign", "floor", "ceil", "round", "trunc", "fract", "radians", "degrees", "pow", "mod",
  "min", "max", "step", "distance", "dot", "cross", "clamp", "mix", "smoothstep", "length", "normalize", "vec2",
  "vec3", "rgb", "hsv", "palette", "wave", "triangle", "square", "saw", "time", "decay", "hash", "noise", "fbm",
  "sum", "product",
]);

const sky = {
  name: "sky",
  startState: () => ({ declares: false, inParam: false }),
  token(stream, state) {
    if (stream.eatSpace()) return null;
    if (stream.match("#") || stream.match("//")) {
      stream.skipToEnd();
      return "comment";
    }
    // Numbers: 12 1.5 .5 3. 1e-3; a `.` followed by `.` is a range, not a decimal point.
    if (stream.match(/^(\d+(\.(?!\.)\d*)?|\.\d+)([eE][+-]?\d+)?/)) return "number";
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/);
    if (word) {
      const name = word[0];
      if (state.declares) {
        state.declares = false;
        return "def";
      }
      if (KEYWORDS.has(name)) {
        state.declares = name === "param" || name === "let" || name === "fn";
        if (name !== "in") state.inParam = name === "param";
        return "keyword";
      }
      // `color` after a param's value marks it a colour; elsewhere it is a plain name.
      if (name === "color" && state.inParam && !stream.match(/^\s*\(/, false)) return "keyword";
      if (CONSTANTS.has(name)) return "atom";
      if (INPUTS.has(name)) return "variable-2";
      if (BUILTINS.has(name)) return "builtin";
      return "variable";
    }
    if (stream.match(/^(\.\.|<=|>=|==|!=|&&|\|\||[-+*/%^<>!?:=])/)) return "operator";
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: "#" } },
};

export const skyLanguage = StreamLanguage.define(sky);

export const skyHighlight = HighlightStyle.define([
  { tag: tags.comment, color: "#8a93a0", fontStyle: "italic" },
  { tag: tags.keyword, color: "#ff9e64", fontWeight: "bold" },
  { tag: tags.number, color: "#9ece6a" },
  { tag: tags.atom, color: "#e0af68" },
  { tag: tags.special(tags.variableName), color: "#7dcfff" },
  { tag: tags.standard(tags.variableName), color: "#bb9af7" },
  { tag: tags.definition(tags.variableName), color: "#f7f7a0" },
  { tag: tags.operator, color: "#c0caf5" },
]);
