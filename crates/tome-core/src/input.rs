//! Request bodies as clients send them, and their validation into `New*` and `*Patch` values.
//!
//! Every field is a [`Patch`] so that one type serves create (absent and `null` both mean "not
//! given") and update (absent leaves a field alone, `null` clears a nullable field and is
//! rejected for a required one). Unknown fields are rejected by serde.

use serde::Deserialize;

use crate::id;
use crate::model::{Article, Category, Faq, KnowledgeBase, Section, Status, Theme, ThemeSettings};
use crate::patch::Patch;
use crate::validate::{self as v, Result, ValidationError};

// ---------------------------------------------------------------- shared field helpers

fn req_text(field: &str, p: Patch<String>, max: usize) -> Result<String> {
    v::text(field, v::required(field, p.into_option())?, max)
}

/// Update of a required text: absent → unchanged, `null` → error.
fn upd_text(field: &str, p: Patch<String>, max: usize) -> Result<Option<String>> {
    match p {
        Patch::Absent => Ok(None),
        Patch::Null => Err(ValidationError::new(field, "must not be null")),
        Patch::Value(s) => v::text(field, s, max).map(Some),
    }
}

/// Optional text on create; empty strings are stored as given.
fn opt_text(field: &str, p: Patch<String>, max: usize) -> Result<Option<String>> {
    match p.into_option() {
        Some(s) => v::max_len(field, &s, max).map(|()| Some(s)),
        None => Ok(None),
    }
}

/// Update of a nullable text: absent → unchanged, `null` → clear.
fn upd_opt_text(field: &str, p: Patch<String>, max: usize) -> Result<Option<Option<String>>> {
    match p {
        Patch::Absent => Ok(None),
        Patch::Null => Ok(Some(None)),
        Patch::Value(s) => v::max_len(field, &s, max).map(|()| Some(Some(s))),
    }
}

fn upd_value<T>(field: &str, p: Patch<T>) -> Result<Option<T>> {
    match p {
        Patch::Absent => Ok(None),
        Patch::Null => Err(ValidationError::new(field, "must not be null")),
        Patch::Value(x) => Ok(Some(x)),
    }
}

fn theme(p: String) -> Result<Theme> {
    Theme::parse(&p).ok_or_else(|| {
        ValidationError::new(
            "theme",
            format!("must be one of {}", Theme::NAMES.join(", ")),
        )
    })
}

pub fn status(field: &str, s: &str) -> Result<Status> {
    Status::parse(s).ok_or_else(|| {
        ValidationError::new(
            field,
            format!("must be one of {}", Status::NAMES.join(", ")),
        )
    })
}

fn ref_id(field: &str, s: String, prefix: &str) -> Result<String> {
    if id::is_id(prefix, &s) {
        Ok(s)
    } else {
        Err(ValidationError::new(
            field,
            format!("is not a valid ID (expected {prefix}…)"),
        ))
    }
}

fn opt_ref_id(field: &str, p: Patch<String>, prefix: &str) -> Result<Option<String>> {
    p.into_option()
        .map(|s| ref_id(field, s, prefix))
        .transpose()
}

fn upd_opt_ref_id(field: &str, p: Patch<String>, prefix: &str) -> Result<Option<Option<String>>> {
    match p {
        Patch::Absent => Ok(None),
        Patch::Null => Ok(Some(None)),
        Patch::Value(s) => ref_id(field, s, prefix).map(|s| Some(Some(s))),
    }
}

fn sort(p: Patch<i64>) -> Result<Option<i64>> {
    upd_value("sort_order", p)?
        .map(|n| v::sort_order("sort_order", n))
        .transpose()
}

fn tags(p: Patch<Vec<String>>) -> Result<Option<Vec<String>>> {
    let Some(tags) = upd_value("tags", p)? else {
        return Ok(None);
    };
    if tags.len() > v::TAGS_MAX {
        return Err(ValidationError::new(
            "tags",
            format!(
                "must contain at most {} tags (got {})",
                v::TAGS_MAX,
                tags.len()
            ),
        ));
    }
    for (i, t) in tags.iter().enumerate() {
        v::text(&format!("tags[{i}]"), t.clone(), v::TAG_MAX)?;
    }
    Ok(Some(tags))
}

fn related(p: Patch<Vec<String>>) -> Result<Option<Vec<String>>> {
    upd_value("related_articles", p)?
        .map(|ids| v::id_list("related_articles", ids, id::ARTICLE, v::RELATED_MAX))
        .transpose()
}

fn no_id(p: &Patch<String>) -> Result<()> {
    if p.is_absent() {
        Ok(())
    } else {
        Err(ValidationError::new(
            "id",
            "is assigned by the server and cannot be set",
        ))
    }
}

// ---------------------------------------------------------------- knowledge bases

/// Body of `POST /v1/kb/` and `PUT /v1/kb/:id`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KbInput {
    #[serde(default)]
    pub title: Patch<String>,
    /// Lowercase letters, digits and hyphens; unique within the project.
    #[serde(default)]
    pub slug: Patch<String>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub is_public: Patch<bool>,
    /// One of `minimal` (default), `developer`, `brand`, `docs`, `bare`.
    #[serde(default)]
    pub theme: Patch<String>,
    /// Merged into the current settings on update; `null` clears them.
    #[serde(default, deserialize_with = "crate::patch::object")]
    pub theme_settings: Patch<ThemeSettingsInput>,
    #[serde(default)]
    pub logo_path: Patch<String>,
}

/// `theme_settings` as sent by a client.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeSettingsInput {
    #[serde(default)]
    pub primary_color: Patch<String>,
    #[serde(default)]
    pub dark_mode: Patch<bool>,
    #[serde(default)]
    pub custom_css: Patch<String>,
}

impl ThemeSettingsInput {
    fn validate(&self) -> Result<()> {
        if let Patch::Value(c) = &self.primary_color {
            v::hex_color("theme_settings.primary_color", c)?;
        }
        if let Patch::Value(css) = &self.custom_css {
            v::max_len("theme_settings.custom_css", css, v::CUSTOM_CSS_MAX)?;
        }
        Ok(())
    }

