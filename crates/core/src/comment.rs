//! The rules of comments: how long they may be, who may edit or delete one, and for how long.
//! Pages show an Edit button by the same rule that lets the edit through.

use chrono::{DateTime, Duration, Utc};

/// Comments may be edited by their author for this long after writing them.
pub const EDIT_MINUTES: i64 = 15;
/// The longest comment, in characters.
pub const MAX_CHARS: usize = 5_000;

/// Who is acting on a comment: an account, whether it is blocked, whether it moderates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub account: i64,
    pub blocked: bool,
    pub moderator: bool,
}

impl Reader {
    fn is_author(&self, author: i64) -> bool {
        self.account == author && !self.blocked
    }

    /// Its author may, within [`EDIT_MINUTES`] of writing it; nobody else, not even moderators
    /// (words put in someone's mouth).
    pub fn may_edit(&self, author: i64, written: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.is_author(author) && now - written < Duration::minutes(EDIT_MINUTES)
    }

    /// Its author may at any time, and so may a moderator who is not blocked.
    pub fn may_delete(&self, author: i64) -> bool {
        (self.moderator && !self.blocked) || self.is_author(author)
    }
}

/// Why a comment's text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("a comment needs some text")]
    Empty,
    #[error("a comment has at most {MAX_CHARS} characters, not {0}")]
    TooLong(usize),
}

/// Whether `body` (already trimmed) may be published as a comment.
pub fn check_body(body: &str) -> Result<(), BodyError> {
    match body.chars().count() {
        0 => Err(BodyError::Empty),
        n if n > MAX_CHARS => Err(BodyError::TooLong(n)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_edit_for_a_while_and_moderators_only_delete() {
        let written = Utc::now();
        let author = Reader {
            account: 7,
            blocked: false,
            moderator: false,
        };
        let soon = written + Duration::minutes(EDIT_MINUTES - 1);
        let late = written + Duration::minutes(EDIT_MINUTES);
        assert!(author.may_edit(7, written, soon));
        assert!(!author.may_edit(7, written, late), "the window closes");
        assert!(author.may_delete(7) && !author.may_delete(8));
        let blocked = Reader {
            blocked: true,
            ..author
        };
        assert!(!blocked.may_edit(7, written, soon) && !blocked.may_delete(7));
        let moderator = Reader {
            account: 1,
            blocked: false,
            moderator: true,
        };
        assert!(moderator.may_delete(7) && !moderator.may_edit(7, written, soon));
        let blocked_moderator = Reader {
            blocked: true,
            ..moderator
        };
        assert!(!blocked_moderator.may_delete(7));
    }

    #[test]
    fn bodies_have_text_and_a_limit() {
        assert_eq!(check_body(""), Err(BodyError::Empty));
        assert_eq!(check_body(&"é".repeat(MAX_CHARS)), Ok(()));
        assert_eq!(
            check_body(&"x".repeat(MAX_CHARS + 1)),
            Err(BodyError::TooLong(MAX_CHARS + 1))
        );
        assert_eq!(
            BodyError::TooLong(5001).to_string(),
            "a comment has at most 5000 characters, not 5001"
        );
    }
}
