//! `tome import`: a validated plan written through the `Store` trait, all or nothing.
//!
//! Every create goes through the same store methods as the API, so it is charged the API's
//! credits. The whole price is checked against the project's cap before the first write; if a
//! write still fails (a concurrent spender, a lost database), the new knowledge base is deleted
//! again with everything in it.

use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use serde_json::json;
use tome_core::input::{ArticlePatch, NewArticle};
use tome_core::keys;
use tome_core::time;
use tome_core::validate::{BULK_MAX, SITE_KEY_RATE_DEFAULT};
use tome_store::{CreatedKb, Store, StoreError};

use std::path::Path;

use tome_core::model::{KnowledgeBase, Status};
use tome_core::source::SourceFormat;

use super::plan::{self, Plan};
use super::{ImportArgs, Problems, describe, manifest, source, store_error};
use crate::desired::PAGE_LINK_PREFIX;
use crate::files::Files;
use crate::formats::mintlify;
use crate::links;

pub async fn run(store: Arc<dyn Store>, args: ImportArgs, as_json: bool) -> Result<()> {
    let project = store
        .get_project(&args.project)
        .await
        .map_err(store_error)?;
    let plan = match format_of(&args.from, args.format) {
        SourceFormat::Mintlify => mintlify_plan(&args)?,
        SourceFormat::Tome | SourceFormat::Auto => {
            let tree = source::read(&args.from, &args.exclude)?;
            let opts = plan::Options {
                title: args.title.clone(),
                slug: args.slug.clone(),
                default_status: args.default_status.unwrap_or(Status::Draft),
                verify: args.verify,
            };
            plan::build(&tree, &opts)?
        }
    };
    let price = plan.price();
    let usage = store
        .usage(&project.id, time::month_of(&time::now()))
        .await
        .map_err(store_error)?;
    if let Some(cap) = usage.credit_cap {
        let used = usage.credits_used();
        if used + price > cap {
            bail!(
                "the import costs {price} credits ({}, 3 for the knowledge base) and project {} has \
                 used {used} of its {cap}-credit monthly cap; nothing was imported",
                describe(&plan.counts()),
                project.id
            );
        }
    }
    if args.dry_run {
        return report(&plan, None, price, as_json);
    }

    let site_key = keys::generate_site_key();
    let slug = plan.kb.slug.clone();
    let created = store
        .create_kb(
            &project.id,
            plan.kb.clone(),
            &site_key,
            SITE_KEY_RATE_DEFAULT,
        )
        .await
        .map_err(|e| match e {
            StoreError::Invalid(v) if v.field == "slug" => anyhow!(
                "slug {slug:?} {}; choose another with --slug. Nothing was imported",
                v.reason
            ),
            other => store_error(other),
        })?;
    let kb_id = created.kb.id.clone();
    if let Err(e) = fill(&*store, &project.id, &created.kb, &plan).await {
        return Err(match store.delete_kb(&project.id, &kb_id).await {
            Ok(()) => e.context(format!(
                "the import failed and was rolled back (knowledge base {kb_id} deleted)"
            )),
            Err(undo) => e.context(format!(
                "the import failed, and deleting the partial knowledge base {kb_id} failed too \
                 ({undo}); delete it by hand"
            )),
        });
    }
    tracing::info!(kb.id = %kb_id, project.id = %project.id, credits = price, "imported knowledge base");
    report(&plan, Some((&created, &site_key.plaintext)), price, as_json)
}

/// The format of the archive at `from`: a folder with `docs.json` or `mint.json` at its root
/// is a Mintlify repository when the format is `Auto`.
fn format_of(from: &Path, format: SourceFormat) -> SourceFormat {
    match format {
        SourceFormat::Auto
            if from.is_dir()
                && (from.join("docs.json").is_file() || from.join("mint.json").is_file()) =>
        {
            SourceFormat::Mintlify
        }
        SourceFormat::Auto => SourceFormat::Tome,
        other => other,
    }
}