    /// Applies these settings on top of `current`: given fields replace, `null` fields clear.
    pub fn merge_into(self, current: Option<ThemeSettings>) -> ThemeSettings {
        fn merge<T>(p: Patch<T>, cur: Option<T>) -> Option<T> {
            match p {
                Patch::Absent => cur,
                Patch::Null => None,
                Patch::Value(x) => Some(x),
            }
        }
        let cur = current.unwrap_or_default();
        ThemeSettings {
            primary_color: merge(self.primary_color, cur.primary_color),
            dark_mode: merge(self.dark_mode, cur.dark_mode),
            custom_css: merge(self.custom_css, cur.custom_css),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewKb {
    pub title: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub theme: Theme,
    pub theme_settings: Option<ThemeSettings>,
    pub logo_path: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct KbPatch {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub is_public: Option<bool>,
    pub theme: Option<Theme>,
    /// `Some(None)` clears; `Some(Some(input))` merges.
    pub theme_settings: Option<Option<ThemeSettingsInput>>,
    pub logo_path: Option<Option<String>>,
}

impl KbInput {
    pub fn into_new(self) -> Result<NewKb> {
        let title = req_text("title", self.title, v::KB_TITLE_MAX)?;
        let slug = v::slug(v::required("slug", self.slug.into_option())?)?;
        let description = opt_text("description", self.description, v::DESCRIPTION_MAX)?;
        let theme = self
            .theme
            .into_option()
            .map(theme)
            .transpose()?
            .unwrap_or_default();
        let theme_settings = match self.theme_settings.into_option() {
            Some(ts) => {
                ts.validate()?;
                Some(ts.merge_into(None))
            }
            None => None,
        };
        let logo_path = self.logo_path.into_option();
        if let Some(p) = &logo_path {
            v::logo_path(p)?;
        }
        Ok(NewKb {
            title,
            slug,
            description,
            is_public: self.is_public.into_option().unwrap_or(false),
            theme,
            theme_settings,
            logo_path,
        })
    }

    pub fn into_patch(self) -> Result<KbPatch> {
        let theme_settings = match self.theme_settings {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(ts) => {
                ts.validate()?;
                Some(Some(ts))
            }
        };
        let logo_path = match self.logo_path {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(p) => {
                v::logo_path(&p)?;
                Some(Some(p))
            }
        };
        Ok(KbPatch {
            title: upd_text("title", self.title, v::KB_TITLE_MAX)?,
            slug: upd_value("slug", self.slug)?.map(v::slug).transpose()?,
            description: upd_opt_text("description", self.description, v::DESCRIPTION_MAX)?,
            is_public: upd_value("is_public", self.is_public)?,
            theme: upd_value("theme", self.theme)?.map(theme).transpose()?,
            theme_settings,
            logo_path,
        })
    }
}

impl KbPatch {
    pub fn apply(self, kb: &mut KnowledgeBase, now: &str) {
        if let Some(x) = self.title {
            kb.title = x;
        }
        if let Some(x) = self.slug {
            kb.slug = x;
        }
        if let Some(x) = self.description {
            kb.description = x;
        }
        if let Some(x) = self.is_public {
            kb.is_public = x;
        }
        if let Some(x) = self.theme {
            kb.theme = x;
        }
        if let Some(x) = self.theme_settings {
            kb.theme_settings = x.map(|input| input.merge_into(kb.theme_settings.take()));
        }
        if let Some(x) = self.logo_path {
            kb.logo_path = x;
        }
        kb.updated_at = now.to_string();
    }
}

// ---------------------------------------------------------------- project & site key

/// Body of `PUT /v1/project`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    #[serde(default)]
    pub name: Patch<String>,
    /// Host names allowed to call the public API (`example.com`, `localhost:5173`). Empty allows all.
    #[serde(default)]
    pub allowed_domains: Patch<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub allowed_domains: Option<Vec<String>>,
    /// Operator only (CLI): `Some(None)` removes the cap.
    pub credit_cap: Option<Option<i64>>,
}

impl ProjectInput {
    pub fn into_patch(self) -> Result<ProjectPatch> {
        let allowed_domains = match self.allowed_domains {
            Patch::Absent => None,
            // `null` means "no restriction", the same as an empty list.
            Patch::Null => Some(Vec::new()),
            Patch::Value(list) => Some(domains(list)?),
        };
        Ok(ProjectPatch {
            name: upd_text("name", self.name, v::PROJECT_NAME_MAX)?,
            allowed_domains,
            credit_cap: None,
        })
    }
}

fn domains(list: Vec<String>) -> Result<Vec<String>> {
    if list.len() > v::ALLOWED_DOMAINS_MAX {
        return Err(ValidationError::new(
            "allowed_domains",
            format!("must contain at most {} domains", v::ALLOWED_DOMAINS_MAX),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, d) in list.iter().enumerate() {
        let d = v::domain(&format!("allowed_domains[{i}]"), d)?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// A project name given on the command line.
pub fn project_name(name: String) -> Result<String> {
    v::text("name", name, v::PROJECT_NAME_MAX)
}

/// A credit cap given on the command line.
pub fn credit_cap(cap: i64) -> Result<i64> {
    if cap < 0 {
        return Err(ValidationError::new("credit_cap", "must be zero or more"));
    }
    Ok(cap)
}

/// Body of `PUT /v1/kb/:id/site-key`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteKeyInput {
    /// Requests per minute, 1–1000.
    #[serde(default)]
    pub rate_limit: Patch<i64>,
}

impl SiteKeyInput {
    pub fn into_rate_limit(self) -> Result<i64> {
        let n = v::required("rate_limit", self.rate_limit.into_option())?;
        if !(v::SITE_KEY_RATE_MIN..=v::SITE_KEY_RATE_MAX).contains(&n) {
            return Err(ValidationError::new(
                "rate_limit",
                format!(
                    "must be between {} and {}",
                    v::SITE_KEY_RATE_MIN,
                    v::SITE_KEY_RATE_MAX
                ),
            ));
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------- categories & sections

/// Body of category create and update.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub icon: Patch<String>,
    #[serde(default)]
    pub sort_order: Patch<i64>,
}

#[derive(Debug, Clone)]
pub struct NewCategory {
    pub name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub sort_order: i64,
}

#[derive(Debug, Clone, Default)]
pub struct CategoryPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub icon: Option<Option<String>>,
    pub sort_order: Option<i64>,
}

impl CategoryInput {
    pub fn into_new(self) -> Result<NewCategory> {
        Ok(NewCategory {
            name: req_text("name", self.name, v::CATEGORY_NAME_MAX)?,
            description: opt_text("description", self.description, v::DESCRIPTION_MAX)?,
            icon: opt_text("icon", self.icon, v::ICON_MAX)?,
            sort_order: sort(
                self.sort_order
                    .into_option()
                    .map_or(Patch::Absent, Patch::Value),
            )?
            .unwrap_or(0),
        })
    }

    pub fn into_patch(self) -> Result<CategoryPatch> {
        Ok(CategoryPatch {
            name: upd_text("name", self.name, v::CATEGORY_NAME_MAX)?,
            description: upd_opt_text("description", self.description, v::DESCRIPTION_MAX)?,
            icon: upd_opt_text("icon", self.icon, v::ICON_MAX)?,
            sort_order: sort(self.sort_order)?,
        })
    }
}

impl CategoryPatch {
    pub fn apply(self, c: &mut Category, now: &str) {
        if let Some(x) = self.name {
            c.name = x;
        }
        if let Some(x) = self.description {
            c.description = x;
        }
        if let Some(x) = self.icon {
            c.icon = x;
        }
        if let Some(x) = self.sort_order {
            c.sort_order = x;
        }
        c.updated_at = now.to_string();
    }
}

/// Body of section create and update.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionInput {
    /// Required on create. Changing it moves the section (and its articles and FAQs).
    #[serde(default)]
    pub category_id: Patch<String>,
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub sort_order: Patch<i64>,
}

#[derive(Debug, Clone)]
pub struct NewSection {
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
    pub sort_order: i64,
}

#[derive(Debug, Clone, Default)]
pub struct SectionPatch {
    pub category_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub sort_order: Option<i64>,
}

impl SectionInput {
    pub fn into_new(self) -> Result<NewSection> {
        let category_id = v::required("category_id", self.category_id.into_option())?;
        Ok(NewSection {
            category_id: ref_id("category_id", category_id, id::CATEGORY)?,
            name: req_text("name", self.name, v::SECTION_NAME_MAX)?,
            description: opt_text("description", self.description, v::DESCRIPTION_MAX)?,
            sort_order: sort(
                self.sort_order
                    .into_option()
                    .map_or(Patch::Absent, Patch::Value),
            )?
            .unwrap_or(0),
        })
    }

    pub fn into_patch(self) -> Result<SectionPatch> {
        Ok(SectionPatch {
            category_id: upd_value("category_id", self.category_id)?
                .map(|c| ref_id("category_id", c, id::CATEGORY))
                .transpose()?,
            name: upd_text("name", self.name, v::SECTION_NAME_MAX)?,
            description: upd_opt_text("description", self.description, v::DESCRIPTION_MAX)?,
            sort_order: sort(self.sort_order)?,
        })
    }
}

impl SectionPatch {
    pub fn apply(self, s: &mut Section, now: &str) {
        if let Some(x) = self.category_id {
            s.category_id = x;
        }
        if let Some(x) = self.name {
            s.name = x;
        }
        if let Some(x) = self.description {
            s.description = x;
        }
        if let Some(x) = self.sort_order {
            s.sort_order = x;
        }
        s.updated_at = now.to_string();
    }
}

// ---------------------------------------------------------------- articles

/// Body of article create and update, and one item of a bulk call (where `id` names the
/// article to update).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// Only in `PUT /articles/bulk` items: the article to update.
    #[serde(default)]
    pub id: Patch<String>,
    /// Required on create.
    #[serde(default)]
    pub category_id: Patch<String>,
    /// A section of `category_id`, or null for a category-level article.
    #[serde(default)]
    pub section_id: Patch<String>,
    #[serde(default)]
    pub title: Patch<String>,
    /// Markdown, at most 100,000 characters.
    #[serde(default)]
    pub body: Patch<String>,
    #[serde(default)]
    pub excerpt: Patch<String>,
    /// `draft` (default), `published` or `archived`.
    #[serde(default)]
    pub status: Patch<String>,
    #[serde(default)]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    pub related_articles: Patch<Vec<String>>,
    /// Position within its category or section (ascending); default 0.
    #[serde(default)]
    pub sort_order: Patch<i64>,
}

#[derive(Debug, Clone)]
pub struct NewArticle {
    pub category_id: String,
    pub section_id: Option<String>,
    pub title: String,
    pub body: String,
    pub excerpt: Option<String>,
    pub status: Status,
    pub tags: Vec<String>,
    pub related_articles: Vec<String>,
    pub sort_order: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ArticlePatch {
    pub category_id: Option<String>,
    pub section_id: Option<Option<String>>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub excerpt: Option<Option<String>>,
    pub status: Option<Status>,
    pub tags: Option<Vec<String>>,
    pub related_articles: Option<Vec<String>>,
    pub sort_order: Option<i64>,
}

impl ArticleInput {
    pub fn into_new(self) -> Result<NewArticle> {
        no_id(&self.id)?;
        let category_id = v::required("category_id", self.category_id.into_option())?;
        let body = self.body.into_option().unwrap_or_default();
        v::max_len("body", &body, v::ARTICLE_BODY_MAX)?;
        Ok(NewArticle {
            category_id: ref_id("category_id", category_id, id::CATEGORY)?,
            section_id: opt_ref_id("section_id", self.section_id, id::SECTION)?,
            title: req_text("title", self.title, v::ARTICLE_TITLE_MAX)?,
            body,
            excerpt: opt_text("excerpt", self.excerpt, v::ARTICLE_EXCERPT_MAX)?,
            status: self
                .status
                .into_option()
                .map(|s| status("status", &s))
                .transpose()?
                .unwrap_or_default(),
            tags: tags(null_as_absent(self.tags))?.unwrap_or_default(),
            related_articles: related(null_as_absent(self.related_articles))?.unwrap_or_default(),
            sort_order: sort(null_as_absent(self.sort_order))?.unwrap_or(0),
        })
    }

    /// Validates an update. `id` must be absent (single update) or is returned (bulk update).
    pub fn into_patch(mut self, bulk: bool) -> Result<(Option<String>, ArticlePatch)> {
        let id = if bulk {
            let id = v::required("id", std::mem::take(&mut self.id).into_option())?;
            Some(ref_id("id", id, id::ARTICLE)?)
        } else {
            no_id(&self.id)?;
            None
        };
        let body = upd_value("body", self.body)?;
        if let Some(b) = &body {
            v::max_len("body", b, v::ARTICLE_BODY_MAX)?;
        }
        let patch = ArticlePatch {
            category_id: upd_value("category_id", self.category_id)?
                .map(|c| ref_id("category_id", c, id::CATEGORY))
                .transpose()?,
            section_id: upd_opt_ref_id("section_id", self.section_id, id::SECTION)?,
            title: upd_text("title", self.title, v::ARTICLE_TITLE_MAX)?,
            body,
            excerpt: upd_opt_text("excerpt", self.excerpt, v::ARTICLE_EXCERPT_MAX)?,
            status: upd_value("status", self.status)?
                .map(|s| status("status", &s))
                .transpose()?,
            tags: tags(self.tags)?,
            related_articles: related(self.related_articles)?,
            sort_order: sort(self.sort_order)?,
        };
        Ok((id, patch))
    }
}

fn null_as_absent<T>(p: Patch<T>) -> Patch<T> {
    match p {
        Patch::Null => Patch::Absent,
        other => other,
    }
}

impl ArticlePatch {
    /// Applies the patch. Moving to another category without naming a section drops the old
    /// section (it belongs to the old category); publishing stamps `published_at` once.
    pub fn apply(self, a: &mut Article, now: &str) {
        if let Some(c) = self.category_id {
            if c != a.category_id && self.section_id.is_none() {
                a.section_id = None;
            }
            a.category_id = c;
        }
        if let Some(x) = self.section_id {
            a.section_id = x;
        }
        if let Some(x) = self.title {
            a.title = x;
        }
        if let Some(x) = self.body {
            a.body = x;
        }
        if let Some(x) = self.excerpt {
            a.excerpt = x;
        }
        if let Some(s) = self.status {
            set_status(&mut a.status, &mut a.published_at, s, now);
        }
        if let Some(x) = self.tags {
            a.tags = x;
        }
        if let Some(x) = self.related_articles {
            a.related_articles = x;
        }
        if let Some(x) = self.sort_order {
            a.sort_order = x;
        }
        a.updated_at = now.to_string();
    }
}

/// Moves to `to`, stamping `published_at` when content becomes published.
pub fn set_status(status: &mut Status, published_at: &mut Option<String>, to: Status, now: &str) {
    if to == Status::Published && (*status != Status::Published || published_at.is_none()) {
        *published_at = Some(now.to_string());
    }
    *status = to;
}

/// Body of `POST` and `PUT /v1/kb/:kb_id/articles/bulk`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkArticlesInput {
    /// 1 to 20 articles.
    #[serde(default, deserialize_with = "crate::patch::object_list")]
    pub articles: Patch<Vec<ArticleInput>>,
}

impl BulkArticlesInput {
    /// The items, after the batch-level checks (present, 1–20 items).
    pub fn into_items(self) -> Result<Vec<ArticleInput>> {
        let items = v::required("articles", self.articles.into_option())?;
        if items.is_empty() {
            return Err(ValidationError::new(
                "articles",
                "must contain at least 1 article",
            ));
        }
        if items.len() > v::BULK_MAX {
            return Err(ValidationError::new(
                "articles",
                format!(
                    "must contain at most {} articles (got {})",
                    v::BULK_MAX,
                    items.len()
                ),
            ));
        }
        Ok(items)
    }
}

// ---------------------------------------------------------------- FAQs

/// Body of FAQ create and update.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqInput {
    /// Required on create.
    #[serde(default)]
    pub category_id: Patch<String>,
    #[serde(default)]
    pub section_id: Patch<String>,
    #[serde(default)]
    pub question: Patch<String>,
    /// Markdown, at most 10,000 characters.
    #[serde(default)]
    pub answer: Patch<String>,
    /// `draft` (default), `published` or `archived`.
    #[serde(default)]
    pub status: Patch<String>,
    #[serde(default)]
    pub sort_order: Patch<i64>,
}

#[derive(Debug, Clone)]
pub struct NewFaq {
    pub category_id: String,
    pub section_id: Option<String>,
    pub question: String,
    pub answer: String,
    pub status: Status,
    pub sort_order: i64,
}

#[derive(Debug, Clone, Default)]
pub struct FaqPatch {
    pub category_id: Option<String>,
    pub section_id: Option<Option<String>>,
    pub question: Option<String>,
    pub answer: Option<String>,
    pub status: Option<Status>,
    pub sort_order: Option<i64>,
}

impl FaqInput {
    pub fn into_new(self) -> Result<NewFaq> {
        let category_id = v::required("category_id", self.category_id.into_option())?;
        Ok(NewFaq {
            category_id: ref_id("category_id", category_id, id::CATEGORY)?,
            section_id: opt_ref_id("section_id", self.section_id, id::SECTION)?,
            question: req_text("question", self.question, v::FAQ_QUESTION_MAX)?,
            answer: req_text("answer", self.answer, v::FAQ_ANSWER_MAX)?,
            status: self
                .status
                .into_option()
                .map(|s| status("status", &s))
                .transpose()?
                .unwrap_or_default(),
            sort_order: sort(null_as_absent(self.sort_order))?.unwrap_or(0),
        })
    }

    pub fn into_patch(self) -> Result<FaqPatch> {
        Ok(FaqPatch {
            category_id: upd_value("category_id", self.category_id)?
                .map(|c| ref_id("category_id", c, id::CATEGORY))
                .transpose()?,
            section_id: upd_opt_ref_id("section_id", self.section_id, id::SECTION)?,
            question: upd_text("question", self.question, v::FAQ_QUESTION_MAX)?,
            answer: upd_text("answer", self.answer, v::FAQ_ANSWER_MAX)?,
            status: upd_value("status", self.status)?
                .map(|s| status("status", &s))
                .transpose()?,
            sort_order: sort(self.sort_order)?,
        })
    }
}

impl FaqPatch {
    pub fn apply(self, f: &mut Faq, now: &str) {
        if let Some(c) = self.category_id {
            if c != f.category_id && self.section_id.is_none() {
                f.section_id = None;
            }
            f.category_id = c;
        }
        if let Some(x) = self.section_id {
            f.section_id = x;
        }
        if let Some(x) = self.question {
            f.question = x;
        }
        if let Some(x) = self.answer {
            f.answer = x;
        }
        if let Some(s) = self.status {
            set_status(&mut f.status, &mut f.published_at, s, now);
        }
        if let Some(x) = self.sort_order {
            f.sort_order = x;
        }
        f.updated_at = now.to_string();
    }
}

// ---------------------------------------------------------------- the request schemas

/// The JSON Schemas of the request bodies, built from the same constants and rules that validate
/// them above, so the OpenAPI document says exactly what the server accepts: a create schema and
/// an update schema per body (absent, `null` and a value mean different things in each).
pub mod schema {
    use serde_json::{Map, Value, json};

    use crate::id;
    use crate::model::{Status, Theme};
    use crate::validate as v;

    /// The characters `str::trim` removes (Unicode `White_Space`), spelled so that ECMA, Python
    /// and Rust regular expressions read them alike.
    const WHITE_SPACE: &str =
        r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

    /// Any text without U+0000 ([`v::max_len`]).
    fn no_nul() -> String {
        r"^[^\u0000]*$".to_string()
    }

    /// A text that is not blank after trimming and holds no U+0000 ([`v::text`]).
    pub fn not_blank() -> String {
        format!(r"^[^\u0000]*[^\u0000{WHITE_SPACE}][^\u0000]*$")
    }

    /// A required text ([`v::text`]): at least one non-space character, at most `max`.
    pub fn text(max: usize) -> Value {
        json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": not_blank() })
    }

    /// An optional text ([`v::max_len`]): may be empty, at most `max`.
    pub fn any_text(max: usize) -> Value {
        json!({ "type": "string", "maxLength": max, "pattern": no_nul() })
    }

    /// An ID of the kind `prefix` ([`id::is_id`]).
    pub fn id(prefix: &str) -> Value {
        json!({
            "type": "string",
            "pattern": format!("^{prefix}[a-z0-9]{{{}}}$", id::ID_RANDOM_LEN),
        })
    }

    /// A search text: not blank, at most `max` characters. (The server trims it first, so a
    /// longer text padded with spaces is accepted too; the document keeps to the simple rule.)
    pub fn search_text(max: usize) -> Value {
        json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": format!("[^{WHITE_SPACE}]") })
    }

    /// A comma-separated list of statuses ([`status`]); spaces around items and empty items are
    /// ignored.
    pub fn status_list() -> Value {
        let item = format!("({})", Status::NAMES.join("|"));
        let pad = format!("[{WHITE_SPACE}]*");
        json!({
            "type": "string",
            "pattern": format!("^[,{WHITE_SPACE}]*({item}{pad}(,[,{WHITE_SPACE}]*{item}{pad})*)?[,{WHITE_SPACE}]*$"),
            "description": "Comma-separated statuses: `draft`, `published`, `archived`.",
        })
    }

    /// A slug ([`v::slug`]).
    pub fn slug() -> Value {
        json!({ "type": "string", "minLength": 1, "maxLength": v::SLUG_MAX, "pattern": "^[a-z0-9-]+$" })
    }

    /// A `sort_order` ([`v::sort_order`]).
    pub fn sort_order() -> Value {
        json!({
            "type": "integer",
            "minimum": v::SORT_ORDER_RANGE.start(),
            "maximum": v::SORT_ORDER_RANGE.end(),
            "description": "Position among its siblings (ascending); default 0.",
        })
    }

    pub fn status() -> Value {
        json!({ "type": "string", "enum": Status::NAMES, "description": "`draft` (default on create), `published` or `archived`." })
    }

    fn theme() -> Value {
        json!({ "type": "string", "enum": Theme::NAMES, "description": "The hosted help centre's theme; `minimal` by default." })
    }

    /// A hex colour ([`v::hex_color`]).
    fn hex_color() -> Value {
        json!({ "type": "string", "pattern": "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", "description": "`#rgb` or `#rrggbb`." })
    }

    /// A logo address ([`v::logo_path`]): `http(s)://…` (scheme in any case) or `/…` but not
    /// `//…`, with no white space, control character, `"`, `<` or `>`.
    fn logo_path() -> Value {
        // No white space, control character (`char::is_control`), `"`, `<` or `>`.
        let ok = format!(r#"[^\u0000-\u001f\u007f-\u009f{WHITE_SPACE}"<>]"#);
        let ok_not_slash = format!(r#"[^\u0000-\u001f\u007f-\u009f{WHITE_SPACE}"<>/]"#);
        json!({
            "type": "string",
            "maxLength": v::LOGO_PATH_MAX,
            "pattern": format!("^([hH][tT][tT][pP][sS]?://{ok}*|/|/{ok_not_slash}{ok}*)$"),
            "description": "An `http(s)` URL or a path starting with `/` (not `//`).",
        })
    }

    /// An allowed domain ([`v::domain`]): a host name or IP address, optionally with a port.
    fn domain() -> Value {
        let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?";
        let port = "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
        json!({
            "type": "string",
            "minLength": 1,
            "maxLength": v::DOMAIN_MAX,
            "pattern": format!(r"^{label}(\.{label})*(:{port})?$"),
        })
    }

    /// `schema` that also admits `null`.
    pub fn nullable(mut schema: Value) -> Value {
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            schema["type"] = json!([t, "null"]);
        }
        if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
            values.push(Value::Null);
        }
        schema
    }

    fn described(mut schema: Value, description: &str) -> Value {
        schema["description"] = json!(description);
        schema
    }

    fn array(items: Value, max: usize) -> Value {
        json!({ "type": "array", "items": items, "maxItems": max })
    }

    /// A closed object: unknown fields are rejected (`deny_unknown_fields`).
    pub fn object(description: &str, properties: Vec<(&str, Value)>, required: &[&str]) -> Value {
        let props: Map<String, Value> = properties
            .into_iter()
            .map(|(k, s)| (k.to_string(), s))
            .collect();
        let mut o = json!({
            "type": "object",
            "description": description,
            "properties": props,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            o["required"] = json!(required);
        }
        o
    }

    /// Create and update of the same field: on create `null` means absent, so an optional field
    /// is nullable and a required one is listed in `required`; on update `null` clears a nullable
    /// field and is refused for any other.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Mode {
        Create,
        Update,
    }

    /// A field every create needs (listed in `required`) and no update may clear.
    fn must(s: Value) -> Value {
        s
    }

    /// A field with a default: optional on create (`null` = default), never `null` on update.
    fn defaulted(mode: Mode, s: Value) -> Value {
        match mode {
            Mode::Create => nullable(s),
            Mode::Update => s,
        }
    }

    /// A field that may be empty: `null` leaves it empty on create and clears it on update.
    fn clearable(s: Value) -> Value {
        nullable(s)
    }

    fn theme_settings() -> Value {
        object(
            "Appearance; on update merged into the current settings, a `null` field clearing it.",
            vec![
                ("primary_color", nullable(hex_color())),
                (
                    "dark_mode",
                    json!({ "type": ["boolean", "null"], "description": "Dark variant (the `brand` theme)." }),
                ),
                ("custom_css", nullable(any_text(v::CUSTOM_CSS_MAX))),
            ],
            &[],
        )
    }

    pub fn kb(mode: Mode) -> Value {
        let required: &[&str] = match mode {
            Mode::Create => &["title", "slug"],
            Mode::Update => &[],
        };
        object(
            match mode {
                Mode::Create => "A new knowledge base.",
                Mode::Update => "Changes to a knowledge base: absent fields stay as they are.",
            },
            vec![
                ("title", must(text(v::KB_TITLE_MAX))),
                (
                    "slug",
                    described(
                        must(slug()),
                        "Lowercase letters, digits and hyphens; unique within the project.",
                    ),
                ),
                ("description", clearable(any_text(v::DESCRIPTION_MAX))),
                ("is_public", defaulted(mode, json!({ "type": "boolean" }))),
                ("theme", defaulted(mode, theme())),
                ("theme_settings", clearable(theme_settings())),
                ("logo_path", clearable(logo_path())),
            ],
            required,
        )
    }

    pub fn project() -> Value {
        object(
            "Changes to the project: absent fields stay as they are.",
            vec![
                ("name", text(v::PROJECT_NAME_MAX)),
                (
                    "allowed_domains",
                    described(
                        nullable(array(domain(), v::ALLOWED_DOMAINS_MAX)),
                        "Host names allowed to call the public API (`example.com`, `localhost:5173`); empty or `null` allows all.",
                    ),
                ),
            ],
            &[],
        )
    }

    pub fn site_key() -> Value {
        object(
            "The site key's rate limit.",
            vec![(
                "rate_limit",
                json!({
                    "type": "integer",
                    "minimum": v::SITE_KEY_RATE_MIN,
                    "maximum": v::SITE_KEY_RATE_MAX,
                    "description": "Requests per minute per client.",
                }),
            )],
            &["rate_limit"],
        )
    }

    pub fn category(mode: Mode) -> Value {
        object(
            match mode {
                Mode::Create => "A new category.",
                Mode::Update => "Changes to a category: absent fields stay as they are.",
            },
            vec![
                ("name", must(text(v::CATEGORY_NAME_MAX))),
                ("description", clearable(any_text(v::DESCRIPTION_MAX))),
                ("icon", clearable(any_text(v::ICON_MAX))),
                ("sort_order", defaulted(mode, sort_order())),
            ],
            if mode == Mode::Create { &["name"] } else { &[] },
        )
    }

    pub fn section(mode: Mode) -> Value {
        object(
            match mode {
                Mode::Create => "A new section.",
                Mode::Update => {
                    "Changes to a section: absent fields stay as they are. A new `category_id` moves the section with its articles and FAQs."
                }
            },
            vec![
                ("category_id", must(id(id::CATEGORY))),
                ("name", must(text(v::SECTION_NAME_MAX))),
                ("description", clearable(any_text(v::DESCRIPTION_MAX))),
                ("sort_order", defaulted(mode, sort_order())),
            ],
            if mode == Mode::Create {
                &["category_id", "name"]
            } else {
                &[]
            },
        )
    }

    /// An article; `bulk` adds the `id` an item of a bulk update names its article by.
    pub fn article(mode: Mode, bulk: bool) -> Value {
        let mut props = Vec::new();
        if bulk && mode == Mode::Update {
            props.push(("id", described(id(id::ARTICLE), "The article to update.")));
        }
        props.extend([
            ("category_id", must(id(id::CATEGORY))),
            (
                "section_id",
                described(
                    clearable(id(id::SECTION)),
                    "A section of `category_id`, or `null` for a category-level article.",
                ),
            ),
            ("title", must(text(v::ARTICLE_TITLE_MAX))),
            (
                "body",
                described(defaulted(mode, any_text(v::ARTICLE_BODY_MAX)), "Markdown."),
            ),
            ("excerpt", clearable(any_text(v::ARTICLE_EXCERPT_MAX))),
            ("status", defaulted(mode, status())),
            (
                "tags",
                defaulted(mode, array(text(v::TAG_MAX), v::TAGS_MAX)),
            ),
            (
                "related_articles",
                described(
                    defaulted(mode, array(id(id::ARTICLE), v::RELATED_MAX)),
                    "Article IDs; repeated IDs count once.",
                ),
            ),
            ("sort_order", defaulted(mode, sort_order())),
        ]);
        let required: &[&str] = match (mode, bulk) {
            (Mode::Create, _) => &["category_id", "title"],
            (Mode::Update, true) => &["id"],
            (Mode::Update, false) => &[],
        };
        object(
            match mode {
                Mode::Create => "A new article.",
                Mode::Update => "Changes to an article: absent fields stay as they are.",
            },
            props,
            required,
        )
    }

    pub fn bulk_articles(mode: Mode) -> Value {
        let mut items = json!({
            "type": "array",
            "items": article(mode, true),
            "minItems": 1,
            "maxItems": v::BULK_MAX,
        });
        items["description"] =
            json!("All are validated before any is written; one bad item refuses the batch.");
        object(
            match mode {
                Mode::Create => "Articles to create.",
                Mode::Update => "Articles to update, each named by its `id`.",
            },
            vec![("articles", items)],
            &["articles"],
        )
    }

    pub fn faq(mode: Mode) -> Value {
        object(
            match mode {
                Mode::Create => "A new FAQ.",
                Mode::Update => "Changes to a FAQ: absent fields stay as they are.",
            },
            vec![
                ("category_id", must(id(id::CATEGORY))),
                ("section_id", clearable(id(id::SECTION))),
                ("question", must(text(v::FAQ_QUESTION_MAX))),
                (
                    "answer",
                    described(must(text(v::FAQ_ANSWER_MAX)), "Markdown."),
                ),
                ("status", defaulted(mode, status())),
                ("sort_order", defaulted(mode, sort_order())),
            ],
            if mode == Mode::Create {
                &["category_id", "question", "answer"]
            } else {
                &[]
            },
        )
    }

    /// Names for the request bodies in `#[utoipa::path(request_body = …)]`. Their schema here is
    /// a placeholder: the document is completed with [`all`] when it is rendered, because these
    /// schemas use JSON Schema that utoipa's types cannot hold (type lists, `null` in enums).
    #[cfg(feature = "openapi")]
    macro_rules! bodies {
        ($($name:ident),* $(,)?) => {$(
            #[doc = concat!("The `", stringify!($name), "` request body.")]
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    utoipa::openapi::schema::Object::new().into()
                }
            }

            impl utoipa::ToSchema for $name {}
        )*};
    }

    #[cfg(feature = "openapi")]
    bodies!(
        KbCreate,
        KbUpdate,
        ProjectUpdate,
        SiteKeyUpdate,
        CategoryCreate,
        CategoryUpdate,
        SectionCreate,
        SectionUpdate,
        ArticleCreate,
        ArticleUpdate,
        BulkArticlesCreate,
        BulkArticlesUpdate,
        FaqCreate,
        FaqUpdate,
        SourceSet,
    );

    /// `PUT /v1/kb/{kb_id}/source` ([`crate::source::SourceInput`]): the whole source; `null`
    /// and absent mean the default, except that an absent `token` or `webhook_secret` keeps the
    /// stored one while the URL stays the same.
    fn source() -> Value {
        use crate::source as s;
        object(
            "A knowledge base's docs-as-code source. `token` is only used with `https://` URLs.",
            vec![
                (
                    "type",
                    nullable(
                        json!({ "type": "string", "enum": ["git", "folder"], "description": "`git` (default); `folder` only where the operator enables local roots." }),
                    ),
                ),
                (
                    "url",
                    json!({
                        "type": "string", "minLength": 1, "maxLength": s::SOURCE_URL_MAX,
                        "pattern": s::GIT_URL_PATTERN,
                        "description": "`https://`, `ssh://` or `git://` with a host and a repository path, no credentials (use `token`), query or fragment. (Plain `http://` too where the operator allows private sources, `--sync-allow-private`. For a `folder` source, where the operator enables them: an absolute path on the server.)",
                    }),
                ),
                (
                    "branch",
                    nullable(json!({
                        "type": "string", "minLength": 1, "maxLength": s::SOURCE_BRANCH_MAX,
                        "pattern": s::BRANCH_PATTERN,
                        "description": "Default: the remote's default branch. Letters, digits, `_`, `+`, `-`, parts joined by `.` or `/`; not ending in `.lock`.",
                    })),
                ),
                (
                    "path",
                    nullable(json!({
                        "type": "string", "maxLength": s::SOURCE_PATH_MAX,
                        "pattern": s::PATH_PATTERN,
                        "description": "Sub-folder of the repository (no `.` or `..` parts); default the root.",
                    })),
                ),
                (
                    "format",
                    nullable(
                        json!({ "type": "string", "enum": ["auto", "tome", "mintlify"], "description": "`auto` (default), `tome` or `mintlify`." }),
                    ),
                ),
                (
                    "token",
                    nullable(json!({
                        "type": "string", "minLength": 1, "maxLength": s::SOURCE_TOKEN_MAX,
                        "pattern": "^[!-~]+$",
                        "description": "HTTPS token, write-only (never returned or logged).",
                    })),
                ),
                (
                    "webhook_secret",
                    nullable(json!({
                        "type": "string", "minLength": s::WEBHOOK_SECRET_MIN, "maxLength": s::WEBHOOK_SECRET_MAX,
                        "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*$",
                        "description": "Secret of the push webhook, write-only.",
                    })),
                ),
                (
                    "poll_interval_minutes",
                    nullable(json!({
                        "type": "integer", "minimum": s::POLL_MINUTES_RANGE.start(), "maximum": s::POLL_MINUTES_RANGE.end(),
                        "description": "Also check the branch every N minutes; off by default.",
                    })),
                ),
            ],
            &["url"],
        )
    }

    /// Every request body schema by its component name.
    pub fn all() -> Vec<(&'static str, Value)> {
        use Mode::{Create, Update};
        vec![
            ("KbCreate", kb(Create)),
            ("KbUpdate", kb(Update)),
            ("ProjectUpdate", project()),
            ("SiteKeyUpdate", site_key()),
            ("CategoryCreate", category(Create)),
            ("CategoryUpdate", category(Update)),
            ("SectionCreate", section(Create)),
            ("SectionUpdate", section(Update)),
            ("ArticleCreate", article(Create, false)),
            ("ArticleUpdate", article(Update, false)),
            ("BulkArticlesCreate", bulk_articles(Create)),
            ("BulkArticlesUpdate", bulk_articles(Update)),
            ("FaqCreate", faq(Create)),
            ("FaqUpdate", faq(Update)),
            ("SourceSet", source()),
        ]
    }
}

#[cfg(test)]
mod schema_tests {
    //! The document's patterns say what the validators say, value by value.

    use regex::Regex;
    use serde_json::Value;

    use super::schema;
    use crate::validate as v;

    fn pattern(s: &Value) -> Regex {
        Regex::new(s["pattern"].as_str().expect("a pattern")).expect("a valid regex")
    }

    /// Every character `str::trim` removes, and some it keeps.
    const SPACES: &[char] = &[
        '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
        '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
    ];
    const NOT_SPACES: &[char] = &['a', '\u{1c}', '\u{200b}', '\u{feff}', '\u{7f}', 'é', '😀'];

    #[test]
    fn text_patterns_agree_with_the_text_rules() {
        let text = pattern(&schema::text(1000));
        let any = pattern(&schema::any_text(1000));
        let mut samples: Vec<String> = vec![String::new(), "\0".into(), "a\0b".into()];
        for &c in SPACES.iter().chain(NOT_SPACES) {
            samples.push(c.to_string());
            samples.push(format!(" {c}\n"));
            samples.push(format!("{c}\0"));
        }
        samples.push(SPACES.iter().collect());
        for s in samples {
            assert_eq!(
                text.is_match(&s),
                v::text("f", s.clone(), 1000).is_ok(),
                "text {s:?}"
            );
            assert_eq!(
                any.is_match(&s),
                v::max_len("f", &s, 1000).is_ok(),
                "any text {s:?}"
            );
        }
    }

    #[test]
    fn slug_colour_and_logo_patterns_agree_with_their_rules() {
        let slug = pattern(&schema::slug());
        for s in [
            "a",
            "studbook-help",
            "-",
            "0-9",
            "",
            "Upper",
            "a b",
            "ümlaut",
            "a\n",
            "a_b",
        ] {
            assert_eq!(
                slug.is_match(s),
                v::slug(s.to_string()).is_ok(),
                "slug {s:?}"
            );
        }
        let colour = pattern(
            &schema::kb(schema::Mode::Update)["properties"]["theme_settings"]["properties"]["primary_color"],
        );
        for s in [
            "#fff", "#FFF", "#4f46e5", "#12345", "#1234567", "fff", "#ggg", "#fff\n", "",
        ] {
            assert_eq!(
                colour.is_match(s),
                v::hex_color("c", s).is_ok(),
                "colour {s:?}"
            );
        }
        let logo = pattern(&schema::kb(schema::Mode::Update)["properties"]["logo_path"]);
        for s in [
            "/",
            "/logo.png",
            "//evil.com/x",
            "https://cdn.example.com/l.svg",
            "HTTP://X",
            "http://",
            "javascript:alert(1)",
            "data:image/png;base64,xx",
            "/a b",
            "/a\u{a0}",
            "/a\u{85}",
            "/a\u{9f}",
            "/\"",
            "/<",
            "/>",
            "/\0",
            "ftp://x",
            "",
            "/é",
            "https://x/\u{2028}",
        ] {
            assert_eq!(logo.is_match(s), v::logo_path(s).is_ok(), "logo {s:?}");
        }
    }

    #[test]
    fn domain_and_id_patterns_admit_only_what_the_rules_admit() {
        let domain = pattern(&schema::project()["properties"]["allowed_domains"]["items"]);
        // Exact on these; the rule also trims spaces and reads `:080` as port 80, which the
        // pattern leaves out (stricter, never looser).
        for s in [
            "example.com",
            "Example.COM",
            "localhost:5173",
            "127.0.0.2",
            "a-b.c",
            "x.com:65535",
            "x.com:65536",
            "x.com:0",
            "-a.com",
            "a-.com",
            "https://x.com",
            "*.x.com",
            "x.com/p",
            "a..b",
            "",
            ":80",
            &"a".repeat(63),
            &"a".repeat(64),
        ] {
            assert_eq!(
                domain.is_match(s),
                v::domain("d", s).is_ok(),
                "domain {s:?}"
            );
        }
        let article = pattern(&schema::id(crate::id::ARTICLE));
        let made = crate::id::new_id(crate::id::ARTICLE);
        assert!(article.is_match(&made), "{made}");
        for s in [
            made.as_str(),
            "kba_",
            "kba_ABCDEFGHIJKL",
            "kbc_abcdefghijkl",
            "kba_abcdefghijk",
        ] {
            assert_eq!(
                article.is_match(s),
                crate::id::is_id(crate::id::ARTICLE, s),
                "id {s:?}"
            );
        }
    }

    #[test]
    fn status_list_pattern_agrees_with_the_parser() {
        let list = pattern(&schema::status_list());
        let parses = |raw: &str| {
            raw.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .all(|p| super::status("status", p).is_ok())
        };
        for s in [
            "",
            "draft",
            "draft,published",
            " draft , archived ,",
            ",,",
            "draft published",
            "draftpublished",
            "Draft",
            "draft,\u{3000}published",
            "nope",
        ] {
            assert_eq!(list.is_match(s), parses(s), "status {s:?}");
        }
    }
}
