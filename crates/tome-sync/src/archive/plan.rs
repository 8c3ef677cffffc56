//! From an archive in memory to a validated import plan, without touching the database.
//!
//! Placement comes from folders: a top-level folder is a category, a folder below it a section
//! (deeper folders become one section named by their path, `Agent / V2`), and files at the root
//! go to a category named "General". The manifest, when present, names those categories and
//! sections and supplies their fields; folders it does not mention are added by the same rules,
//! so hand-written files can be dropped into an export.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use tome_core::credits::Action;
use tome_core::input::{
    CategoryInput, KbInput, NewCategory, NewKb, NewSection, SectionInput, ThemeSettingsInput,
};
use tome_core::model::Status;
use tome_core::{Patch, ValidationError};

use super::items::{self, Item};
use super::manifest::{self, CategoryEntry, Counts, KbEntry, Manifest, SectionEntry};
use super::names;
use super::source::{SourceFile, Tree};
use super::{Problem, Problems};
use crate::desired::Desired;

/// A well-formed ID that stands in for a category until the real one exists; the input types
/// check reference shapes, and the real IDs are only known while importing.
pub const PLACEHOLDER_CATEGORY: &str = "kbc_000000000000";
/// Name of the category that holds files at the archive root.
pub const ROOT_CATEGORY: &str = "General";

/// Choices made on the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub default_status: Status,
    pub verify: bool,
}

/// Everything an import will create, validated, in creation order.
#[derive(Debug)]
pub struct Plan {
    pub kb: NewKb,
    pub categories: Vec<NewCategory>,
    /// The manifest's `id` of each category (parallel to `categories`).
    pub category_ids: Vec<Option<String>>,
    pub sections: Vec<PlannedSection>,
    pub articles: Vec<items::PlannedArticle>,
    pub faqs: Vec<items::PlannedFaq>,
    pub report: Report,
    /// Bodies link to other articles as `tome:page/N` (index into `articles`), rewritten to
    /// hosted URLs once the articles exist (a Mintlify repository's links between pages).
    pub page_links: bool,
}

#[derive(Debug)]
pub struct PlannedSection {
    /// Index into [`Plan::categories`].
    pub category: usize,
    /// `category_id` is a placeholder.
    pub new: NewSection,
    /// The manifest's `id`, if any.
    pub id: Option<String>,
}

/// What the import noticed but did not act on.
#[derive(Debug, Default)]
pub struct Report {
    /// Front-matter keys Tome does not use, with the number of files that had each.
    pub ignored_keys: BTreeMap<String, usize>,
    /// Files that are not Markdown, or were excluded.
    pub skipped_files: usize,
    /// Files whose checksum differs from the manifest's.
    pub modified_files: Vec<String>,
    /// Files the manifest lists that are not in the archive.
    pub missing_files: Vec<String>,
    /// What a format reader noticed and did (pages skipped, components unwrapped, pages
    /// split), one line each.
    pub logs: Vec<String>,
}

impl Plan {
    pub fn counts(&self) -> Counts {
        Counts {
            categories: self.categories.len(),
            sections: self.sections.len(),
            articles: self.articles.len(),
            faqs: self.faqs.len(),
        }
    }

    /// Credits the import costs at the API's prices, the knowledge base included.
    pub fn price(&self) -> i64 {
        let c = self.counts();
        Action::KbCreated.price()
            + Action::CategoryCreated.price() * c.categories as i64
            + Action::SectionCreated.price() * c.sections as i64
            + Action::ArticleCreated.price() * c.articles as i64
            + Action::FaqCreated.price() * c.faqs as i64
    }
}