/// A Mintlify repository read by the same reader as a `mintlify` source.
fn mintlify_plan(args: &ImportArgs) -> Result<Plan> {
    if source::is_tarball(&args.from) || !args.from.is_dir() {
        bail!(
            "{}: a Mintlify repository is imported from a folder (unpack a tarball first)",
            args.from.display()
        );
    }
    let files = Files::read_dir(&args.from, &args.exclude)?;
    let desired = mintlify::read_with(&files, args.default_status.unwrap_or(Status::Published))?;
    // The site's name and description from docs.json, unless the command line says otherwise.
    let config: Option<serde_json::Value> = ["docs.json", "mint.json"]
        .iter()
        .find_map(|f| files.text(f))
        .and_then(|t| serde_json::from_str(t).ok());
    let text = |key: &str| {
        config
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let entry = manifest::KbEntry {
        id: None,
        title: text("name"),
        slug: None,
        description: text("description"),
        is_public: None,
        theme: None,
        theme_settings: None,
        logo_path: None,
    };
    let opts = plan::Options {
        title: args.title.clone(),
        slug: args.slug.clone(),
        default_status: args.default_status.unwrap_or(Status::Published),
        verify: false,
    };
    let mut problems = Vec::new();
    let name = source::archive_name(&args.from);
    match plan::knowledge_base(Some(&entry), &name, &opts, &mut problems) {
        Some(kb) if problems.is_empty() => Ok(plan::from_desired(desired, kb)),
        _ => Err(Problems(problems).into()),
    }
}

/// Creates everything in `plan` inside the new knowledge base, in plan order.
async fn fill(store: &dyn Store, project: &str, kb: &KnowledgeBase, plan: &Plan) -> Result<()> {
    let kb_slug = kb.slug.as_str();
    let kb = kb.id.as_str();
    let mut category_ids = Vec::with_capacity(plan.categories.len());
    for c in &plan.categories {
        let created = store
            .create_category(project, kb, c.clone())
            .await
            .map_err(|e| write_error(e, &format!("category {:?}", c.name)))?;
        category_ids.push(created.id);
    }
    let mut section_ids = Vec::with_capacity(plan.sections.len());
    for s in &plan.sections {
        let mut new = s.new.clone();
        new.category_id = category_ids[s.category].clone();
        let created = store
            .create_section(project, kb, new)
            .await
            .map_err(|e| write_error(e, &format!("section {:?}", s.new.name)))?;
        section_ids.push(created.id);
    }

    // Articles go in batches of the API's bulk size, without their related articles: those
    // may point forward, so they are set once every article exists.
    let mut article_ids: Vec<String> = Vec::with_capacity(plan.articles.len());
    for batch in plan.articles.chunks(BULK_MAX) {
        let items: Vec<NewArticle> = batch
            .iter()
            .map(|a| NewArticle {
                category_id: category_ids[a.category].clone(),
                section_id: a.section.map(|s| section_ids[s].clone()),
                related_articles: Vec::new(),
                ..a.new.clone()
            })
            .collect();
        let created = store
            .create_articles(project, kb, items, true)
            .await
            .map_err(|e| batch_error(e, batch.iter().map(|a| a.path.as_str())))?;
        article_ids.extend(created.into_iter().map(|a| a.id));
    }
    // Links between pages (`tome:page/N`) become the hosted URLs of the articles.
    let url_of = |i: usize| {
        let id = article_ids.get(i)?;
        Some(links::hosted_article_url(
            kb_slug,
            id,
            &plan.articles.get(i)?.new.title,
        ))
    };
    let links: Vec<(String, ArticlePatch, &str)> = plan
        .articles
        .iter()
        .zip(&article_ids)
        .filter_map(|(a, id)| {
            let body = (plan.page_links && a.new.body.contains(PAGE_LINK_PREFIX))
                .then(|| links::rewrite_page_links(&a.new.body, url_of))
                .filter(|b| *b != a.new.body);
            if a.related.is_empty() && body.is_none() {
                return None;
            }
            let patch = ArticlePatch {
                body,
                related_articles: (!a.related.is_empty())
                    .then(|| a.related.iter().map(|&i| article_ids[i].clone()).collect()),
                ..ArticlePatch::default()
            };
            Some((id.clone(), patch, a.path.as_str()))
        })
        .collect();
    for batch in links.chunks(BULK_MAX) {
        let items = batch
            .iter()
            .map(|(id, p, _)| (id.clone(), p.clone()))
            .collect();
        store
            .update_articles(project, kb, items, true)
            .await
            .map_err(|e| batch_error(e, batch.iter().map(|(_, _, path)| *path)))?;
    }

    for f in &plan.faqs {
        let mut new = f.new.clone();
        new.category_id = category_ids[f.category].clone();
        new.section_id = f.section.map(|s| section_ids[s].clone());
        if plan.page_links && new.answer.contains(PAGE_LINK_PREFIX) {
            new.answer = links::rewrite_page_links(&new.answer, url_of);
        }
        store
            .create_faq(project, kb, new)
            .await
            .map_err(|e| write_error(e, &f.path))?;
    }
    Ok(())
}

/// A failed write, named by what was being written.
fn write_error(e: StoreError, what: &str) -> anyhow::Error {
    match e {
        StoreError::SpendingCap { cap, used, price } => anyhow!(
            "{what}: the project's monthly credit cap of {cap} was reached during the import \
             ({used} used, {price} needed; something else spent credits meanwhile)"
        ),
        StoreError::Invalid(v) => anyhow!("{what}: {v}"),
        other => store_error(other).context(format!("writing {what}")),
    }
}

/// A failed bulk write; the store names the item as `articles[i].field`.
fn batch_error<'a>(e: StoreError, paths: impl Iterator<Item = &'a str>) -> anyhow::Error {
    let paths: Vec<&str> = paths.collect();
    if let StoreError::Invalid(v) = &e {
        let item = v
            .field
            .strip_prefix("articles[")
            .and_then(|r| r.split_once("]."))
            .and_then(|(i, field)| Some((paths.get(i.parse::<usize>().ok()?)?, field)));
        if let Some((path, field)) = item {
            return anyhow!("{path}: {field}: {}", v.reason);
        }
    }
    let what = match paths.as_slice() {
        [one] => (*one).to_string(),
        [first, .., last] => format!("{first} … {last}"),
        [] => "articles".to_string(),
    };
    write_error(e, &what)
}

