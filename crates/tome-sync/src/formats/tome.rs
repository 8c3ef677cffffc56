//! Tome's own layout — what `tome export` writes, or a folder of Markdown files with front
//! matter — read with the very parser `tome import` uses, so export → commit → update
//! round-trips. The manifest's `knowledge_base` settings are not applied: a source owns the
//! content, and the KB's settings stay the API's.
//!
//! Unlike a Mintlify repository, the format is Tome's own and its limits are known: a file over
//! a limit fails the update rather than being split.

use tome_core::model::Status;

use crate::archive::plan::{self, Options};
use crate::archive::source::{SourceFile, Tree, is_markdown};
use crate::archive::{Problems, manifest};
use crate::desired::{Desired, DesiredArticle, DesiredCategory, DesiredFaq, DesiredSection};
use crate::files::Files;

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
    Ok(Desired {
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
    })
}
