//! The navigation of a Mintlify site, from `docs.json` (or the legacy `mint.json`), reduced to
//! what a knowledge base can hold: a list of top-level groups (→ categories), each holding
//! pages and nested groups (→ sections), in navigation order.
//!
//! `docs.json` nests its navigation in any of `languages`, `versions`, `tabs`, `anchors`,
//! `dropdowns`, `products` and `menu` before reaching `groups` and `pages`. A knowledge base has
//! one language and one version: the default (or first) language and version are read and the
//! others are named in the logs. Every tab, anchor, dropdown, product and menu item is read; a
//! tab or anchor with pages but no groups becomes one group of its own name. Items that only
//! link elsewhere (`href`) hold no pages and are skipped with a log line. `$ref` pulls a part
//! of the navigation from another JSON file of the repository.

use serde_json::Value;

use crate::archive::Problem;
use crate::files::Files;

/// One top-level group: a category.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// The tab (or anchor, dropdown, …) it sits in, to tell apart groups of the same name.
    pub tab: Option<String>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A page path as written (`quickstart`, `api/intro`), with the line of the config file
    /// it is on.
    Page { path: String, line: usize },
    /// A nested group; `root` is its landing page, listed before its pages.
    Group {
        name: String,
        root: Option<(String, usize)>,
        entries: Vec<Entry>,
    },
}

/// The navigation, plus what was skipped.
#[derive(Debug, Default)]
pub struct Navigation {
    /// `docs.json` or `mint.json`.
    pub file: String,
    pub groups: Vec<Group>,
    pub logs: Vec<String>,
}

/// Keys that hold a list of containers one level down, in the order they are looked for.
const DIVISIONS: [(&str, &str); 6] = [
    ("tabs", "tab"),
    ("anchors", "anchor"),
    ("dropdowns", "dropdown"),
    ("products", "product"),
    ("menu", "item"),
    ("items", "item"),
];

/// Reads the navigation of the site in `files`.
pub fn read(files: &Files) -> Result<Navigation, Problem> {
    let file = if files.get("docs.json").is_some() {
        "docs.json"
    } else if files.get("mint.json").is_some() {
        "mint.json"
    } else {
        return Err(Problem::new(
            "docs.json",
            "a Mintlify repository needs docs.json (or mint.json) at its root",
        ));
    };
    let Some(text) = files.text(file) else {
        return Err(Problem::new(file, "is not valid UTF-8 text"));
    };
    let root: Value = serde_json::from_str(text).map_err(|e| {
        Problem::new(file, format!("is not valid JSON: {e}"))
            .at(e.line())
            .field("navigation")
    })?;
    let mut r = Reader {
        files,
        file,
        text,
        nav: Navigation {
            file: file.to_string(),
            ..Navigation::default()
        },
        depth: 0,
    };
    match root.get("navigation") {
        Some(nav) => r.container(nav, None, "navigation")?,
        None => return Err(Problem::new(file, "has no `navigation`").field("navigation")),
    }
    // mint.json: the top-level `tabs` only name URL prefixes; its groups are all in the list.
    Ok(r.nav)
}

struct Reader<'a> {
    files: &'a Files,
    file: &'a str,
    text: &'a str,
    nav: Navigation,
    depth: usize,
}