/// Prints what was (or, for a dry run, would be) imported.
fn report(
    plan: &Plan,
    created: Option<(&CreatedKb, &str)>,
    price: i64,
    as_json: bool,
) -> Result<()> {
    let r = &plan.report;
    if as_json {
        let mut v = json!({
            "dry_run": created.is_none(),
            "counts": plan.counts(),
            "credits": price,
            "ignored_keys": r.ignored_keys,
            "skipped_files": r.skipped_files,
            "modified_files": r.modified_files,
            "missing_files": r.missing_files,
            "logs": r.logs,
        });
        if let Some((c, key)) = created {
            v["knowledge_base"] = json!({
                "id": c.kb.id, "project_id": c.kb.project_id, "title": c.kb.title,
                "slug": c.kb.slug, "is_public": c.kb.is_public, "created_at": c.kb.created_at,
            });
            v["site_key"] = json!(key);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    match created {
        Some((c, key)) => {
            println!(
                "Imported {:?} as {} (slug {}) into {}: {}, {price} credits.",
                c.kb.title,
                c.kb.id,
                c.kb.slug,
                c.kb.project_id,
                describe(&plan.counts())
            );
            println!("Its site key is shown only now; store it:\n\n    {key}\n");
        }
        None => println!(
            "Dry run: would import {:?} (slug {}): {}, {price} credits. Nothing was written.",
            plan.kb.title,
            plan.kb.slug,
            describe(&plan.counts())
        ),
    }
    if !r.logs.is_empty() {
        println!("Notes:");
        for line in &r.logs {
            println!("  {line}");
        }
    }
    if !r.ignored_keys.is_empty() {
        let keys: Vec<String> = r
            .ignored_keys
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        println!("Ignored front-matter keys (files): {}", keys.join(", "));
    }
    if r.skipped_files > 0 {
        println!(
            "Skipped {} files that are not Markdown or were excluded.",
            r.skipped_files
        );
    }
    if !r.modified_files.is_empty() {
        println!(
            "{} files changed since the export: {}",
            r.modified_files.len(),
            r.modified_files.join(", ")
        );
    }
    if !r.missing_files.is_empty() {
        println!(
            "{} files listed in the manifest are missing: {}",
            r.missing_files.len(),
            r.missing_files.join(", ")
        );
    }
    Ok(())
}