/// Builds the plan, or every problem found.
pub fn build(tree: &Tree, opts: &Options) -> Result<Plan, Problems> {
    let manifest = match &tree.manifest {
        Some(bytes) => match manifest::parse(bytes) {
            Ok(m) => Some(m),
            Err(msg) => return Err(Problems(vec![Problem::new(manifest::FILE_NAME, msg)])),
        },
        None => None,
    };
    let mut problems = Vec::new();
    let kb = knowledge_base(
        manifest.as_ref().and_then(|m| m.knowledge_base.as_ref()),
        &tree.name,
        opts,
        &mut problems,
    );
    let mut layout = Layout::default();
    if let Some(m) = &manifest {
        layout.add_from_manifest(&m.categories, &m.sections, &mut problems);
    }
    let files = ordered_files(tree, manifest.as_ref());
    layout.derive(&files, &mut problems);

    let mut report = Report {
        skipped_files: tree.skipped,
        ..Report::default()
    };
    if let Some(m) = &manifest {
        check_against_manifest(m, tree, opts.verify, &mut report, &mut problems);
    }

    let parsed: Vec<Item> = files
        .iter()
        .filter_map(|f| {
            let (category, section) = layout.place(&f.path)?;
            items::parse(
                f,
                category,
                section,
                opts.default_status,
                &mut report,
                &mut problems,
            )
        })
        .collect();
    let (articles, faqs) = items::resolve(parsed, &mut problems);

    match kb {
        Some(kb) if problems.is_empty() => Ok(Plan {
            kb,
            categories: layout.categories,
            category_ids: layout.category_ids,
            sections: layout.sections,
            articles,
            faqs,
            report,
            page_links: false,
        }),
        _ => Err(Problems(in_reading_order(problems))),
    }
}

/// The plan of a format reader's [`Desired`] content (a Mintlify repository): placement and
/// order as the reader found them, page links rewritten on import.
pub fn from_desired(desired: Desired, kb: NewKb) -> Plan {
    Plan {
        kb,
        category_ids: desired.categories.iter().map(|c| c.id.clone()).collect(),
        categories: desired.categories.into_iter().map(|c| c.new).collect(),
        sections: desired
            .sections
            .into_iter()
            .map(|s| PlannedSection {
                category: s.category,
                new: s.new,
                id: s.id,
            })
            .collect(),
        articles: desired
            .articles
            .into_iter()
            .map(|a| items::PlannedArticle {
                path: a.path,
                id: a.id,
                category: a.category,
                section: a.section,
                new: a.new,
                related: a.related,
            })
            .collect(),
        faqs: desired
            .faqs
            .into_iter()
            .map(|f| items::PlannedFaq {
                path: f.path,
                id: f.id,
                category: f.category,
                section: f.section,
                new: f.new,
            })
            .collect(),
        report: Report {
            logs: desired.logs,
            ..Report::default()
        },
        page_links: true,
    }
}

/// Problems grouped by file (in the order files were first named) and by line within a file.
fn in_reading_order(problems: Vec<Problem>) -> Vec<Problem> {
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for p in &problems {
        let next = first_seen.len();
        first_seen.entry(p.file.clone()).or_insert(next);
    }
    let mut sorted = problems;
    sorted.sort_by_key(|p| (first_seen.get(&p.file).copied(), p.line.unwrap_or(0)));
    sorted
}

pub(crate) fn knowledge_base(
    entry: Option<&KbEntry>,
    archive_name: &str,
    opts: &Options,
    problems: &mut Vec<Problem>,
) -> Option<NewKb> {
    let title = opts
        .title
        .clone()
        .or_else(|| entry.and_then(|e| e.title.clone()))
        .unwrap_or_else(|| names::humanize(archive_name));
    let slug = opts
        .slug
        .clone()
        .or_else(|| entry.and_then(|e| e.slug.clone()))
        .unwrap_or_else(|| names::kb_slug(archive_name));
    if slug.is_empty() {
        problems.push(Problem::new(
            "--slug",
            "no slug can be derived from the archive's name; pass --slug",
        ));
        return None;
    }
    let patch = |v: Option<String>| v.map_or(Patch::Absent, Patch::Value);
    let input = KbInput {
        title: Patch::Value(title),
        slug: Patch::Value(slug),
        description: patch(entry.and_then(|e| e.description.clone())),
        is_public: entry
            .and_then(|e| e.is_public)
            .map_or(Patch::Absent, Patch::Value),
        theme: patch(entry.and_then(|e| e.theme.clone())),
        theme_settings: entry
            .and_then(|e| e.theme_settings.clone())
            .map_or(Patch::Absent, |ts| {
                Patch::Value(ThemeSettingsInput {
                    primary_color: patch(ts.primary_color),
                    dark_mode: ts.dark_mode.map_or(Patch::Absent, Patch::Value),
                    custom_css: patch(ts.custom_css),
                    assistant: ts.assistant.map_or(Patch::Absent, Patch::Value),
                })
            }),
        logo_path: patch(entry.and_then(|e| e.logo_path.clone())),
    };
    input
        .into_new()
        .map_err(|e: ValidationError| {
            let flag = match e.field.as_str() {
                "title" if opts.title.is_some() => Some("--title"),
                "slug" if opts.slug.is_some() => Some("--slug"),
                _ => None,
            };
            let p = match flag {
                Some(flag) => Problem::new(flag, e.reason),
                None => Problem::new(manifest::FILE_NAME, e.reason)
                    .field(format!("knowledge_base.{}", e.field)),
            };
            problems.push(p);
        })
        .ok()
}

