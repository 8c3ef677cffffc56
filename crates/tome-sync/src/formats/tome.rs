//! Tome's own layout — what `tome export` writes, or a folder of Markdown files with front
//! matter — read with the very parser `tome import` uses, so export → commit → update
//! round-trips. The manifest's `knowledge_base` settings are not applied: a source owns the
//! content, and the KB's settings stay the API's.
//!
//! Unlike a Mintlify repository, the format is Tome's own and its limits are known: a file over
//! a limit fails the update rather than being split.

use std::collections::HashMap;

use tome_core::model::Status;

use crate::archive::plan::{self, Options};
use crate::archive::source::{SourceFile, Tree, is_markdown};
use crate::archive::{Problems, manifest};
use crate::desired::{
    Desired, DesiredArticle, DesiredCategory, DesiredFaq, DesiredSection, page_link,
};
use crate::files::Files;
use crate::links::{map_destinations, normalize};

pub fn read(files: &Files) -> Result<Desired, Problems> {
    let mut tree = Tree {
        name: "source".into(),
        ..Tree::default()
    };
    for (path, bytes) in &files.files {
        if path == manifest::FILE_NAME {
            tree.manifest = Some(bytes.clone());
        } else if is_markdown(path) {
            tree.files.push(SourceFile {
                path: path.clone(),
                bytes: bytes.clone(),
            });
        } else {
            tree.skipped += 1;
        }
    }
    let opts = Options {
        // The KB exists; these only keep the archive reader from deriving them.
        title: Some("source".into()),
        slug: Some("source".into()),
        // A repository's merged state is live.
        default_status: Status::Published,
        verify: false,
    };
    let plan = plan::build(&tree, &opts)?;
    let mut logs = Vec::new();
    if tree.skipped > 0 {
        logs.push(format!(
            "{} files that are not Markdown were left out",
            tree.skipped
        ));
    }
    for (key, n) in &plan.report.ignored_keys {
        logs.push(format!(
            "front-matter key `{key}` is not used by Tome ({n} files)"
        ));
    }
    let mut desired = Desired {
        categories: plan
            .categories
            .into_iter()
            .zip(plan.category_ids)
            .map(|(new, id)| DesiredCategory { id, new })
            .collect(),
        sections: plan
            .sections
            .into_iter()
            .map(|s| DesiredSection {
                id: s.id,
                category: s.category,
                new: s.new,
            })
            .collect(),
        articles: plan
            .articles
            .into_iter()
            .map(|a| DesiredArticle {
                path: a.path,
                id: a.id,
                category: a.category,
                section: a.section,
                new: a.new,
                related: a.related,
            })
            .collect(),
        faqs: plan
            .faqs
            .into_iter()
            .map(|f| DesiredFaq {
                path: f.path,
                id: f.id,
                category: f.category,
                section: f.section,
                new: f.new,
            })
            .collect(),
        logs,
    };
    link_pages(&mut desired);
    Ok(desired)
}

/// Relative links from one file to another (`../setup.md`, `billing/refunds.md#cards`) become
/// page links, which the planner writes as the hosted URL of that file's article: links that
/// work on GitHub keep working in the help centre.
fn link_pages(desired: &mut Desired) {
    let by_path: HashMap<String, usize> = desired
        .articles
        .iter()
        .enumerate()
        .map(|(i, a)| (a.path.clone(), i))
        .collect();
    let rewrite = |from: &str, text: &str| -> Option<String> {
        let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
        let mut changed = false;
        let out = map_destinations(text, |dest| {
            if dest.starts_with('/')
                || dest.starts_with('#')
                || dest.contains("://")
                || dest.starts_with("mailto:")
            {
                return None;
            }
            let (target, anchor) = match dest.split_once('#') {
                Some((t, a)) => (t, Some(a)),
                None => (dest, None),
            };
            if !is_markdown(target) {
                return None;
            }
            let index = by_path.get(&normalize(dir, target))?;
            changed = true;
            Some(match anchor {
                Some(a) => format!("{}#{a}", page_link(*index)),
                None => page_link(*index),
            })
        });
        changed.then_some(out)
    };
    for a in &mut desired.articles {
        if let Some(body) = rewrite(&a.path, &a.new.body) {
            a.new.body = body;
        }
    }
    for f in &mut desired.faqs {
        if let Some(answer) = rewrite(&f.path, &f.new.answer) {
            f.new.answer = answer;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Files {
        Files {
            files: list
                .iter()
                .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn relative_links_between_files_become_page_links() {
        let d = read(&files(&[
            (
                "guides/install.md",
                "---\ntitle: Install\n---\n\nSee [setup](../setup.md#first), [x](https://e.com/a.md), \
                 [missing](nope.md) and `[code](setup.md)`.\n",
            ),
            ("setup.md", "---\ntitle: Setup\nstatus: draft\n---\n\nBack to [install](guides/install.md).\n"),
        ]))
        .expect("reads");
        let index = |p: &str| {
            d.articles
                .iter()
                .position(|a| a.path == p)
                .expect("article")
        };
        let install = &d.articles[index("guides/install.md")];
        assert!(
            install
                .new
                .body
                .contains(&format!("[setup]({}#first)", page_link(index("setup.md")))),
            "{}",
            install.new.body
        );
        assert!(install.new.body.contains("[x](https://e.com/a.md)"));
        assert!(install.new.body.contains("[missing](nope.md)"));
        assert!(
            install.new.body.contains("`[code](setup.md)`"),
            "code is left alone"
        );
        let setup = &d.articles[index("setup.md")];
        assert!(
            setup
                .new
                .body
                .contains(&page_link(index("guides/install.md")))
        );
        assert_eq!(setup.new.status, Status::Draft, "front matter wins");
        assert_eq!(
            install.new.status,
            Status::Published,
            "synced content is live"
        );
    }

    #[test]
    fn an_over_limit_file_fails_instead_of_being_split() {
        let body = "x".repeat(tome_core::validate::ARTICLE_BODY_MAX + 1);
        let problems = read(&files(&[(
            "big.md",
            &format!("---\ntitle: Big\n---\n\n{body}"),
        )]))
        .expect_err("over the limit");
        assert_eq!(problems.0[0].file, "big.md");
        assert_eq!(problems.0[0].field.as_deref(), Some("body"));
    }
}
