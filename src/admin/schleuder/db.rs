//! Schleuder's SQLite database, read only (the only user of rusqlite).
//!
//! Schleuder may keep running while a list is imported: the database is
//! opened read-only, with a busy timeout instead of a lock of our own, and
//! read in one short read transaction, so Schleuder is never locked out and
//! the list row and its subscriptions are one consistent snapshot.
//!
//! Only the schema of Schleuder 4.0 (migration 20211107151309, Debian 12's
//! 4.0.3) is read; columns are read by name, never by position.

use crate::error::{Error, ErrorKind, Result};
use crate::model::{printable, Address};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The last migration of the schema listcrypt reads (Schleuder 4.0.x).
pub const KNOWN_SCHEMA: &str = "20211107151309";

/// How long a read waits while Schleuder writes.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Columns of `lists` and `subscriptions` listcrypt reads; a database
/// without any of them is not the schema listcrypt knows.
const LIST_COLUMNS: &[&str] = &["id", "email", "fingerprint"];
const SUBSCRIPTION_COLUMNS: &[&str] = &["list_id", "email", "fingerprint", "admin", "delivery_enabled"];
/// Columns of `lists` that are not settings.
const LIST_RECORD_COLUMNS: &[&str] = &["id", "email", "fingerprint", "created_at", "updated_at"];

/// One stored value, as SQLite holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Text(String),
}

/// A list as Schleuder's database describes it.
#[derive(Debug, Clone)]
pub struct SchleuderList {
    /// The address as Schleuder stores it (its list home is named after it).
    pub email: String,
    pub fingerprint: String,
    /// Every settings column of the list's row, by name.
    pub settings: BTreeMap<String, Value>,
    pub subscriptions: Vec<Subscription>,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub email: String,
    /// Empty when the subscription has no key.
    pub fingerprint: String,
    pub admin: bool,
    pub delivery_enabled: bool,
}

/// Reads `list` and its subscriptions from the database at `path`.
pub fn read(path: &Path, list: &Address) -> Result<SchleuderList> {
    let mut conn = open(path)?;
    let snapshot = conn.transaction().map_err(|e| sql_error(path, e))?;
    check_schema(&snapshot, path)?;
    let (id, found) = find_list(&snapshot, path, list)?;
    let subscriptions = read_subscriptions(&snapshot, path, id)?;
    Ok(SchleuderList { subscriptions, ..found })
}

fn open(path: &Path) -> Result<Connection> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(Error::new(
            ErrorKind::NoInput,
            format!("cannot read Schleuder's database {}: {e}", path.display()),
        )
        .hint("give its path with --schleuder-db (Schleuder's own is /var/lib/schleuder/db.sqlite)"));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| Error::new(ErrorKind::NoInput, format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| sql_error(path, e))?;
    Ok(conn)
}

/// Refuses anything but Schleuder 4.0's schema: its last migration, and
/// the tables and columns listcrypt reads.
fn check_schema(conn: &Connection, path: &Path) -> Result<()> {
    let not_schleuder = |why: String| {
        Error::data(format!("{} is not a Schleuder database listcrypt knows: {why}", path.display()))
            .hint("give Schleuder's own database (schleuder.yml, database: production:) with --schleuder-db")
    };
    let tables: Vec<String> = query_strings(conn, path, "SELECT name FROM sqlite_master WHERE type = 'table'")?;
    for table in ["schema_migrations", "lists", "subscriptions"] {
        if !tables.iter().any(|t| t == table) {
            return Err(not_schleuder(format!("it has no table {table}")));
        }
    }
    let newest = query_strings(conn, path, "SELECT max(version) FROM schema_migrations")?.pop().unwrap_or_default();
    if newest != KNOWN_SCHEMA {
        let newest = if newest.is_empty() { "none".to_string() } else { printable(&newest) };
        return Err(not_schleuder(format!(
            "its newest migration is {newest}, and listcrypt reads Schleuder 4.0's ({KNOWN_SCHEMA})"
        ))
        .hint("upgrade Schleuder to 4.0 first (`schleuder install` runs its migrations), or import from a 4.0 host"));
    }
    check_columns(conn, path, "lists", LIST_COLUMNS).map_err(not_schleuder)?;
    check_columns(conn, path, "subscriptions", SUBSCRIPTION_COLUMNS).map_err(not_schleuder)?;
    Ok(())
}

fn check_columns(conn: &Connection, path: &Path, table: &str, wanted: &[&str]) -> std::result::Result<(), String> {
    let have = query_strings(conn, path, &format!("SELECT name FROM pragma_table_info('{table}')"))
        .map_err(|e| e.message().to_string())?;
    let missing: Vec<&str> = wanted.iter().copied().filter(|c| !have.iter().any(|h| h == c)).collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(format!("its table {table} has no column {}", missing.join(", "))),
    }
}