/// Categories and sections with the folders they map to.
#[derive(Debug, Default)]
struct Layout {
    categories: Vec<NewCategory>,
    category_ids: Vec<Option<String>>,
    sections: Vec<PlannedSection>,
    /// Category folder (`""` for the root) → category index.
    category_folders: HashMap<String, usize>,
    /// (category index, folder path below the category) → section index.
    section_folders: HashMap<(usize, String), usize>,
}

impl Layout {
    fn add_from_manifest(
        &mut self,
        categories: &[CategoryEntry],
        sections: &[SectionEntry],
        problems: &mut Vec<Problem>,
    ) {
        let mut seen = HashSet::new();
        for (i, c) in categories.iter().enumerate() {
            let at = |field: &str| format!("categories[{i}].{field}");
            if !valid_folder(&c.folder) {
                problems.push(
                    Problem::new(manifest::FILE_NAME, "must be one folder name (no `/`)")
                        .field(at("folder")),
                );
                continue;
            }
            if !seen.insert(c.folder.to_lowercase()) {
                problems.push(
                    Problem::new(manifest::FILE_NAME, "is used by another category")
                        .field(at("folder")),
                );
                continue;
            }
            let input = CategoryInput {
                name: Patch::Value(c.name.clone()),
                description: c.description.clone().map_or(Patch::Absent, Patch::Value),
                icon: c.icon.clone().map_or(Patch::Absent, Patch::Value),
                sort_order: c.sort_order.map_or(Patch::Absent, Patch::Value),
            };
            match input.into_new() {
                Ok(new) => {
                    let index = self.add_category(c.folder.clone(), new);
                    self.category_ids[index] = c.id.clone();
                }
                Err(e) => {
                    problems.push(Problem::new(manifest::FILE_NAME, e.reason).field(at(&e.field)))
                }
            }
        }
        let mut seen = HashSet::new();
        for (j, s) in sections.iter().enumerate() {
            let at = |field: &str| format!("sections[{j}].{field}");
            let place = s.folder.split_once('/').and_then(|(category, below)| {
                let index = *self.category_folders.get(category)?;
                valid_folder(below).then_some((index, below))
            });
            let Some((category, below)) = place else {
                problems.push(
                    Problem::new(
                        manifest::FILE_NAME,
                        "must be `CATEGORY/NAME`, where CATEGORY is the folder of a category \
                         listed in `categories`",
                    )
                    .field(at("folder")),
                );
                continue;
            };
            if !seen.insert(s.folder.to_lowercase()) {
                problems.push(
                    Problem::new(manifest::FILE_NAME, "is used by another section")
                        .field(at("folder")),
                );
                continue;
            }
            let input = SectionInput {
                category_id: Patch::Value(PLACEHOLDER_CATEGORY.into()),
                name: Patch::Value(s.name.clone()),
                description: s.description.clone().map_or(Patch::Absent, Patch::Value),
                sort_order: s.sort_order.map_or(Patch::Absent, Patch::Value),
            };
            match input.into_new() {
                Ok(new) => {
                    let index = self.add_section(category, below.to_string(), new);
                    self.sections[index].id = s.id.clone();
                }
                Err(e) => {
                    problems.push(Problem::new(manifest::FILE_NAME, e.reason).field(at(&e.field)))
                }
            }
        }
    }

    fn add_category(&mut self, folder: String, new: NewCategory) -> usize {
        self.categories.push(new);
        self.category_ids.push(None);
        let index = self.categories.len() - 1;
        self.category_folders.insert(folder, index);
        index
    }

    fn add_section(&mut self, category: usize, below: String, new: NewSection) -> usize {
        self.sections.push(PlannedSection {
            category,
            new,
            id: None,
        });
        let index = self.sections.len() - 1;
        self.section_folders.insert((category, below), index);
        index
    }

