#![allow(clippy::unwrap_used)]
use super::*;

fn files(list: &[(&str, &str)]) -> Files {
    let mut f = Files::default();
    for (p, t) in list {
        f.files.insert((*p).to_string(), t.as_bytes().to_vec());
    }
    f
}

fn md(src: &str) -> String {
    convert(&Files::default(), "page.mdx", src, true).0
}

#[test]
fn callouts_become_alerts() {
    for (tag, kind) in [
        ("Note", "NOTE"),
        ("Info", "NOTE"),
        ("Tip", "TIP"),
        ("Check", "TIP"),
        ("Warning", "WARNING"),
        ("Danger", "CAUTION"),
    ] {
        let out = md(&format!(
            "Intro\n\n<{tag}>\n  First **line**.\n\n  Second.\n</{tag}>\n\nAfter"
        ));
        assert_eq!(
            out,
            format!("Intro\n\n> [!{kind}]\n> First **line**.\n>\n> Second.\n\nAfter\n")
        );
    }
    assert_eq!(md("<Note>One line.</Note>"), "> [!NOTE]\n> One line.\n");
    let html = tome_render::render(&md("<Warning>Careful</Warning>")).html;
    assert!(html.contains("markdown-alert-warning"), "{html}");
}

#[test]
fn cards_become_links() {
    let out = md(
        "<CardGroup cols={2}>\n  <Card title=\"Quickstart\" icon=\"rocket\" href=\"/quickstart\">\n    Deploy in minutes.\n  </Card>\n  <Card title='No link'>Text</Card>\n  <Card title=\"Self\" href=\"https://x.test\" />\n</CardGroup>",
    );
    assert_eq!(
        out,
        "**[Quickstart](/quickstart)**\n\nDeploy in minutes.\n\n**No link**\n\nText\n\n**[Self](https://x.test)**\n"
    );
}

#[test]
fn steps_become_a_numbered_list() {
    let out = md(
        "<Steps>\n  <Step title=\"Install\">\n    Run:\n\n    ```bash\n    npm i -g mint\n    ```\n  </Step>\n  <Step title=\"Preview\">\n    Open it.\n  </Step>\n</Steps>",
    );
    assert_eq!(
        out,
        "1. **Install**\n\n   Run:\n\n   ```bash\n   npm i -g mint\n   ```\n\n2. **Preview**\n\n   Open it.\n"
    );
    let html = tome_render::render(&out).html;
    assert!(
        html.contains("<ol>") && html.matches("<li>").count() == 2,
        "{html}"
    );
}

#[test]
fn tabs_and_code_groups_get_labels() {
    let out = md(
        "<Tabs>\n  <Tab title=\"npm\">\n    Use npm.\n  </Tab>\n  <Tab title=\"yarn\">\n    Use yarn.\n  </Tab>\n</Tabs>",
    );
    assert_eq!(out, "**npm**\n\nUse npm.\n\n**yarn**\n\nUse yarn.\n");
    let out = md(
        "<CodeGroup>\n\n```bash npm\nnpm i\n```\n\n```bash Yarn classic {2}\nyarn add\n```\n\n```python\nx\n```\n\n</CodeGroup>",
    );
    assert_eq!(
        out,
        "**npm**\n\n```bash npm\nnpm i\n```\n\n**Yarn classic**\n\n```bash Yarn classic {2}\nyarn add\n```\n\n**python**\n\n```python\nx\n```\n"
    );
}

#[test]
fn accordions_frames_and_expandables() {
    let out = md(
        "<AccordionGroup>\n  <Accordion title=\"Why?\" description=\"Short\">\n    Because.\n  </Accordion>\n</AccordionGroup>\n\n<Frame caption=\"The dashboard\">\n  ![shot](https://x.test/a.png)\n</Frame>\n\n<Expandable title=\"child\">\n  Inside\n</Expandable>",
    );
    assert_eq!(
        out,
        "**Why?**\n\nShort\n\nBecause.\n\n![shot](https://x.test/a.png)\n\n*The dashboard*\n\n**child**\n\nInside\n"
    );
}

#[test]
fn fields_become_definition_lists() {
    let out = md(
        "<ParamField path=\"id\" type=\"string\" required default=\"a<b\">\n  The **ID**.\n</ParamField>\n\n<ResponseField name=\"ok\" type=\"boolean\" required={true} />",
    );
    assert_eq!(
        out,
        "<dl>\n<dt><code>id</code> <em><code>string</code></em> · path · required · default: <code>a&lt;b</code></dt>\n<dd>\n\nThe **ID**.\n\n</dd>\n</dl>\n\n<dl>\n<dt><code>ok</code> <em><code>boolean</code></em> · required</dt>\n</dl>\n"
    );
    let html = tome_render::render(&out).html;
    assert!(
        html.contains("<dt>") && html.contains("<strong>ID</strong>"),
        "{html}"
    );
    assert!(!html.contains("&lt;dl"), "{html}");
}

