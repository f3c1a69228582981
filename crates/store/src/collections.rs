//! Collections: an account's named, ordered lists of papers, public or private, each item with
//! an optional note, as Hugging Face's collections are. Items keep dense positions from 0.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use paperboy_core::ArxivId;

use crate::community::AccountId;
use crate::papers::PaperView;
use crate::sql::{id_type, params, record_from_row, Backed, FromRow, Row, Tx};
use crate::Result;

id_type!(
    /// A collection's id.
    CollectionId
);
id_type!(
    /// A collection item's id (hf.co's `_id` of the item, as 24 hex digits).
    ItemId
);

/// Most collections one account holds.
pub const MAX_COLLECTIONS: usize = 500;
/// Most papers one collection holds.
pub const MAX_ITEMS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: CollectionId,
    pub owner: AccountId,
    pub owner_name: String,
    pub owner_display: String,
    /// The slug's part after the owner's name.
    pub key: String,
    pub title: String,
    pub description: String,
    pub private: bool,
    pub theme: String,
    pub position: i64,
    /// Hidden by a moderator: only its owner and moderators see it.
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub items: i64,
}

impl Collection {
    /// `owner/key`, as hf.co's slugs.
    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner_name, self.key)
    }
}

record_from_row! {
    Collection { id, owner, owner_name, owner_display, key, title, description, private, theme,
        position, hidden, created_at, updated_at, items }
}

/// A [`Collection`]'s columns: the collection `c` of the account `a`.
const COLLECTION: &str = "SELECT c.id, c.account_id, a.username, a.display_name, c.key, c.title,
        c.description, c.private, c.theme, c.position, c.hidden, c.created_at, c.updated_at,
        (SELECT COUNT(*) FROM collection_items i WHERE i.collection_id = c.id)
     FROM collections c JOIN accounts a ON a.id = c.account_id";

#[derive(Debug, Clone, PartialEq)]
pub struct CollectionItem {
    pub id: ItemId,
    pub position: i64,
    pub note: String,
    pub added_at: DateTime<Utc>,
    pub view: PaperView,
}

impl FromRow for CollectionItem {
    fn from_row(mut r: Row) -> Result<CollectionItem> {
        let (id, position, note, added_at) = (r.take(4)?, r.take(5)?, r.take(6)?, r.take(7)?);
        Ok(CollectionItem {
            id,
            position,
            note,
            added_at,
            view: PaperView::from_row(r)?,
        })
    }
}

/// What adding a paper to a collection did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Added(ItemId),
    /// The paper is in the collection already.
    Exists(ItemId),
    /// No such visible paper.
    NoPaper,
    /// The collection holds [`MAX_ITEMS`].
    Full,
}

/// Changes to a collection's metadata; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CollectionChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub private: Option<bool>,
    pub theme: Option<String>,
    pub position: Option<i64>,
}

/// Who is looking: collections private or hidden show only to their owner (and moderators).
#[derive(Debug, Clone, Copy)]
pub struct Looking {
    pub account: Option<AccountId>,
    pub moderator: bool,
}

/// SQL true when collection `c` shows to the account `$n` (NULL: a visitor), moderators aside.
fn shows(n: usize) -> String {
    format!("((c.private = FALSE AND c.hidden = FALSE) OR c.account_id = ${n})")
}

fn touch(tx: &mut dyn Tx, id: CollectionId, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "UPDATE collections SET updated_at = $2 WHERE id = $1",
        params![id, now],
    )?;
    Ok(())
}