    /// Adds the categories and sections that files need and the manifest does not name:
    /// "General" for root files (first when there is no manifest), then folders by name.
    fn derive(&mut self, files: &[&SourceFile], problems: &mut Vec<Problem>) {
        let mut folders: BTreeSet<String> = BTreeSet::new();
        let mut below: BTreeSet<(String, String)> = BTreeSet::new();
        for f in files {
            let (category, section) = split_dir(&f.path);
            folders.insert(category.to_string());
            if !section.is_empty() {
                below.insert((category.to_string(), section.to_string()));
            }
        }
        // `""` (the root) sorts first, which puts "General" first among derived categories.
        for folder in folders {
            if self.category_folders.contains_key(&folder) {
                continue;
            }
            let name = if folder.is_empty() {
                ROOT_CATEGORY.to_string()
            } else {
                names::humanize(&folder)
            };
            let input = CategoryInput {
                name: Patch::Value(name),
                ..CategoryInput::default()
            };
            match input.into_new() {
                Ok(new) => {
                    self.add_category(folder, new);
                }
                Err(e) => problems.push(Problem::new(format!("{folder}/"), e.reason).field("name")),
            }
        }
        for (folder, section) in below {
            let Some(&category) = self.category_folders.get(&folder) else {
                continue;
            };
            if self
                .section_folders
                .contains_key(&(category, section.clone()))
            {
                continue;
            }
            let name: Vec<String> = section.split('/').map(names::humanize).collect();
            let input = SectionInput {
                category_id: Patch::Value(PLACEHOLDER_CATEGORY.into()),
                name: Patch::Value(name.join(" / ")),
                ..SectionInput::default()
            };
            match input.into_new() {
                Ok(new) => {
                    self.add_section(category, section, new);
                }
                Err(e) => problems
                    .push(Problem::new(format!("{folder}/{section}/"), e.reason).field("name")),
            }
        }
    }

    /// The category and section a file goes to (`None` if its folder failed validation).
    fn place(&self, path: &str) -> Option<(usize, Option<usize>)> {
        let (folder, below) = split_dir(path);
        let category = *self.category_folders.get(folder)?;
        if below.is_empty() {
            return Some((category, None));
        }
        let section = *self.section_folders.get(&(category, below.to_string()))?;
        Some((category, Some(section)))
    }
}

/// `a/b/c/file.md` → (`a`, `b/c`); `a/file.md` → (`a`, ``); `file.md` → (``, ``).
fn split_dir(path: &str) -> (&str, &str) {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    dir.split_once('/').unwrap_or((dir, ""))
}

fn valid_folder(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')
}

/// Item files in creation order: the manifest's list first, then the rest by path.
fn ordered_files<'a>(tree: &'a Tree, manifest: Option<&Manifest>) -> Vec<&'a SourceFile> {
    let by_path: HashMap<&str, &SourceFile> =
        tree.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut out = Vec::with_capacity(tree.files.len());
    let mut taken = HashSet::new();
    for entry in manifest.map(|m| m.files.as_slice()).unwrap_or_default() {
        if let Some(f) = by_path.get(entry.path.as_str())
            && taken.insert(entry.path.as_str())
        {
            out.push(*f);
        }
    }
    out.extend(
        tree.files
            .iter()
            .filter(|f| !taken.contains(f.path.as_str())),
    );
    out
}

fn check_against_manifest(
    m: &Manifest,
    tree: &Tree,
    verify: bool,
    report: &mut Report,
    problems: &mut Vec<Problem>,
) {
    let by_path: HashMap<&str, &SourceFile> =
        tree.files.iter().map(|f| (f.path.as_str(), f)).collect();
    for entry in &m.files {
        match by_path.get(entry.path.as_str()) {
            None => report.missing_files.push(entry.path.clone()),
            Some(f) => {
                if entry
                    .sha256
                    .as_deref()
                    .is_some_and(|sum| !sum.eq_ignore_ascii_case(&manifest::sha256_hex(&f.bytes)))
                {
                    report.modified_files.push(entry.path.clone());
                }
            }
        }
    }
    if verify {
        for path in &report.missing_files {
            problems.push(Problem::new(path, "is listed in manifest.json but missing"));
        }
        for path in &report.modified_files {
            problems.push(Problem::new(
                path,
                "differs from the checksum in manifest.json (edited or damaged)",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_split() {
        assert_eq!(split_dir("a/b/c/f.md"), ("a", "b/c"));
        assert_eq!(split_dir("a/f.md"), ("a", ""));
        assert_eq!(split_dir("f.md"), ("", ""));
    }
}