#[test]
fn updates_become_headings_with_their_headings_one_level_down() {
    let out = md(
        "<Update label=\"May 1\" description=\"v2\" tags={[\"New\"]}>\n  ## Editor\n\n  Text\n\n  ```md\n  ## not a heading\n  ```\n</Update>",
    );
    assert_eq!(
        out,
        "## May 1\n\n*v2*\n\n*New*\n\n### Editor\n\nText\n\n```md\n## not a heading\n```\n"
    );
}

#[test]
fn inline_components() {
    assert_eq!(
        md(
            "A <Badge>New</Badge> <Icon icon=\"x\" /> <Tooltip tip=\"t\">word</Tooltip> <kbd>Cmd</kbd>."
        ),
        "A <mark>New</mark>  <abbr title=\"t\">word</abbr> <kbd>Cmd</kbd>.\n"
    );
    assert_eq!(
        md("See <a href=\"/x\">this</a>.<br />Next"),
        "See [this](/x).<br>Next\n"
    );
}

#[test]
fn imports_exports_comments_and_expressions_go() {
    let (out, notes) = convert(
        &Files::default(),
        "p.mdx",
        "import { X } from \"/snippets/x.jsx\";\nexport const Hero = ({ title }) => {\n  return (\n    <div>{title}</div>\n  );\n};\n\n{/* vale off */}\nText {\"with\"} {'strings'} {count}.\n\nexport const y = 1\n\nEnd",
        true,
    );
    assert_eq!(out, "Text with strings .\n\nEnd\n");
    assert_eq!(notes.dropped_expressions, 1);
}

#[test]
fn snippets_are_inlined_with_props_and_cycles_stop() {
    let f = files(&[
        (
            "snippets/a.mdx",
            "---\ntitle: x\n---\nHello {word}!\n\n<Note>From A</Note>\n",
        ),
        (
            "snippets/loop.mdx",
            "import Loop from '/snippets/loop.mdx';\n\nLoop\n\n<Loop />\n",
        ),
        (
            "snippets/nested/b.mdx",
            "import A from '../a.mdx'\n\n<A word=\"nested\" />\n",
        ),
    ]);
    let (out, notes) = convert(
        &f,
        "page.mdx",
        "import A from \"/snippets/a.mdx\";\nimport B from \"/snippets/nested/b.mdx\";\nimport Loop from \"/snippets/loop.mdx\";\nimport Gone from \"/snippets/gone.mdx\";\n\n<A word=\"bananas\" />\n\n<B />\n\n<Loop />\n\n<Gone />",
        true,
    );
    assert_eq!(
        out,
        "Hello bananas!\n\n> [!NOTE]\n> From A\n\nHello nested!\n\n> [!NOTE]\n> From A\n\nLoop\n"
    );
    assert_eq!(notes.warnings.len(), 2, "{:?}", notes.warnings);
    assert!(notes.warnings[0].contains("includes itself"));
    assert!(notes.warnings[1].contains("gone.mdx"));
}

#[test]
fn unknown_components_are_unwrapped_and_counted() {
    let (out, notes) = convert(
        &Files::default(),
        "p.mdx",
        "<Mystery title=\"Title\" href=\"/t\" description=\"Desc\">\n  Inner **text**\n</Mystery>\n\n<Widget />\n\nInline <Thing>kept</Thing>.",
        true,
    );
    assert_eq!(
        out,
        "**[Title](/t)**\n\nDesc\n\nInner **text**\n\nInline kept.\n"
    );
    assert_eq!(
        notes.unknown.into_iter().collect::<Vec<_>>(),
        vec![
            ("Mystery".to_string(), 1),
            ("Thing".to_string(), 1),
            ("Widget".to_string(), 1)
        ]
    );
}

#[test]
fn code_is_never_touched() {
    let src = "Use `<Note>` and ``<Tip>{x}</Tip>``.\n\n```mdx title\n<Note>\n  import X from 'y'\n  {/* c */}\n</Note>\n```\n\n<Tabs>\n  <Tab title=\"A\">\n    ~~~jsx\n    <Card title=\"x\" />\n    </Tab>\n    ~~~\n  </Tab>\n</Tabs>\n\n    indented <Note>";
    let out = md(src);
    assert_eq!(
        out,
        "Use `<Note>` and ``<Tip>{x}</Tip>``.\n\n```mdx title\n<Note>\n  import X from 'y'\n  {/* c */}\n</Note>\n```\n\n**A**\n\n~~~jsx\n<Card title=\"x\" />\n</Tab>\n~~~\n\n    indented <Note>\n"
    );
}

