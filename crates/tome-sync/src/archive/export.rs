//! `tome export`: one knowledge base, read through the `Store` trait, written as an archive.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde_json::json;
use tome_core::model::{Entity, KnowledgeBase};
use tome_core::time;
use tome_store::{ContentFilter, Page, PageRequest, Store, StoreError};

use super::manifest::{self, CategoryEntry, Counts, FileEntry, KbEntry, Manifest, SectionEntry};
use super::names::{UniqueNames, slugify};
use super::sink::Sink;
use super::{ExportArgs, front_matter, store_error};

/// Page size for reading lists (the API's maximum).
const PAGE: i64 = 100;

/// Reads every page of a list.
async fn all<T>(
    mut page: impl AsyncFnMut(PageRequest) -> tome_store::Result<Page<T>>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let p = page(PageRequest { limit: PAGE, after })
            .await
            .map_err(store_error)?;
        out.extend(p.items);
        match p.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

/// The project holding `kb_id`, searched across projects when the caller did not name it.
async fn find_project(store: &dyn Store, kb_id: &str) -> Result<String> {
    for p in store.list_projects().await.map_err(store_error)? {
        match store.get_kb(&p.id, kb_id).await {
            Ok(_) => return Ok(p.id),
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(store_error(e)),
        }
    }
    bail!("knowledge base {kb_id} not found in any project")
}

pub async fn run(store: Arc<dyn Store>, args: ExportArgs, as_json: bool) -> Result<()> {
    let project_id = match &args.project {
        Some(p) => p.clone(),
        None => find_project(&*store, &args.kb).await?,
    };
    let kb = store
        .get_kb(&project_id, &args.kb)
        .await
        .map_err(store_error)?;
    let mtime = u64::try_from(time::unix_now()).unwrap_or(0);
    let mut sink = Sink::open(&args.out, args.force, mtime)?;
    let counts = match write(&*store, &project_id, &kb, &mut sink).await {
        Ok(counts) => counts,
        Err(e) => {
            sink.abort();
            return Err(e.context(format!("exporting to {}", args.out.display())));
        }
    };
    sink.finish()?;
    let tarball = super::source::is_tarball(&args.out);
    if as_json {
        let v = json!({
            "kb_id": kb.id, "project_id": project_id, "out": args.out,
            "format": if tarball { "tarball" } else { "directory" },
            "counts": counts,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "Exported {} {:?} to {}: {}.",
            kb.id,
            kb.title,
            args.out.display(),
            super::describe(&counts)
        );
    }
    Ok(())
}

/// Writes the whole knowledge base into `sink`; the manifest goes last.
async fn write(
    store: &dyn Store,
    project: &str,
    kb: &KnowledgeBase,
    sink: &mut Sink,
) -> Result<Counts> {
    let kb_id = kb.id.as_str();
    let filter = ContentFilter::default();
    // Items first: anything created meanwhile in a category we have not listed yet is then
    // still placed, because categories are read after them.
    let articles = all(async |p| store.list_articles(project, kb_id, &filter, p).await).await?;
    let faqs = all(async |p| store.list_faqs(project, kb_id, &filter, p).await).await?;
    let categories = all(async |p| store.list_categories(project, kb_id, p).await).await?;
    let sections = all(async |p| store.list_sections(project, kb_id, None, p).await).await?;

    // Folder names are derived from names in display order, so repeated exports of an
    // unchanged KB produce the same paths.
    let mut root_names = UniqueNames::default();
    let mut names_in: HashMap<String, UniqueNames> = HashMap::new();
    let mut category_folder: HashMap<&str, String> = HashMap::new();
    let mut entries = Vec::with_capacity(categories.len());
    for c in &categories {
        let folder = root_names.claim(&slugify(&c.name, "category"), "");
        sink.dir(&folder)?;
        category_folder.insert(&c.id, folder.clone());
        entries.push(CategoryEntry {
            id: Some(c.id.clone()),
            name: c.name.clone(),
            description: c.description.clone(),
            icon: c.icon.clone(),
            sort_order: Some(c.sort_order),
            folder,
        });
    }
    let mut section_folder: HashMap<&str, String> = HashMap::new();
    let mut section_entries = Vec::with_capacity(sections.len());
    for s in &sections {
        let Some(parent) = category_folder.get(s.category_id.as_str()) else {
            bail!("the knowledge base changed during the export; run it again");
        };
        let name = names_in
            .entry(parent.clone())
            .or_default()
            .claim(&slugify(&s.name, "section"), "");
        let folder = format!("{parent}/{name}");
        sink.dir(&folder)?;
        section_folder.insert(&s.id, folder.clone());
        section_entries.push(SectionEntry {
            id: Some(s.id.clone()),
            name: s.name.clone(),
            description: s.description.clone(),
            sort_order: Some(s.sort_order),
            folder,
        });
    }

    let mut place = |category_id: &str, section_id: Option<&str>, title: &str, fallback: &str| {
        let folder = section_id
            .and_then(|s| section_folder.get(s))
            .or_else(|| category_folder.get(category_id))
            .cloned()
            .context("the knowledge base changed during the export; run it again")?;
        let name = names_in
            .entry(folder.clone())
            .or_default()
            .claim(&slugify(title, fallback), ".md");
        anyhow::Ok(format!("{folder}/{name}"))
    };

    let exported: HashSet<&str> = articles.iter().map(|a| a.id.as_str()).collect();
    let mut files = Vec::with_capacity(articles.len() + faqs.len());
    let (mut n_articles, mut n_faqs) = (0, 0);
    for summary in &articles {
        let a = match store.get_article(project, kb_id, &summary.id).await {
            Ok(a) => a,
            // Deleted since it was listed: export what exists now.
            Err(StoreError::NotFound(Entity::Article)) => continue,
            Err(e) => return Err(store_error(e)),
        };
        let path = place(
            &a.category_id,
            a.section_id.as_deref(),
            &a.title,
            "untitled",
        )?;
        let related: Vec<String> = a
            .related_articles
            .iter()
            .filter(|id| exported.contains(id.as_str()))
            .cloned()
            .collect();
        let text = front_matter::render_article(&a, &related);
        sink.file(&path, text.as_bytes())?;
        files.push(FileEntry {
            path,
            kind: Some("article".into()),
            id: Some(a.id),
            sha256: Some(manifest::sha256_hex(text.as_bytes())),
        });
        n_articles += 1;
    }
    for f in &faqs {
        let path = place(&f.category_id, f.section_id.as_deref(), &f.question, "faq")?;
        let text = front_matter::render_faq(f);
        sink.file(&path, text.as_bytes())?;
        files.push(FileEntry {
            path,
            kind: Some("faq".into()),
            id: Some(f.id.clone()),
            sha256: Some(manifest::sha256_hex(text.as_bytes())),
        });
        n_faqs += 1;
    }

    let counts = Counts {
        categories: categories.len(),
        sections: sections.len(),
        articles: n_articles,
        faqs: n_faqs,
    };
    let manifest = Manifest {
        format: manifest::FORMAT.into(),
        version: manifest::VERSION,
        exported_at: Some(time::now()),
        generator: Some(format!("tome {}", env!("CARGO_PKG_VERSION"))),
        knowledge_base: Some(KbEntry {
            id: Some(kb.id.clone()),
            title: Some(kb.title.clone()),
            slug: Some(kb.slug.clone()),
            description: kb.description.clone(),
            is_public: Some(kb.is_public),
            theme: Some(kb.theme.as_str().into()),
            theme_settings: kb.theme_settings.clone(),
            logo_path: kb.logo_path.clone(),
        }),
        categories: entries,
        sections: section_entries,
        counts: Some(counts),
        files,
    };
    let mut json = serde_json::to_vec_pretty(&manifest)?;
    json.push(b'\n');
    sink.file(manifest::FILE_NAME, &json)?;
    Ok(counts)
}
