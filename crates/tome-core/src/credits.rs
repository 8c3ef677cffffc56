//! Credit prices (the spec's pricing table). Everything not listed here is free.

/// A billable action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    KbCreated,
    CategoryCreated,
    SectionCreated,
    ArticleCreated,
    FaqCreated,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::KbCreated,
        Action::CategoryCreated,
        Action::SectionCreated,
        Action::ArticleCreated,
        Action::FaqCreated,
    ];

    /// Credits charged per item.
    pub fn price(self) -> i64 {
        match self {
            Action::KbCreated => 3,
            Action::CategoryCreated => 2,
            Action::SectionCreated => 1,
            Action::ArticleCreated => 3,
            Action::FaqCreated => 1,
        }
    }

    /// Stable name used in the ledger and in `GET /v1/usage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::KbCreated => "knowledge_base_created",
            Action::CategoryCreated => "category_created",
            Action::SectionCreated => "section_created",
            Action::ArticleCreated => "article_created",
            Action::FaqCreated => "faq_created",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A charge about to be made: `count` items of `action`.
#[derive(Debug, Clone, Copy)]
pub struct Charge {
    pub action: Action,
    pub count: i64,
}

impl Charge {
    pub fn one(action: Action) -> Self {
        Charge { action, count: 1 }
    }

    pub fn credits(self) -> i64 {
        self.action.price() * self.count
    }
}