impl Reader<'_> {
    fn problem(&self, field: &str, message: impl Into<String>) -> Problem {
        Problem::new(self.file, message).field(field)
    }

    /// Follows `{"$ref": "./x.json"}` (relative to the repository root).
    fn deref(&self, v: &Value, field: &str) -> Result<Option<Value>, Problem> {
        let Some(target) = v.get("$ref").and_then(Value::as_str) else {
            return Ok(None);
        };
        let path = target.trim_start_matches("./").trim_start_matches('/');
        let Some(text) = self.files.text(path) else {
            return Err(self
                .problem(
                    field,
                    format!("`$ref` names {target:?}, which is not in the repository"),
                )
                .at(self.line_of(target)));
        };
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| Problem::new(path, format!("is not valid JSON: {e}")).at(e.line()))
    }

    fn line_of(&self, needle: &str) -> usize {
        let quoted = format!("\"{needle}\"");
        match self.text.find(&quoted) {
            Some(at) => self.text[..at].matches('\n').count() + 1,
            None => 1,
        }
    }

    /// A navigation object or array at any level above groups.
    fn container(&mut self, v: &Value, tab: Option<&str>, field: &str) -> Result<(), Problem> {
        self.depth += 1;
        if self.depth > 32 {
            return Err(self.problem(field, "the navigation nests too deeply (or `$ref`s loop)"));
        }
        let result = self.container_inner(v, tab, field);
        self.depth -= 1;
        result
    }

    fn container_inner(
        &mut self,
        v: &Value,
        tab: Option<&str>,
        field: &str,
    ) -> Result<(), Problem> {
        if let Some(target) = self.deref(v, field)? {
            return self.container(&target, tab, field);
        }
        // mint.json: `navigation` is the list of groups itself.
        if let Value::Array(items) = v {
            for (i, item) in items.iter().enumerate() {
                let field = format!("{field}[{i}]");
                if item.get("group").is_some() {
                    self.top_group(item, tab, &field)?;
                } else if item.is_string() {
                    self.loose_pages(&Value::Array(vec![item.clone()]), tab, &field)?;
                } else {
                    self.container(item, tab, &field)?;
                }
            }
            return Ok(());
        }
        let Value::Object(map) = v else {
            return Err(self.problem(field, "must be an object or a list"));
        };
        for (key, label) in [("languages", "language"), ("versions", "version")] {
            if let Some(list) = map.get(key) {
                let Some(items) = list.as_array() else {
                    return Err(self.problem(&format!("{field}.{key}"), "must be a list"));
                };
                let chosen = items
                    .iter()
                    .position(|x| x.get("default").and_then(Value::as_bool) == Some(true))
                    .unwrap_or(0);
                for (i, item) in items.iter().enumerate() {
                    if i != chosen {
                        let name = item
                            .get(label)
                            .and_then(Value::as_str)
                            .or_else(|| item.get("$ref").and_then(Value::as_str))
                            .unwrap_or("?");
                        self.nav.logs.push(format!(
                            "{}: {label} {name:?} skipped: a knowledge base holds one {label} \
                             (the default, or the first)",
                            self.file
                        ));
                    }
                }
                if let Some(item) = items.get(chosen) {
                    self.container(item, tab, &format!("{field}.{key}[{chosen}]"))?;
                }
            }
        }
        for (key, label) in DIVISIONS {
            let Some(list) = map.get(key) else { continue };
            let Some(items) = list.as_array() else {
                return Err(self.problem(&format!("{field}.{key}"), "must be a list"));
            };
            for (i, item) in items.iter().enumerate() {
                let field = format!("{field}.{key}[{i}]");
                let name = item.get(label).and_then(Value::as_str);
                let holds = ["groups", "pages"]
                    .iter()
                    .chain(DIVISIONS.iter().map(|(k, _)| k))
                    .chain(["languages", "versions", "$ref"].iter())
                    .any(|k| item.get(k).is_some());
                if !holds {
                    if item.get("href").is_some() {
                        self.nav.logs.push(format!(
                            "{}: {label} {:?} skipped: it links elsewhere and holds no pages",
                            self.file,
                            name.unwrap_or("?")
                        ));
                    }
                    continue;
                }
                let tab = name.or(tab);
                self.container(item, tab, &field)?;
            }
        }
        if let Some(groups) = map.get("groups") {
            let Some(items) = groups.as_array() else {
                return Err(self.problem(&format!("{field}.groups"), "must be a list"));
            };
            for (i, item) in items.iter().enumerate() {
                let field = format!("{field}.groups[{i}]");
                if let Some(target) = self.deref(item, &field)? {
                    self.top_group(&target, tab, &field)?;
                } else {
                    self.top_group(item, tab, &field)?;
                }
            }
        }
        if let Some(pages) = map.get("pages") {
            self.loose_pages(pages, tab, &format!("{field}.pages"))?;
        }
        Ok(())
    }

    /// Pages directly under a tab (or at the top): a group named after the tab, or "General".
    fn loose_pages(
        &mut self,
        pages: &Value,
        tab: Option<&str>,
        field: &str,
    ) -> Result<(), Problem> {
        let entries = self.entries(pages, field)?;
        let name = tab.unwrap_or("General").to_string();
        match self.nav.groups.last_mut() {
            Some(g) if g.name == name && g.tab.as_deref() == tab => g.entries.extend(entries),
            _ => self.nav.groups.push(Group {
                name,
                tab: tab.map(str::to_string),
                entries,
            }),
        }
        Ok(())
    }

    fn top_group(&mut self, v: &Value, tab: Option<&str>, field: &str) -> Result<(), Problem> {
        let Some(name) = v.get("group").and_then(Value::as_str) else {
            return Err(self.problem(field, "a group needs a `group` name"));
        };
        let mut entries = Vec::new();
        if let Some(root) = v.get("root").and_then(Value::as_str) {
            entries.push(Entry::Page {
                path: root.to_string(),
                line: self.line_of(root),
            });
        }
        match v.get("pages") {
            Some(pages) => entries.extend(self.entries(pages, &format!("{field}.pages"))?),
            None => {
                // A group generated from an OpenAPI file, or an empty one: nothing to import.
                if entries.is_empty() {
                    self.nav.logs.push(format!(
                        "{}: group {name:?} skipped: it lists no pages",
                        self.file
                    ));
                    return Ok(());
                }
            }
        }
        self.nav.groups.push(Group {
            name: name.to_string(),
            tab: tab.map(str::to_string),
            entries,
        });
        Ok(())
    }

    fn entries(&mut self, pages: &Value, field: &str) -> Result<Vec<Entry>, Problem> {
        let Some(items) = pages.as_array() else {
            return Err(self.problem(field, "must be a list"));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = format!("{field}[{i}]");
            match item {
                Value::String(path) => out.push(Entry::Page {
                    path: path.clone(),
                    line: self.line_of(path),
                }),
                Value::Object(_) => {
                    let item = match self.deref(item, &field)? {
                        Some(target) => target,
                        None => item.clone(),
                    };
                    let Some(name) = item.get("group").and_then(Value::as_str) else {
                        return Err(self.problem(&field, "must be a page path or a group"));
                    };
                    let root = item
                        .get("root")
                        .and_then(Value::as_str)
                        .map(|r| (r.to_string(), self.line_of(r)));
                    let entries = match item.get("pages") {
                        Some(p) => {
                            self.depth += 1;
                            if self.depth > 32 {
                                return Err(self.problem(&field, "groups nest too deeply"));
                            }
                            let e = self.entries(p, &format!("{field}.pages"));
                            self.depth -= 1;
                            e?
                        }
                        None => Vec::new(),
                    };
                    out.push(Entry::Group {
                        name: name.to_string(),
                        root,
                        entries,
                    });
                }
                _ => return Err(self.problem(&field, "must be a page path or a group")),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn files(list: &[(&str, &str)]) -> Files {
        let mut f = Files::default();
        for (p, t) in list {
            f.files.insert((*p).to_string(), t.as_bytes().to_vec());
        }
        f
    }

    fn page(p: &str) -> Entry {
        Entry::Page {
            path: p.into(),
            line: 0,
        }
    }

    /// Lines are checked elsewhere; these tests compare the shape.
    fn strip_lines(e: &mut [Entry]) {
        for e in e {
            match e {
                Entry::Page { line, .. } => *line = 0,
                Entry::Group { root, entries, .. } => {
                    if let Some((_, l)) = root {
                        *l = 0;
                    }
                    strip_lines(entries);
                }
            }
        }
    }

    #[test]
    fn docs_json_shapes() {
        let json = r#"{"navigation": {"languages": [
            {"language": "en", "tabs": [
                {"tab": "Docs", "groups": [
                    {"group": "Start", "pages": ["index", {"group": "CLI", "root": "cli/index",
                        "pages": ["cli/a", {"group": "Deep", "pages": ["cli/deep"]}]}]}
                ]},
                {"tab": "Changelog", "pages": ["changelog"]},
                {"tab": "Blog", "href": "https://example.com"},
                {"tab": "Learn", "menu": [{"item": "Guides", "groups": [{"group": "G", "pages": ["g"]}]}]}
            ]},
            {"$ref": "./fr.json"}
        ]}}"#;
        let mut nav = read(&files(&[("docs.json", json)])).unwrap();
        for g in &mut nav.groups {
            strip_lines(&mut g.entries);
        }
        assert_eq!(
            nav.groups,
            vec![
                Group {
                    name: "Start".into(),
                    tab: Some("Docs".into()),
                    entries: vec![
                        page("index"),
                        Entry::Group {
                            name: "CLI".into(),
                            root: Some(("cli/index".into(), 0)),
                            entries: vec![
                                page("cli/a"),
                                Entry::Group {
                                    name: "Deep".into(),
                                    root: None,
                                    entries: vec![page("cli/deep")]
                                }
                            ]
                        }
                    ]
                },
                Group {
                    name: "Changelog".into(),
                    tab: Some("Changelog".into()),
                    entries: vec![page("changelog")]
                },
                Group {
                    name: "G".into(),
                    tab: Some("Guides".into()),
                    entries: vec![page("g")]
                },
            ]
        );
        assert_eq!(nav.logs.len(), 2, "{:?}", nav.logs);
        assert!(nav.logs[0].contains("\"./fr.json\""));
        assert!(nav.logs[1].contains("\"Blog\""));
    }

    #[test]
    fn versions_anchors_dropdowns_and_loose_pages() {
        let json = r#"{"navigation": {
            "versions": [
                {"version": "v1", "groups": [{"group": "Old", "pages": ["old"]}]},
                {"version": "v2", "default": true, "anchors": [
                    {"anchor": "Guides", "groups": [{"group": "G", "pages": ["g"]}]},
                    {"anchor": "Blog", "href": "https://x.test"},
                    {"anchor": "Ref", "dropdowns": [{"dropdown": "SDK", "pages": ["sdk/a", "sdk/b"]}]}
                ]}
            ],
            "pages": ["top"]
        }}"#;
        let nav = read(&files(&[("docs.json", json)])).unwrap();
        let names: Vec<(&str, Option<&str>, usize)> = nav
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g.tab.as_deref(), g.entries.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("G", Some("Guides"), 1),
                ("SDK", Some("SDK"), 2),
                ("General", None, 1)
            ]
        );
        assert!(
            nav.logs[0].contains("version \"v1\" skipped"),
            "{:?}",
            nav.logs
        );
        assert!(
            nav.logs[1].contains("anchor \"Blog\" skipped"),
            "{:?}",
            nav.logs
        );
    }

    #[test]
    fn mint_json_and_errors() {
        let nav = read(&files(&[(
            "mint.json",
            r#"{"navigation": [{"group": "A", "pages": ["a", "b"]}, {"group": "B", "pages": ["c"]}]}"#,
        )]))
        .unwrap();
        assert_eq!(nav.file, "mint.json");
        assert_eq!(nav.groups.len(), 2);
        assert_eq!(nav.groups[1].entries.len(), 1);

        let err = read(&files(&[("docs.json", "{\n\"navigation\": [\n}")])).unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("docs.json", Some(3)));
        let err = read(&files(&[(
            "docs.json",
            r#"{"navigation": {"groups": [{"pages": []}]}}"#,
        )]))
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("navigation.groups[0]"));
        let err = read(&files(&[(
            "docs.json",
            r#"{"navigation": {"tabs": [{"tab": "T", "$ref": "missing.json"}]}}"#,
        )]))
        .unwrap_err();
        assert!(err.message.contains("missing.json"), "{err}");
        assert!(read(&files(&[("README.md", "x")])).is_err());
    }
}
