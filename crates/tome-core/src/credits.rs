//! Credit prices (the spec's pricing table). Everything not listed here is free.

/// A billable action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    KbCreated,
    CategoryCreated,
    SectionCreated,
    ArticleCreated,
    FaqCreated,
    /// An answered assistant message; its price is the operator's setting
    /// (`--assistant-message-credits`, default [`ASSISTANT_MESSAGE_CREDITS`]), so it is charged
    /// with [`Charge::priced`].
    AssistantMessage,
}

/// Default price of one answered assistant message.
pub const ASSISTANT_MESSAGE_CREDITS: i64 = 1;

impl Action {
    pub const ALL: [Action; 6] = [
        Action::KbCreated,
        Action::CategoryCreated,
        Action::SectionCreated,
        Action::ArticleCreated,
        Action::FaqCreated,
        Action::AssistantMessage,
    ];

    /// Credits charged per item.
    pub fn price(self) -> i64 {
        match self {
            Action::KbCreated => 3,
            Action::CategoryCreated => 2,
            Action::SectionCreated => 1,
            Action::ArticleCreated => 3,
            Action::FaqCreated => 1,
            Action::AssistantMessage => ASSISTANT_MESSAGE_CREDITS,
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
            Action::AssistantMessage => "assistant_message",
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
    /// Credits per item: the action's [`Action::price`] unless the operator set another.
    pub unit_price: i64,
}

impl Charge {
    pub fn one(action: Action) -> Self {
        Charge::priced(action, 1, action.price())
    }

    pub fn new(action: Action, count: i64) -> Self {
        Charge::priced(action, count, action.price())
    }

    pub fn priced(action: Action, count: i64, unit_price: i64) -> Self {
        Charge {
            action,
            count,
            unit_price,
        }
    }

    pub fn credits(self) -> i64 {
        self.unit_price * self.count
    }
}