#[async_trait]
pub trait Collections: Backed {
    /// A new collection of `owner` under `key`; None when the account holds
    /// [`MAX_COLLECTIONS`] already.
    async fn create_collection(
        &self,
        owner: AccountId,
        key: &str,
        title: &str,
        description: &str,
        private: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Collection>> {
        let (key, title, description) = (key.to_owned(), title.to_owned(), description.to_owned());
        self.db()
            .write(move |tx| {
                let sql = "SELECT COUNT(*) FROM collections WHERE account_id = $1";
                let held: i64 = tx.one(sql, params![owner])?;
                if held as usize >= MAX_COLLECTIONS {
                    return Ok(None);
                }
                let id: CollectionId = tx.one(
                    "INSERT INTO collections
                        (account_id, key, title, description, private, position, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                    params![owner, key, title, description, private, held, now],
                )?;
                tx.opt(&format!("{COLLECTION} WHERE c.id = $1"), params![id])
            })
            .await
    }

    /// The collection whose slug ends in `key`, if `who` may see it.
    async fn collection(&self, key: &str, who: Looking) -> Result<Option<Collection>> {
        let key = key.to_owned();
        let sql = format!("{COLLECTION} WHERE c.key = $1 AND ($3 OR {})", shows(2));
        self.db()
            .read(move |tx| tx.opt(&sql, params![key, who.account, who.moderator]))
            .await
    }

    /// Collections `who` may see, newest changed first: of the account named `owner`, holding
    /// `paper`, at most `limit`.
    async fn list_collections(
        &self,
        owner: Option<&str>,
        paper: Option<&ArxivId>,
        who: Looking,
        limit: usize,
    ) -> Result<Vec<Collection>> {
        let owner = owner.map(str::to_owned);
        let paper = paper.map(ArxivId::to_string);
        let sql = format!(
            "{COLLECTION} WHERE ($1 IS NULL OR a.username = $1)
               AND ($2 IS NULL OR EXISTS (SELECT 1 FROM collection_items i
                                          WHERE i.collection_id = c.id AND i.paper_id = $2))
               AND ($5 OR {})
             ORDER BY c.updated_at DESC, c.id DESC LIMIT $4",
            shows(3)
        );
        self.db()
            .read(move |tx| {
                tx.all(
                    &sql,
                    params![owner, paper, who.account, limit, who.moderator],
                )
            })
            .await
    }

    /// Changes a collection's metadata; false when there is no such collection.
    async fn update_collection(
        &self,
        id: CollectionId,
        change: CollectionChange,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.db()
            .write(move |tx| {
                let n = tx.execute(
                    "UPDATE collections SET
                        title = COALESCE($2, title), description = COALESCE($3, description),
                        private = COALESCE($4, private), theme = COALESCE($5, theme),
                        position = COALESCE($6, position), updated_at = $7
                     WHERE id = $1",
                    params![
                        id,
                        change.title,
                        change.description,
                        change.private,
                        change.theme,
                        change.position,
                        now
                    ],
                )?;
                Ok(n > 0)
            })
            .await
    }

    async fn delete_collection(&self, id: CollectionId) -> Result<bool> {
        self.db()
            .write(move |tx| {
                // Its items go with it (ON DELETE CASCADE).
                Ok(tx.execute("DELETE FROM collections WHERE id = $1", params![id])? > 0)
            })
            .await
    }

    /// A moderator hides or shows a collection; false when there is none.
    async fn set_collection_hidden(&self, id: CollectionId, hidden: bool) -> Result<bool> {
        self.db()
            .write(move |tx| {
                let sql = "UPDATE collections SET hidden = $2 WHERE id = $1";
                Ok(tx.execute(sql, params![id, hidden])? > 0)
            })
            .await
    }

    /// The items of a collection in order: `limit` from `offset`.
    async fn collection_items(
        &self,
        id: CollectionId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<CollectionItem>> {
        let sql = "SELECT p.doc,
                (SELECT e.doc FROM daily_entries e WHERE e.paper_id = p.id ORDER BY e.day DESC LIMIT 1),
                p.local_upvotes, p.local_comments, i.id, i.position, i.note, i.added_at
             FROM collection_items i JOIN papers p ON p.id = i.paper_id
             WHERE i.collection_id = $1 AND p.hidden = FALSE
             ORDER BY i.position LIMIT $2 OFFSET $3";
        self.db()
            .read(move |tx| tx.all(sql, params![id, limit, offset]))
            .await
    }

    /// Appends a paper to a collection.
    async fn add_item(
        &self,
        id: CollectionId,
        paper: &ArxivId,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Added> {
        let (paper, note) = (paper.clone(), note.to_owned());
        self.db()
            .write(move |tx| {
                let sql = "SELECT 1 FROM papers WHERE id = $1 AND hidden = FALSE";
                if tx.opt::<i64>(sql, params![&paper])?.is_none() {
                    return Ok(Added::NoPaper);
                }
                let sql = "SELECT id FROM collection_items WHERE collection_id = $1 AND paper_id = $2";
                if let Some(item) = tx.opt(sql, params![id, &paper])? {
                    return Ok(Added::Exists(item));
                }
                let sql = "SELECT COUNT(*) FROM collection_items WHERE collection_id = $1";
                let held: i64 = tx.one(sql, params![id])?;
                if held as usize >= MAX_ITEMS {
                    return Ok(Added::Full);
                }
                let item = tx.one(
                    "INSERT INTO collection_items (collection_id, paper_id, position, note, added_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    params![id, &paper, held, note, now],
                )?;
                touch(tx, id, now)?;
                Ok(Added::Added(item))
            })
            .await
    }

    /// Changes an item's note and moves it to `position` (clamped to the collection); false when
    /// the collection has no such item.
    async fn update_item(
        &self,
        id: CollectionId,
        item: ItemId,
        note: Option<String>,
        position: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.db()
            .write(move |tx| {
                let sql =
                    "SELECT position FROM collection_items WHERE id = $1 AND collection_id = $2";
                let Some(from) = tx.opt::<i64>(sql, params![item, id])? else {
                    return Ok(false);
                };
                if let Some(note) = note {
                    let sql = "UPDATE collection_items SET note = $2 WHERE id = $1";
                    tx.execute(sql, params![item, note])?;
                }
                if let Some(to) = position {
                    let sql = "SELECT COUNT(*) FROM collection_items WHERE collection_id = $1";
                    let last = tx.one::<i64>(sql, params![id])? - 1;
                    let to = to.clamp(0, last.max(0));
                    // Shift the items between the two places by one, then put the item there.
                    if to < from {
                        tx.execute(
                            "UPDATE collection_items SET position = position + 1
                             WHERE collection_id = $1 AND position >= $2 AND position < $3",
                            params![id, to, from],
                        )?;
                    } else if to > from {
                        tx.execute(
                            "UPDATE collection_items SET position = position - 1
                             WHERE collection_id = $1 AND position > $2 AND position <= $3",
                            params![id, from, to],
                        )?;
                    }
                    let sql = "UPDATE collection_items SET position = $2 WHERE id = $1";
                    tx.execute(sql, params![item, to])?;
                }
                touch(tx, id, now)?;
                Ok(true)
            })
            .await
    }

    /// Takes an item out, closing the gap; false when the collection has no such item.
    async fn delete_item(
        &self,
        id: CollectionId,
        item: ItemId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.db()
            .write(move |tx| {
                let sql = "DELETE FROM collection_items WHERE id = $1 AND collection_id = $2
                     RETURNING position";
                let Some(at) = tx.opt::<i64>(sql, params![item, id])? else {
                    return Ok(false);
                };
                tx.execute(
                    "UPDATE collection_items SET position = position - 1
                     WHERE collection_id = $1 AND position > $2",
                    params![id, at],
                )?;
                touch(tx, id, now)?;
                Ok(true)
            })
            .await
    }

    /// A copy of collection `from` for `owner` under `key` (private as the copier chooses later:
    /// public like its original); None when the account holds [`MAX_COLLECTIONS`].
    async fn copy_collection(
        &self,
        from: CollectionId,
        owner: AccountId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Collection>> {
        let key = key.to_owned();
        self.db()
            .write(move |tx| {
                let sql = "SELECT COUNT(*) FROM collections WHERE account_id = $1";
                let held: i64 = tx.one(sql, params![owner])?;
                if held as usize >= MAX_COLLECTIONS {
                    return Ok(None);
                }
                let id: CollectionId = tx.one(
                    "INSERT INTO collections
                        (account_id, key, title, description, private, theme, position, created_at, updated_at)
                     SELECT $2, $3, title, description, FALSE, theme, $4, $5, $5
                     FROM collections WHERE id = $1 RETURNING id",
                    params![from, owner, key, held, now],
                )?;
                tx.execute(
                    "INSERT INTO collection_items (collection_id, paper_id, position, note, added_at)
                     SELECT $2, paper_id, position, note, $3 FROM collection_items
                     WHERE collection_id = $1",
                    params![from, id, now],
                )?;
                tx.opt(&format!("{COLLECTION} WHERE c.id = $1"), params![id])
            })
            .await
    }
}

impl Collections for crate::Database {}
