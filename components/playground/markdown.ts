import { defaultUrlTransform, type Options } from "react-markdown";

/**
 * How the playground renders a model's answer: Markdown (lists, code blocks, links) but never HTML — raw HTML in the
 * text is dropped, not rendered — and links only to http(s) and mailto (react-markdown's safe URL rule).
 */
export const ANSWER_MARKDOWN: Omit<Options, "children"> = {
  skipHtml: true,
  urlTransform: defaultUrlTransform,
};