/// The list's row whose address is `list` (Schleuder keeps it as typed;
/// listcrypt compares canonical forms), and its id.
fn find_list(conn: &Connection, path: &Path, list: &Address) -> Result<(i64, SchleuderList)> {
    let mut stmt = conn.prepare("SELECT * FROM lists ORDER BY id").map_err(|e| sql_error(path, e))?;
    let names: Vec<String> = stmt.column_names().iter().map(|n| n.to_string()).collect();
    let mut rows = stmt.query([]).map_err(|e| sql_error(path, e))?;
    let mut known = vec![];
    while let Some(row) = rows.next().map_err(|e| sql_error(path, e))? {
        let mut columns = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            columns.insert(name.clone(), value(row.get_ref(i).map_err(|e| sql_error(path, e))?));
        }
        let email = text(&columns, "email");
        if Address::parse(&email).is_ok_and(|a| &a == list) {
            let id = match columns.get("id") {
                Some(Value::Integer(id)) => *id,
                _ => return Err(Error::data(format!("the list {list} has no id in {}", path.display()))),
            };
            let fingerprint = text(&columns, "fingerprint");
            columns.retain(|name, _| !LIST_RECORD_COLUMNS.contains(&name.as_str()));
            return Ok((id, SchleuderList { email, fingerprint, settings: columns, subscriptions: vec![] }));
        }
        known.push(printable(&email));
    }
    let hint = match known.is_empty() {
        true => "that database holds no list".to_string(),
        false => format!("its lists: {}", known.join(", ")),
    };
    Err(Error::no_user(format!("Schleuder has no list {list} (in {})", path.display())).hint(hint))
}

fn read_subscriptions(conn: &Connection, path: &Path, list_id: i64) -> Result<Vec<Subscription>> {
    let mut stmt = conn
        .prepare("SELECT email, fingerprint, admin, delivery_enabled FROM subscriptions WHERE list_id = ?1 ORDER BY id")
        .map_err(|e| sql_error(path, e))?;
    let mut rows = stmt.query([list_id]).map_err(|e| sql_error(path, e))?;
    let mut found = vec![];
    while let Some(row) = rows.next().map_err(|e| sql_error(path, e))? {
        let get = |i: usize| row.get_ref(i).map(value).map_err(|e| sql_error(path, e));
        let email = as_text(&get(0)?);
        let flag = |i: usize, name: &str| {
            boolean(&get(i)?).ok_or_else(|| {
                Error::data(format!("the subscription of {} has a {name} that is not a boolean", printable(&email)))
            })
        };
        found.push(Subscription {
            fingerprint: as_text(&get(1)?),
            admin: flag(2, "admin")?,
            delivery_enabled: flag(3, "delivery_enabled")?,
            email,
        });
    }
    Ok(found)
}

fn query_strings(conn: &Connection, path: &Path, sql: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(sql).map_err(|e| sql_error(path, e))?;
    let mut rows = stmt.query([]).map_err(|e| sql_error(path, e))?;
    let mut found = vec![];
    while let Some(row) = rows.next().map_err(|e| sql_error(path, e))? {
        found.push(as_text(&value(row.get_ref(0).map_err(|e| sql_error(path, e))?)));
    }
    Ok(found)
}

fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Text(r.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Text(t) => t.clone(),
    }
}

fn text(columns: &BTreeMap<String, Value>, name: &str) -> String {
    columns.get(name).map(as_text).unwrap_or_default()
}

/// Schleuder's booleans: 1 and 0 since migration 20211106112020, `t` and
/// `f` before it.
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Integer(1) => Some(true),
        Value::Integer(0) => Some(false),
        Value::Text(t) => match t.as_str() {
            "t" | "true" | "1" => Some(true),
            "f" | "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// SQLite's own errors: a file that is no database at all is the input's
/// fault; a database Schleuder keeps busy past the timeout is temporary.
fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode as C;
    let code = e.sqlite_error_code();
    let kind = match code {
        Some(C::NotADatabase) => {
            return Error::data(format!("{} is not an SQLite database, so not Schleuder's", path.display()))
                .hint("give Schleuder's own database with --schleuder-db")
        }
        Some(C::DatabaseBusy | C::DatabaseLocked) => ErrorKind::Temporary,
        Some(C::CannotOpen | C::PermissionDenied) => ErrorKind::NoInput,
        _ => ErrorKind::Data,
    };
    Error::new(kind, format!("reading {}: {e}", path.display()))
}