#[test]
fn multi_line_tags_and_quotes() {
    let out = md(
        "<Card\n  title='Say \"hi\" =>'\n  href={\"/a\"}\n  arrow={true}\n  onClick={() => { go(\"}\") }}\n>\n  Body > text\n</Card>",
    );
    assert_eq!(out, "**[Say \"hi\" =>](/a)**\n\nBody > text\n");
}

#[test]
fn components_inside_lists_keep_their_indentation() {
    let out = md("1. First\n   <Note>\n     Inside the item.\n   </Note>\n2. Second");
    assert_eq!(
        out,
        "1. First\n\n   > [!NOTE]\n   > Inside the item.\n\n2. Second\n"
    );
}

#[test]
fn media_with_repository_paths_is_dropped_and_counted() {
    let (out, notes) = convert(
        &Files::default(),
        "p.mdx",
        "<img src=\"/images/a.png\" alt=\"A\" className=\"x\" />\n\n<img src=\"https://cdn.test/b.png\" alt=\"B\" />\n\nSee ![local [x]](/images/c.png \"t\") and ![remote](https://cdn.test/d.png).\n\n<iframe src=\"https://www.youtube.com/embed/x\" title=\"Demo\"></iframe>",
        true,
    );
    assert_eq!(
        out,
        "![B](https://cdn.test/b.png)\n\nSee  and ![remote](https://cdn.test/d.png).\n\n[Demo](https://www.youtube.com/embed/x)\n"
    );
    assert_eq!(notes.dropped_media, 2);
}

#[test]
fn markdown_pages_keep_braces() {
    let (out, _) = convert(&Files::default(), "p.md", "Use {curly} braces.", false);
    assert_eq!(out, "Use {curly} braces.\n");
}

#[test]
fn residue_is_found_outside_code_only() {
    assert_eq!(residue("`<Note>`\n\n```\n<Note>\nimport x\n```\n"), None);
    assert!(residue("text <Note> here").is_some());
    assert!(residue("import X from 'y'").is_some());
}

#[test]
fn hostile_pages_stay_cheap() {
    // Deep nesting: converted down to a limit, then kept as written; no stack overflow.
    let deep = format!("{}x{}", "<Note>\n".repeat(5_000), "\n</Note>".repeat(5_000));
    let (out, notes) = convert(&Files::default(), "p.mdx", &deep, true);
    assert!(out.contains('x'));
    assert!(notes.warnings.iter().any(|p| p.contains("nest more than")));
    // Many unclosed components: each search for a closing tag reads the page; after a limit
    // the rest is text.
    let open = "<Note>\ntext\n".repeat(20_000);
    let t = std::time::Instant::now();
    let (out, _) = convert(&Files::default(), "p.mdx", &open, true);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(out.matches("text").count(), 20_000);
    // A snippet that includes another many times does not multiply without end.
    let f = files(&[
        (
            "snippets/a.mdx",
            &*"import B from '/snippets/b.mdx'\n\n<B />\n".repeat(50),
        ),
        (
            "snippets/b.mdx",
            &*"import C from '/snippets/c.mdx'\n\n<C />\n".repeat(50),
        ),
        ("snippets/c.mdx", &*"word ".repeat(2_000)),
    ]);
    let page = "import A from '/snippets/a.mdx'\n\n<A />\n".repeat(50);
    let (out, notes) = convert(&f, "p.mdx", &page, true);
    assert!(out.len() <= MAX_INLINED_BYTES + page.len(), "{}", out.len());
    assert!(notes.warnings.iter().any(|p| p.contains("not inlined")));
}

#[test]
fn hard_line_breaks_survive() {
    assert_eq!(
        md("<Note>\n  one  \n  two\n</Note>\n\nthree  \nfour"),
        "> [!NOTE]\n> one  \n> two\n\nthree  \nfour\n"
    );
}

#[test]
fn attribute_text_shows_as_written() {
    assert_eq!(
        md("<Card title=\"snake_case *not bold* [x] <T>\" description=\"a`b\" />"),
        "**snake\\_case \\*not bold\\* \\[x\\] \\<T>**\n\na\\`b\n"
    );
    let html = tome_render::render(&md("<Tab title=\"<Note>_x_\">y</Tab>")).html;
    assert!(html.contains("<strong>&lt;Note&gt;_x_</strong>"), "{html}");
}
