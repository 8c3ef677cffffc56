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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KbInput {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 500))]
    pub title: Patch<String>,
    /// Lowercase letters, digits and hyphens; unique within the project.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 200, pattern = "^[a-z0-9-]+$"))]
    pub slug: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 10000))]
    pub description: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub is_public: Patch<bool>,
    /// One of `minimal` (default), `developer`, `brand`, `docs`, `bare`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub theme: Patch<String>,
    /// Merged into the current settings on update; `null` clears them.
    #[serde(default, deserialize_with = "crate::patch::object")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<ThemeSettingsInput>))]
    pub theme_settings: Patch<ThemeSettingsInput>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub logo_path: Patch<String>,
}

/// `theme_settings` as sent by a client.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThemeSettingsInput {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub primary_color: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    pub dark_mode: Patch<bool>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 50000))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectInput {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 200))]
    pub name: Patch<String>,
    /// Host names allowed to call the public API (`example.com`, `localhost:5173`). Empty allows all.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteKeyInput {
    /// Requests per minute, 1–1000.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = i64, minimum = 1, maximum = 1000))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryInput {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 200))]
    pub name: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 10000))]
    pub description: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 100))]
    pub icon: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SectionInput {
    /// Required on create. Changing it moves the section (and its articles and FAQs).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub category_id: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 200))]
    pub name: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 10000))]
    pub description: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArticleInput {
    /// Only in `PUT /articles/bulk` items: the article to update.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub id: Patch<String>,
    /// Required on create.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub category_id: Patch<String>,
    /// A section of `category_id`, or null for a category-level article.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub section_id: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 500))]
    pub title: Patch<String>,
    /// Markdown, at most 100,000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 100000))]
    pub body: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 500))]
    pub excerpt: Patch<String>,
    /// `draft` (default), `published` or `archived`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub status: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>, max_items = 20))]
    pub tags: Patch<Vec<String>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>, max_items = 10))]
    pub related_articles: Patch<Vec<String>>,
    /// Position within its category or section (ascending); default 0.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkArticlesInput {
    /// 1 to 20 articles.
    #[serde(default, deserialize_with = "crate::patch::object_list")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<ArticleInput>, max_items = 20))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaqInput {
    /// Required on create.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub category_id: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub section_id: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 500))]
    pub question: Patch<String>,
    /// Markdown, at most 10,000 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 10000))]
    pub answer: Patch<String>,
    /// `draft` (default), `published` or `archived`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub status: Patch<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
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
