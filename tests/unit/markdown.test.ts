// The playground renders a model's answer as Markdown, never as HTML: a model (or a prompt injection through it)
// cannot put markup, scripts or javascript: links on a developer's page.
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import ReactMarkdown from "react-markdown";
import { describe, expect, it } from "vitest";
import { ANSWER_MARKDOWN } from "@/components/playground/markdown";

const render = (text: string) => renderToStaticMarkup(createElement(ReactMarkdown, ANSWER_MARKDOWN, text));

describe("answers in the playground", () => {
  it("render Markdown: emphasis, lists and code blocks", () => {
    const html = render("**bold** and `code`\n\n- one\n- two\n\n```js\nconst x = 1;\n```");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<li>one</li>");
    expect(html).toContain('<pre><code class="language-js">const x = 1;');
  });

  it("never render raw HTML or script links", () => {
    const html = render(
      'Hi <img src=x onerror="alert(1)"> <script>alert(2)</script> [click](javascript:alert(3)) <b>raw</b>',
    );
    expect(html).not.toMatch(/<img|<script|<b>|onerror|javascript:/);
    expect(html).toContain("click");
  });
});
